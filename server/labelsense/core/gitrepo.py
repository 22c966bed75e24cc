"""A small, safe door to git for label blame.

git always runs with an argument list (never a shell), with `--` before paths
and literal pathspecs, so nothing from a dataset or a file name is ever read
as an option, a glob or a revision. Revisions passed to git are only object
ids that git itself printed. Blob contents come from one `git cat-file
--batch` process fed with blob ids, read in a background thread so git
inflates the next version while Python compares the current one.

Loose objects (what recent commits are, before git packs them) are read
straight from `.git/objects` and inflated in-process — with ISA-L (`isal`)
when installed, about twice as fast as zlib, with the GIL released; anything
else (packs, alternates) comes from git.

The file's history is read as a graph: `git log --parents` over every name
the file had (renames found with `-M`, on any branch), merges diffed against
each parent; `resolve` then walks it from the newest commit and gives each
commit the file's name there and, per parent, its blob before and after.

Every failure becomes a `BlameError` with a message that names the problem.
"""
from __future__ import annotations

import hashlib
import os
import queue
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

try:  # ISA-L: inflates ~2x faster than zlib
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - the stdlib works, slower
    import zlib as _inflate

_HEX = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe means fewer wake-ups per 100 MB blob


class BlameError(Exception):
    """Label history is not available for a file; `kind` says why, the message says it for people.

    Kinds: no-git, not-a-repo, untracked, shallow, outside, git, unreadable (here and in `Repo`);
    lfs, config, line, key, not-a-manifest (label blame and the CLI); cache (the label-history
    cache is locked by another process)."""

    def __init__(self, path: str | Path, kind: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.kind = kind
        self.message = message


def git_env() -> dict[str, str]:
    """The environment git runs in: literal pathspecs, no prompts, no optional locks, C messages."""
    env = dict(os.environ)
    env.update(GIT_LITERAL_PATHSPECS="1", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C", LANGUAGE="C")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # a caller's env must not point us at another repository
        env.pop(name, None)
    return env


def run_git(args: list[str], cwd: Path, path: str | Path, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `git args...` in `cwd` (argument list, no shell), with `input` on its stdin if given;
    a BlameError naming `path` when it fails."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True,
                                **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))
    except FileNotFoundError:
        raise BlameError(path, "no-git", "label history needs git, and no `git` program was found on PATH") from None
    except OSError as exc:
        raise BlameError(path, "git", f"cannot run git: {exc.strerror or exc}") from None
    if check and result.returncode != 0:
        raise BlameError(path, "git", f"git {args[0]} failed: {_first_line(result.stderr) or f'exit status {result.returncode}'}")
    return result


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0].removeprefix("fatal: ").removeprefix("error: ") if text else ""


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """The id git gives a blob with this content (no filters), to tell whether a file equals a commit's version."""
    h = hashlib.sha256() if object_format == "sha256" else hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class FileDiff:
    """One file in one commit's raw diff: the blob before (None: no file) and after."""

    old: str | None
    new: str | None
    status: str
    path: str  # the path after the change (before, for a deletion)
    old_path: str


@dataclass(frozen=True)
class Commit:
    """A commit in the file's history graph. `parents` are its nearest ancestors that are in the
    history too (git's parent rewriting); `diffs` has one entry per parent, in parent order (one
    for a commit without parents): the file's blob in that parent and in this commit. An entry
    with status "=" means the file is the same as in that parent (old == new)."""

    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    time: int
    date: str  # ISO 8601 with the author's offset
    summary: str
    diffs: tuple[FileDiff, ...] = field(default=())

    def to_json(self) -> list:
        return [self.sha, list(self.parents), self.author, self.email, self.time, self.date, self.summary,
                [[d.old, d.new, d.status, d.path, d.old_path] for d in self.diffs]]

    @classmethod
    def from_json(cls, raw: list) -> "Commit":
        sha, parents, author, email, time, date, summary, diffs = raw
        return cls(sha, tuple(parents), author, email, int(time), date, summary, tuple(FileDiff(*d) for d in diffs))

    @property
    def path(self) -> str:
        """The file's path in this commit."""
        return self.diffs[0].path if self.diffs else ""


@dataclass(frozen=True)
class RawCommit:
    """One commit of `git log --parents --raw --diff-merges=separate` over several paths:
    `sections[i]` is the raw diff against `parents[i]` (one section for a commit without parents)."""

    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    time: int
    date: str
    summary: str
    sections: tuple[tuple[FileDiff, ...], ...]


LOG_FORMAT = "%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%aI%x00%s%x00"
_NULL = re.compile(r"\A0+\Z")


def _regular(mode: str) -> bool:
    return mode.startswith("100")  # a regular file (not a link or a submodule)


def _parse_entries(tokens: list[bytes], i: int) -> tuple[list[FileDiff], int]:
    """Raw diff entries (`:mode mode sha sha status NUL path [NUL path]`) from token i on."""
    n = len(tokens)
    diffs: list[FileDiff] = []
    while i < n:
        tok = tokens[i].lstrip(b"\n")
        if not tokens[i] and i + 1 < n and tokens[i + 1].lstrip(b"\n").startswith(b":"):
            i += 1
            continue
        if not tok.startswith(b":"):
            break
        meta = tok[1:].split()
        if len(meta) < 5:
            break
        old_mode, new_mode, old, new, status = (m.decode("ascii") for m in meta[:5])
        two = status[:1] in ("R", "C")
        paths = [os.fsdecode(p) for p in tokens[i + 1 : i + 2 + two]]
        if len(paths) < 1 + two:
            break
        i += 2 + two
        diffs.append(FileDiff(None if _NULL.match(old) or not _regular(old_mode) else old,
                              None if _NULL.match(new) or not _regular(new_mode) else new,
                              status, paths[-1], paths[0]))
    return diffs, i


def parse_raw_diff(out: bytes) -> list[FileDiff]:
    """Parse `git diff-tree -r -z --raw` output (two trees: no commit header)."""
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens) and not tokens[i].lstrip(b"\n").startswith(b":"):
        i += 1
    return _parse_entries(tokens, i)[0]


def parse_log(out: bytes) -> list[RawCommit]:
    """Parse `git log --raw -z --format=LOG_FORMAT` output. Fields are read by position (a subject
    cannot hold NUL, a path is consumed by count), so no commit text can forge a record. A merge
    diffed against each parent separately comes as consecutive records: one section each."""
    tokens = out.split(b"\0")
    commits: list[RawCommit] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if not tok.startswith(b"\x1e"):
            i += 1  # the empty tokens between records
            continue
        if i + 7 > n:
            break
        sha = tok[1:].decode("ascii")
        parents = tuple(tokens[i + 1].decode("ascii").split())
        author, email = (t.decode("utf-8", "replace") for t in tokens[i + 2 : i + 4])
        time = int(tokens[i + 4] or 0)
        date = tokens[i + 5].decode("ascii", "replace")
        summary = tokens[i + 6].decode("utf-8", "replace")
        diffs, i = _parse_entries(tokens, i + 7)
        if commits and commits[-1].sha == sha:  # a merge, diffed against the next parent
            prev = commits[-1]
            commits[-1] = RawCommit(prev.sha, prev.parents, prev.author, prev.email, prev.time, prev.date, prev.summary,
                                    prev.sections + (tuple(diffs),))
        else:
            commits.append(RawCommit(sha, parents, author, email, time, date, summary, (tuple(diffs),)))
    return commits


def topo_order(items: list, tips: Iterable[str] = ()) -> list:
    """Commits (anything with .sha, .parents, .time) children before parents; among commits
    ready at once, the newest (author time) first, then by id: the same order whatever order
    they came in (a fresh log or a cached list extended)."""
    import heapq

    by_sha = {c.sha: c for c in items}
    children = dict.fromkeys(by_sha, 0)
    for c in items:
        for p in set(c.parents):
            if p in children:
                children[p] += 1
    heap = [(-c.time, c.sha) for c in items if children[c.sha] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, sha = heapq.heappop(heap)
        c = by_sha[sha]
        out.append(c)
        for p in set(c.parents):
            if p in children:
                children[p] -= 1
                if children[p] == 0:
                    heapq.heappush(heap, (-by_sha[p].time, p))
    return out


def reachable(commits: list[Commit], tip: str) -> list[Commit]:
    """The commits reachable from `tip` through parents in the list (in the list's order)."""
    by_sha = {c.sha: c for c in commits}
    seen = {tip} if tip in by_sha else set()
    todo = list(seen)
    while todo:
        for p in by_sha[todo.pop()].parents:
            if p in by_sha and p not in seen:
                seen.add(p)
                todo.append(p)
    return [c for c in commits if c.sha in seen]


def resolve(raw: list[RawCommit], rel: str, pairing: dict[tuple[str, str], str] | None = None,
            known: list[Commit] | None = None) -> list[Commit] | None:
    """The history graph of one file from a log over all of its names: walking from the newest
    commit (where the file is `rel`) to the parents, each commit gets the file's name in it and,
    per parent, the file's diff (renames map the name to the parent's). `pairing` maps
    (commit, path) to the path of a file deleted in that commit that the added `path` continues
    (a rename git did not detect), or of a file whose content the modified `path` took (two files
    swapping names); "" for a modified `path` whose old content went elsewhere (a new file there).
    A name that left by a rename, with nothing coming in its place, is not followed further: its
    history there is the new name's. `known`: an already resolved older part of the graph that
    `raw` sits on (its names must agree). Returns commits in `topo_order`, or None when `known`
    does not fit (then resolve a full log instead)."""
    pairing = pairing or {}
    known = known or []
    known_by = {c.sha: c for c in known}
    raw_by = {c.sha: c for c in raw}
    if not raw:
        return list(known)
    order = topo_order(raw)
    names: dict[str, str] = {order[0].sha: rel}
    out: list[Commit] = []
    for c in order:
        name = names.get(c.sha)
        if name is None:
            continue  # not reached from the newest commit
        count = max(1, len(c.parents))
        sections = c.sections if len(c.sections) == count else (c.sections + ((),) * count)[:count]
        entries = [next((d for d in sec if d.path == name), None) for sec in sections]
        current = next((d.new for d in entries if d is not None), None)
        diffs, parents = [], []
        for i, (sec, d) in enumerate(zip(sections, entries)):
            if d is None and any(x.status[:1] == "R" and x.old_path == name for x in sec):
                # the file of this name left by a rename in this parent and no file of the name came
                # in its place: its history there belongs to the new name; this file's begins later
                if not diffs and i == len(sections) - 1:  # no parent left: a start of the graph
                    diffs.append(FileDiff(current, current, "=", name, name))
                continue
            if d is None:
                d = FileDiff(current, current, "=", name, name)
            elif pairing.get((c.sha, name)) == "" and d.status[:1] == "M":
                # rewritten in place while the old content went on under another name: a new file here
                diffs.append(FileDiff(None, d.new, "A", name, name))
                continue
            elif (c.sha, name) in pairing and ((d.old is None and d.status[:1] == "A") or d.status[:1] == "M"):
                # an added file (or one rewritten in place) that continues another file of this commit
                source = pairing[(c.sha, name)]
                gone = next((x for x in sec if x.old_path == source and x.old is not None and x.status[:1] != "R"), None)
                d = FileDiff(gone.old if gone is not None else None, d.new, "R", name, source)
            diffs.append(d)
            if i < len(c.parents):
                p = c.parents[i]
                parents.append(p)
                if p in raw_by:
                    names.setdefault(p, d.old_path)
                elif p in known_by:
                    if known_by[p].path != d.old_path:
                        return None
        out.append(Commit(c.sha, tuple(parents), c.author, c.email, c.time, c.date, c.summary, tuple(diffs)))
    if known:
        out += [k for k in known if k.sha not in raw_by]
    return topo_order(reachable(out, order[0].sha))


class Repo:
    """The git repository a file lives in."""

    def __init__(self, toplevel: Path, git_dir: Path, common_dir: Path, object_format: str = "sha1") -> None:
        self.toplevel = toplevel
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.object_format = object_format

    @classmethod
    def for_file(cls, path: Path) -> tuple["Repo", str]:
        """The repository holding `path` and the path relative to its top level (with `/`).
        Raises BlameError: no git, not a repository, a shallow clone, a file outside the work tree."""
        path = path.absolute()
        cwd = path.parent
        if not cwd.is_dir():
            raise BlameError(path, "unreadable", "the file's directory does not exist")
        result = run_git(["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir",
                          "--is-shallow-repository", "--show-object-format"], cwd, path, check=False)
        if result.returncode != 0:
            message = _first_line(result.stderr)
            if "not a git repository" in message.lower():
                raise BlameError(path, "not-a-repo", "not in a git repository, so there is no label history (run `git init` and commit the file)")
            if "show-toplevel" in message or "work tree" in message:
                raise BlameError(path, "not-a-repo", f"not in a git work tree: {message}")
            raise BlameError(path, "git", f"git cannot read the repository: {message or 'exit status %d' % result.returncode}")
        lines = os.fsdecode(result.stdout).split("\n")
        if len(lines) < 5:
            raise BlameError(path, "git", "unexpected output from git rev-parse")
        toplevel, git_dir, common, shallow, fmt = lines[:5]
        if not toplevel:
            raise BlameError(path, "not-a-repo", "not in a git work tree (a bare repository or inside .git)")
        common_dir = Path(common) if os.path.isabs(common) else (cwd / common)
        repo = cls(Path(toplevel), Path(git_dir), common_dir.resolve(), fmt.strip() or "sha1")
        if shallow.strip() == "true":
            raise BlameError(path, "shallow", "this is a shallow clone: the commits that set most labels are missing, "
                                              "so label history would be wrong; run `git fetch --unshallow` to get it")
        try:
            rel = path.resolve().relative_to(repo.toplevel.resolve()).as_posix()
        except ValueError:
            raise BlameError(path, "outside", f"the file is outside the work tree of the repository at {repo.toplevel}") from None
        return repo, rel

    def git(self, args: list[str], path: str | Path, check: bool = True) -> bytes:
        return run_git(args, self.toplevel, path, check).stdout

    def head(self, path: str) -> str | None:
        """HEAD's commit id, or None before the first commit."""
        result = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], self.toplevel, path, check=False)
        sha = result.stdout.decode("ascii", "replace").strip()
        return sha if result.returncode == 0 and _HEX.match(sha) else None

    def head_stamp(self) -> tuple:
        """A cheap fingerprint of where HEAD points (stat of HEAD, its ref and packed-refs): when it
        changes, ask git for HEAD again."""
        out: list[object] = []
        head = self.git_dir / "HEAD"
        try:
            content = head.read_bytes()
        except OSError:
            content = b""
        out.append(content)
        names = [self.common_dir / "packed-refs"]
        if content.startswith(b"ref: "):
            ref = os.fsdecode(content[5:].strip())
            names += [self.git_dir / ref, self.common_dir / ref]
        for name in names:
            try:
                st = name.stat()
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def in_index(self, rel: str, path: str | Path) -> bool:
        return bool(self.git(["ls-files", "-z", "--cached", "--full-name", "--", rel], path).strip(b"\0"))

    def log(self, names: Iterable[str], path: str | Path, head: str, exclude: str | None = None) -> list[RawCommit]:
        """Commits that changed any of `names` (the file's names over time), newest first, with
        parents rewritten to the nearest such commit, renames among them detected, and merges
        diffed against each parent."""
        if not _HEX.match(head) or (exclude is not None and not _HEX.match(exclude)):
            raise BlameError(path, "git", "unexpected revision")
        args = ["log", "--parents", "-M", "--raw", "-z", "--no-abbrev", "--no-color", "--no-show-signature", "--no-ext-diff",
                "--no-textconv", "--diff-merges=separate", f"--format={LOG_FORMAT}", head]
        if exclude:
            args.append("^" + exclude)
        names = sorted(set(names))
        commits = parse_log(self.git([*args, "--", *names], path))
        for n, c in enumerate(commits):  # one section per parent, or ask for each parent's diff
            if len(c.sections) != max(1, len(c.parents)):
                sections = tuple(tuple(self.diff_tree(p, c.sha, path, names)) for p in c.parents) or (tuple(self.diff_tree(None, c.sha, path, names)),)
                commits[n] = RawCommit(c.sha, c.parents, c.author, c.email, c.time, c.date, c.summary, sections)
        return commits

    def parents(self, sha: str, path: str | Path) -> tuple[str, ...]:
        """A commit's real parents (not rewritten)."""
        if not _HEX.match(sha):
            return ()
        out = self.git(["show", "-s", "--no-show-signature", "--format=%P", sha], path)
        return tuple(p for p in out.decode("ascii", "replace").split() if _HEX.match(p))

    def diff_tree(self, old: str | None, new: str, path: str | Path, names: Iterable[str] | None = None,
                  rewrites: bool = False) -> list[FileDiff]:
        """The raw diff (renames detected) of commit `new` against commit `old` (None: against
        nothing), over the whole tree or over `names`. `rewrites`: also break complete rewrites
        (`-B`), so a file replaced by another one's content (two files swapping names) is paired
        as a rename; git then reads every changed blob whole, so ask only for the commits and paths that
        need it (label blame bounds it with `sizes`: see blame.REWRITE_MAX)."""
        if not _HEX.match(new) or (old is not None and not _HEX.match(old)):
            return []
        args = ["diff-tree", "-r", "-z", "--raw", "--no-abbrev", "-M", "--no-ext-diff", "--no-textconv"]
        if rewrites:
            args.insert(5, "-B")
        args += [old, new] if old is not None else ["--root", new]
        if names is not None:
            args += ["--", *sorted(set(names))]
        return parse_raw_diff(self.git(args, path))

    def changes(self, shas: Iterable[str], path: str | Path) -> dict[str, list[FileDiff]]:
        """Each commit's raw diff against its parent over the whole tree, without rename detection
        (trees only, no blob is read), from one `git diff-tree --stdin`. Merges are left out."""
        ids = [s for s in dict.fromkeys(shas) if _HEX.match(s)]
        if not ids:
            return {}
        result = run_git(["diff-tree", "--stdin", "-r", "-z", "--raw", "--no-abbrev", "--no-renames", "--no-ext-diff", "--no-textconv"],
                         self.toplevel, path, input="".join(s + "\n" for s in ids).encode("ascii"))
        tokens = result.stdout.split(b"\0")
        out: dict[str, list[FileDiff]] = {}
        i, n = 0, len(tokens)
        while i < n:
            head = tokens[i].strip(b"\n").decode("ascii", "replace")
            if not _HEX.match(head):
                i += 1
                continue
            diffs, i = _parse_entries(tokens, i + 1)
            out.setdefault(head, []).extend(diffs)
        return out

    def sizes(self, ids: Iterable[str], path: str | Path) -> dict[str, int]:
        """The size of each blob, from one `git cat-file --batch-check` (object headers only: no
        content is read or inflated). Only ids git printed are asked; a missing one is left out."""
        ids = [s for s in dict.fromkeys(ids) if s and _HEX.match(s)]
        if not ids:
            return {}
        result = run_git(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"], self.toplevel, path,
                         input="".join(s + "\n" for s in ids).encode("ascii"))
        out: dict[str, int] = {}
        for line in result.stdout.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit() and _HEX.match(parts[0]):
                out[parts[0]] = int(parts[2])
        return out

    def is_ancestor(self, older: str, newer: str, path: str | Path) -> bool:
        if not (_HEX.match(older) and _HEX.match(newer)):
            return False
        return run_git(["merge-base", "--is-ancestor", older, newer], self.toplevel, path, check=False).returncode == 0

    def blobs(self, ids: Iterable[str], path: str | Path, ahead: int = 1, workers: int = 1) -> "BlobStream":
        return BlobStream(self, list(ids), path, ahead, workers)

    def clean(self, rel: str, path: str | Path) -> bool:
        """Whether the work tree and the index hold HEAD's version of `rel` (git's stat cache: no hashing
        of an unchanged file)."""
        result = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules", "--", rel],
                         self.toplevel, path, check=False)
        return result.returncode == 0 and not result.stdout.strip(b"\0")


class BlobStream:
    """Contents of blobs, in the order asked. Reader threads fetch blobs before they are needed
    (at most `ahead` + workers - 1 waiting), so the next versions are inflated while Python
    compares the current one. Loose objects are inflated in-process (GIL released); others come
    from a `git cat-file --batch` per reader, started when first needed. With several readers
    (`workers`) blobs are dealt out in turn: a second core halves the time when it is free and
    costs nothing when it is not."""

    def __init__(self, repo: Repo, ids: list[str], path: str | Path, ahead: int = 1, workers: int = 1) -> None:
        for sha in ids:
            if not _HEX.match(sha):
                raise ValueError(f"not a blob id: {sha!r}")
        self.ids = ids
        self.path = path
        self.repo = repo
        self.workers = max(1, min(workers, len(ids)))
        self.window = max(ahead, 1) + self.workers - 1  # blob i is asked for only when i < taken + window
        self._taken = 0
        self._turn = threading.Condition()
        self._queues: list[queue.Queue] = [queue.Queue() for _ in range(self.workers)]
        self._stop = threading.Event()
        self._procs: list[subprocess.Popen] = []
        self._threads: list[threading.Thread] = []
        self.objects = None if os.environ.get("GIT_OBJECT_DIRECTORY") else repo.common_dir / "objects"

    def __enter__(self) -> "BlobStream":
        for w in range(self.workers if self.ids else 0):
            thread = threading.Thread(target=self._read, args=(w, self._queues[w]), name="labelsense-blobs", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def _loose(self, sha: str) -> bytes | None:
        """A loose object's content, inflated here (None: not loose, or not a plain blob: ask git)."""
        if self.objects is None:
            return None
        try:
            with open(self.objects / sha[:2] / sha[2:], "rb") as f:
                raw = f.read()
            probe = _inflate.decompressobj().decompress(raw[:4096], 32)  # the header, from the first bytes only
            nul = probe.find(b"\0")
            kind, _, size = probe[:nul].partition(b" ")
            if nul < 0 or kind != b"blob" or not size.isdigit():
                return None
            stream = _inflate.decompressobj()
            stream.decompress(raw, nul + 1)  # the header only: the content comes out in one piece, uncopied
            data = stream.decompress(stream.unconsumed_tail)
            return data if len(data) == int(size) and stream.eof else None
        except (OSError, ValueError, _inflate.error):
            return None

    def _batch(self) -> subprocess.Popen:
        try:
            proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.repo.toplevel, env=git_env(),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 20)
        except FileNotFoundError:
            raise BlameError(self.path, "no-git", "label history needs git, and no `git` program was found on PATH") from None
        with self._turn:
            self._procs.append(proc)
        try:
            import fcntl

            fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 1 << 20)
        except (ImportError, OSError):
            pass
        return proc

    def _read(self, first: int, out: queue.Queue) -> None:
        proc: subprocess.Popen | None = None
        try:
            for i in range(first, len(self.ids), self.workers):
                sha = self.ids[i]
                with self._turn:
                    while i >= self._taken + self.window and not self._stop.is_set():
                        self._turn.wait(0.2)
                if self._stop.is_set():
                    return
                data = self._loose(sha)
                if data is not None:
                    self._put(out, (sha, data))
                    continue
                if proc is None:
                    proc = self._batch()
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(sha.encode("ascii") + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob":
                    what = b" ".join(header[1:]).decode("ascii", "replace") or "no answer"
                    self._put(out, (sha, BlameError(self.path, "git", f"git cannot read blob {sha[:12]}: {what}")))
                    return
                size = int(header[2])
                data = proc.stdout.read(size)
                proc.stdout.read(1)
                if len(data) != size:
                    self._put(out, (sha, BlameError(self.path, "git", f"git stopped while reading blob {sha[:12]}")))
                    return
                self._put(out, (sha, data))
        except BlameError as exc:
            self._put(out, (None, exc))
        except Exception as exc:  # the reader must always answer, or the consumer would wait forever
            self._put(out, (None, BlameError(self.path, "git", f"reading blobs from git failed: {exc!r}")))

    def _put(self, out: queue.Queue, item: tuple) -> None:
        if not self._stop.is_set():
            out.put(item)

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for i in range(len(self.ids)):
            sha, data = self._queues[i % self.workers].get()
            with self._turn:
                self._taken += 1
                self._turn.notify_all()
            if isinstance(data, BaseException):
                raise data
            yield sha, data

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._turn:
            self._turn.notify_all()
        for q in self._queues:  # unblock the readers
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
        self._end_processes()  # unblocks readers waiting on git
        for thread in self._threads:
            thread.join(timeout=5)
        self._end_processes(close_output=True)  # also any a reader started meanwhile

    def _end_processes(self, close_output: bool = False) -> None:
        with self._turn:
            procs = list(self._procs)
        for proc in procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if close_output:
                try:
                    proc.stdout.close()
                except OSError:
                    pass
