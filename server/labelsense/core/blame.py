"""Label blame: who set a sample's label, when, in which commit, and what it was before.

History is kept per *sample key*, not per line. The file's commits form a graph
(`git log --parents` over every name the file had; see `gitrepo.resolve`):
renames are followed on every branch, and a file added in the same commit that
deleted a manifest of the same kind sharing most of its keys continues that
file's history (a rename git missed because the rows were also reformatted).
For every version pair in the graph (blob ids from `--raw`) the two versions
are compared by key: the lines that differ are found with a memcmp walk
(`linediff`), only those lines are parsed (msgspec, key and label fields
only), and the result is, per key, the labels its rows lost and gained. Keys
whose rows only moved, were reformatted or had other fields edited cancel out,
so a reformat, a re-sort or reordered object keys is never blamed. Parquet
versions are compared by key on two columns read with pyarrow.

A version pair is compared once, ever: deltas are stored in a sqlite cache
keyed by blob ids (see `blamecache`), and commits are indexed newest first, so
the latest change of a recently edited row is known after a few versions, long
before the whole history is. A key's history is found by walking the graph
from the newest commit, like `git blame` passes lines to parents: at a merge
whose labels for the key equal one parent's, only that parent's history is
followed (the branch commit that made the change is blamed); a merge that
differs from every parent made the change itself (a resolved conflict) and all
its parents are followed. The walk depends on the graph only, never on the
order commits were listed in, so a cold and a warm cache give the same answer.
Edits in the working tree or an unsaved editor buffer are compared with HEAD's
version and reported as "not committed yet".

Not a repository, an untracked file, a shallow clone, no `git`: `BlameError`
with a message, never a crash.
"""
from __future__ import annotations

import json
import os
import threading
import time as _time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec
import orjson

from . import paths
from .blamecache import Store, stored_key
from .config import DatasetConfig, default_config, find_config, load_config
from .gcpause import paused_gc
from .gitrepo import BlameError, Commit, FileDiff, RawCommit, Repo, blob_id, resolve
from .jsonl import detect_fields
from .linediff import changed_lines
from .manifest import label_tuple
from .types import ConfigError

__all__ = ["BlameError", "Change", "History", "LabelBlame", "NOT_COMMITTED", "RowBlame", "blame_for", "key_text", "labels_text", "row_key",
           "dataset_spec_for"]

ALGORITHM = "2"  # part of the cache key: bump when deltas are computed differently
LOG_VERSION = "graph2"  # part of the key of cached commit lists: bump when they are built differently
MAX_NAMES = 64  # renames followed, at most
SAME_FILE = 0.5  # share of keys an added manifest must have in common with a deleted one to continue its history
# Two files swapping names are found with `git diff-tree -B` (break complete rewrites), and git then
# reads and compares every version of the paths it is given, whole (about 1 s per version of a
# 1M-row file). A commit that modifies several manifests together (a relabel across splits) must
# not cost that, so `-B` is asked only for versions git could pair: every version involved at most
# REWRITE_MAX bytes (sizes from `git cat-file --batch-check`: headers only), and the two versions
# that would be paired within a factor of two in size (git never pairs versions further apart at
# its default 50% similarity, so this filter loses nothing). Larger files swapping names are not
# recognised: each keeps its name's history.
REWRITE_MAX = 16 << 20
NOT_COMMITTED = "Not Committed Yet"
DETECT_LINES = 200
BOM = b"\xef\xbb\xbf"
LFS = b"version https://git-lfs.github.com/spec/"
BLOB_LRU = 1  # versions come newest first: one commit's old blob is the next one's new blob
BLOB_WORKERS = 2

Entry = tuple[str, ...] | None  # the labels of one row (sorted; None: the row has no label)
Delta = dict[str, tuple[tuple[Entry, ...], tuple[Entry, ...]]]  # key text -> (labels removed, labels added)
_NONE: tuple = ()


# -- values ------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One change of a sample's labels. `commit` is None for "not committed yet"."""

    commit: str | None
    author: str
    email: str
    time: int  # unix seconds (author date)
    date: str  # ISO 8601 with the author's offset
    summary: str
    previous: tuple[Entry, ...]  # labels of the rows this change removed or replaced
    labels: tuple[Entry, ...]  # labels of the rows it added or changed them to
    path: str  # the file's path in that commit (renames are followed)

    @property
    def committed(self) -> bool:
        return self.commit is not None

    @property
    def short(self) -> str:
        return self.commit[:8] if self.commit else "00000000"

    @property
    def kind(self) -> str:
        if not self.previous:
            return "added"
        if not self.labels:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {"commit": self.commit, "short": self.short, "committed": self.committed, "author": self.author,
                "email": self.email, "date": self.date, "timestamp": self.time, "summary": self.summary, "kind": self.kind,
                "previous": [list(e) if e is not None else None for e in self.previous],
                "labels": [list(e) if e is not None else None for e in self.labels], "path": self.path}


@dataclass(frozen=True)
class History:
    path: str
    key: Any
    changes: tuple[Change, ...]
    complete: bool  # False while older commits are still being indexed

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "key": self.key, "complete": self.complete, "history": [c.to_json() for c in self.changes]}


@dataclass(frozen=True)
class RowBlame:
    """`labelsense blame FILE`: one row, its key and labels, and the commit that last changed them."""

    line: int
    key: Any
    labels: Entry
    commit: Commit | None  # None: not committed yet, or the row has no key
    uncommitted: bool = False


def labels_text(entries: tuple[Entry, ...]) -> str:
    """`cat`, `cat, dog` (multi-label), `cat | dog` (several rows), `(none)`."""
    if not entries:
        return "(none)"
    return " | ".join("(no label)" if e is None else ", ".join(e) for e in entries)


# -- rows --------------------------------------------------------------------
def key_text(value: Any) -> str:
    """A key (or any JSON value) as compact JSON text; never fails: integers beyond 64 bits
    and other values orjson refuses go through the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def key_json(value: Any) -> str | None:
    """A key as text that tells types apart: a string is itself; any other value is NUL + its
    canonical JSON (`42` and `"42"` are different samples)."""
    if value is None:
        return None
    if type(value) is str:
        return value if not value.startswith("\0") else "\0" + key_text(value)
    return "\0" + key_text(value)


def _lenient(line: bytes) -> Any:
    """A line msgspec refused, decoded by the standard library when it may only be a lone surrogate
    escape (`"\\ud800"`, valid JSON text that is not valid Unicode); else None."""
    if b"\\u" not in line:
        return None
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _entry(value: Any) -> Entry:
    if type(value) is str:
        return (value,)
    t = label_tuple(value)
    return tuple(sorted(t)) if t is not None else None


def _entries_key(e: Entry) -> tuple:
    return (e is None, e or ())


class _Rows:
    """Decodes manifest lines into (key JSON, labels) with one version's key and label fields.
    Only those two fields are built (msgspec skips the rest)."""

    def __init__(self, key_field: str | None, label_field: str | None) -> None:
        self.key_field, self.label_field = key_field, label_field
        self._dec = None
        if key_field and label_field and key_field != label_field:
            row = msgspec.defstruct("Row", [("k", Any, None), ("l", Any, None)], rename={"k": key_field, "l": label_field})
            self._dec = msgspec.json.Decoder(row)

    def decode(self, line: bytes) -> tuple[Any, Any] | None:
        """(key value, label value) of one line, or None when it is not a JSON object."""
        if line.startswith(BOM):
            line = line[3:]
        if self._dec is not None:
            try:
                r = self._dec.decode(line)
            except msgspec.DecodeError:
                obj = _lenient(line)
                return (obj.get(self.key_field), obj.get(self.label_field)) if type(obj) is dict else None
            return r.k, r.l
        try:
            obj = msgspec.json.decode(line)
        except msgspec.DecodeError:
            obj = _lenient(line)
        if type(obj) is not dict:
            return None
        return obj.get(self.key_field) if self.key_field else None, obj.get(self.label_field) if self.label_field else None

    def pairs(self, lines: list[bytes]) -> list[tuple[str, Entry]]:
        """(key text, labels) of the lines that are objects with a key."""
        out = []
        append = out.append
        with paused_gc():
            if self._dec is None:
                for line in lines:
                    r = self.decode(line)
                    if r is not None and r[0] is not None:
                        append((key_json(r[0]), _entry(r[1])))
                return out
            dec, error = self._dec.decode, msgspec.DecodeError
            for line in lines:
                try:
                    r = dec(line)
                except error:
                    try:
                        r = dec(line[3:]) if line.startswith(BOM) else None
                    except error:
                        r = None
                    if r is None:
                        got = self.decode(line)  # a lone surrogate escape, perhaps
                        if got is not None and got[0] is not None:
                            append((key_json(got[0]), _entry(got[1])))
                        continue
                k, lab = r.k, r.l
                if k is None:
                    continue
                append((k if type(k) is str and not k.startswith("\0") else key_json(k), (lab,) if type(lab) is str else _entry(lab)))
        return out


def _first_rows(data: bytes, n: int = DETECT_LINES) -> list[dict[str, Any]]:
    rows, pos = [], 0
    for _ in range(n):
        end = data.find(b"\n", pos)
        line = data[pos : end if end >= 0 else len(data)].removeprefix(BOM)
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is dict:
            rows.append(obj)
        if end < 0:
            break
        pos = end + 1
    return rows


def jsonl_fields(data: bytes, spec: DatasetConfig) -> tuple[str | None, str | None]:
    fields = detect_fields(_first_rows(data), spec)
    return fields["key"], fields["label"]


def row_key(text: str | bytes, spec: DatasetConfig) -> Any:
    """The key value of one JSONL row (None when the line is not an object with a key), decoded
    as the index decodes rows (an integer beyond 64 bits stays an integer)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    try:
        obj = msgspec.json.decode(text.removeprefix(BOM))
    except msgspec.DecodeError:
        obj = _lenient(text.removeprefix(BOM))
    if type(obj) is not dict:
        return None
    return obj.get(detect_fields([obj], spec)["key"])


def key_delta(removed: list[tuple[str, Entry]], added: list[tuple[str, Entry]]) -> Delta:
    """Per key, the labels its rows lost and gained, after cancelling rows that are the same on both sides."""
    if not removed or not added:  # a file created or deleted: one side only, nothing cancels
        out: Delta = {}
        for k, e in removed or added:
            got = out.get(k)
            if got is None:
                out[k] = (_NONE, (e,)) if added else ((e,), _NONE)
            else:
                more = tuple(sorted((got[1] if added else got[0]) + (e,), key=_entries_key))
                out[k] = (_NONE, more) if added else (more, _NONE)
        return out
    if len(removed) == len(added):  # rows in the same order (a reformat, edits of other fields): pair them up
        r2, a2 = [], []
        for x, y in zip(removed, added):
            if x != y:
                r2.append(x)
                a2.append(y)
        removed, added = r2, a2
    rem: dict[str, list[Entry]] = {}
    add: dict[str, list[Entry]] = {}
    for k, e in removed:
        rem.setdefault(k, []).append(e)
    for k, e in added:
        add.setdefault(k, []).append(e)
    out: Delta = {}
    for k in rem.keys() | add.keys():
        r, a = rem.get(k, []), add.get(k, [])
        if r and a:
            if len(r) == 1 and len(a) == 1:
                if r[0] == a[0]:
                    continue
            else:
                cr, ca = Counter(r), Counter(a)
                r, a = list((cr - ca).elements()), list((ca - cr).elements())
                if not r and not a:
                    continue
        out[k] = (tuple(sorted(r, key=_entries_key)), tuple(sorted(a, key=_entries_key)))
    return out


def jsonl_delta(old: bytes, new: bytes, spec: DatasetConfig) -> Delta:
    removed, added = changed_lines(old, new)
    if not removed and not added:
        return {}
    r = _Rows(*jsonl_fields(old, spec)).pairs(removed) if removed else []
    a = _Rows(*jsonl_fields(new, spec)).pairs(added) if added else []
    with paused_gc():
        return key_delta(r, a)


def parquet_rows(data: bytes, spec: DatasetConfig) -> list[tuple[str, Entry]]:
    """(key JSON, labels) of every row of a Parquet version (an unreadable version has no rows)."""
    if not data:
        return []
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .parquet import _map_class_labels

    try:
        source = pq.ParquetFile(pa.BufferReader(data))
        names = source.schema_arrow.names
        key = next((c for c in spec.field_candidates("key") if c in names), None)
        label = next((c for c in spec.field_candidates("label") if c in names), None)
        if key is None:
            return []
        table = _map_class_labels(source.read(columns=[key] + ([label] if label and label != key else [])))
    except (OSError, pa.ArrowException, ValueError):
        return []
    keys = table.column(key).to_pylist()
    labels = table.column(label).to_pylist() if label else [None] * len(keys)
    with paused_gc():
        return [(key_json(k), _entry(v)) for k, v in zip(keys, labels) if k is not None]


def parquet_delta(old: bytes, new: bytes, spec: DatasetConfig) -> Delta:
    r, a = parquet_rows(old, spec), parquet_rows(new, spec)
    if len(r) != len(a):
        cr, ca = Counter(r), Counter(a)
        r, a = list((cr - ca).elements()), list((ca - cr).elements())
    return key_delta(r, a)


def dataset_spec_for(path: Path) -> DatasetConfig:
    """The dataset a manifest belongs to (its key and label fields), from the nearest config."""
    found = find_config(path)
    if found is None:
        return default_config(path.parent).datasets[0]
    try:
        config = load_config(found)
    except ConfigError as exc:
        raise BlameError(path, "config", str(exc)) from None
    try:
        rel = path.resolve().relative_to(config.root).as_posix()
    except ValueError:
        rel = path.name
    for spec in config.datasets:
        if paths.matches(rel, spec.manifests):
            return spec
    return DatasetConfig(name="", manifests=())


# -- the index of one file --------------------------------------------------
@dataclass
class _Snapshot:
    """What is known of the file at one HEAD: its commits (newest first) and which are indexed."""

    head: str | None
    head_blob: str | None
    commits: list[Commit]
    pair_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    by_pair: dict[int, list[int]] = field(default_factory=dict)
    done: int = 0  # commits[:done] are indexed
    generation: int = 0  # the cache's generation the pair ids belong to (it changes when a corrupt cache is rebuilt)
    index: dict[str, int] = field(default_factory=dict)  # commit id -> position in `commits`
    merges: bool = False  # whether any commit has several parents (else the history is one line)

    @property
    def complete(self) -> bool:
        return self.done >= len(self.commits)


def _pair(d: FileDiff) -> tuple[str, str] | None:
    """The version pair a diff compares, or None when it cannot change labels (same blob)."""
    if d.old == d.new:
        return None
    return (d.old or "", d.new or "")


def _added(d: FileDiff) -> bool:
    """Whether the diff adds the file (no version before it in that parent)."""
    return d.old is None and d.new is not None and d.status[:1] == "A"


def _gone(d: FileDiff) -> bool:
    """Whether the diff removes the file (no version after it in that parent)."""
    return d.new is None and d.old is not None and d.status[:1] == "D"


def _pairable(old: str | None, new: str | None, others: list[FileDiff], sizes: dict[str, int]) -> tuple[str, ...]:
    """The paths among `others` (other manifests a commit changed) that `git diff-tree -B -M` could pair
    with a file changed from blob `old` to `new`: its new content taken from one's old version, or its
    old content gone to one's new version. Sizes only (see REWRITE_MAX): none when a version of the
    file is larger than that or its size is unknown; an other file only when all its versions are
    within the limit and the versions to pair are within a factor of two in size."""
    def fits(sha: str | None) -> bool:
        return sha is None or sizes.get(sha, REWRITE_MAX + 1) <= REWRITE_MAX

    def close(a: str | None, b: str | None) -> bool:  # git's rename detection: delta_size <= max_size / 2 at 50%
        return a is not None and b is not None and 2 * min(sizes[a], sizes[b]) >= max(sizes[a], sizes[b])

    if not fits(old) or not fits(new):
        return ()
    return tuple(sorted({x.path for x in others if fits(x.old) and fits(x.new) and (close(new, x.old) or close(old, x.new))}))


def _head_blob(commits: list[Commit]) -> str | None:
    """The file's blob in the newest commit of the graph (through commits that left it alone)."""
    by_sha = {c.sha: c for c in commits}
    c = commits[0] if commits else None
    seen = set()
    while c is not None and c.sha not in seen:
        seen.add(c.sha)
        d = c.diffs[0] if c.diffs else None
        if d is None:
            return None
        if d.status != "=" or d.new is not None:
            return d.new
        c = by_sha.get(c.parents[0]) if c.parents else None
    return None


class _StaleCopy(Exception):
    """The work tree's copy of HEAD's version turned out to differ from it."""


class _BlobCache:
    """A small LRU of blob contents in front of a `BlobStream`. `plan()` simulates the same LRU
    to list, in order, the blobs the stream must deliver."""

    def __init__(self, seed: dict[str, bytes]) -> None:
        self.lru: OrderedDict[str, bytes] = OrderedDict(seed)

    def plan(self, pairs: list[tuple[str, str]]) -> list[str]:
        sim: OrderedDict[str, None] = OrderedDict((k, None) for k in self.lru)
        out = []
        for old, new in pairs:
            for sha in (new, old):
                if not sha:
                    continue
                if sha in sim:
                    sim.move_to_end(sha)
                    continue
                out.append(sha)
                sim[sha] = None
                while len(sim) > BLOB_LRU:
                    sim.popitem(last=False)
        return out

    def get(self, sha: str, stream: Iterator[tuple[str, bytes]]) -> bytes:
        if not sha:
            return b""
        if sha in self.lru:
            self.lru.move_to_end(sha)
            return self.lru[sha]
        got, data = next(stream)
        if got != sha:
            raise RuntimeError(f"blob stream out of order: {got} != {sha}")
        self.lru[sha] = data
        while len(self.lru) > BLOB_LRU:
            self.lru.popitem(last=False)
        return data


class LabelBlame:
    """Label history of one manifest file in a git repository."""

    def __init__(self, path: Path, spec: DatasetConfig | None = None) -> None:
        self.path = Path(path).absolute()
        self.kind = paths.manifest_kind(self.path)
        self.repo, self.rel = Repo.for_file(self.path)
        self.spec = spec if spec is not None else dataset_spec_for(self.path)
        self.sig = "|".join((ALGORITHM, self.kind, self.spec.fields.get("key", ""), self.spec.fields.get("label", "")))
        self.store = Store.for_repo(self.repo)
        self._build = threading.Lock()  # one indexer at a time
        self._state = threading.Condition()  # guards snapshots; notified after every indexed commit
        self._stamp: object = None
        self._snap: _Snapshot | None = None
        self._seed: dict[str, bytes] = {}
        self._uncommitted: OrderedDict[object, Delta] = OrderedDict()
        self._clean: dict[object, bool] = {}  # disk stamps git reported clean
        self._worker: threading.Thread | None = None
        self.worker_error: BaseException | None = None
        self.snapshot()

    # -- HEAD and the commit list ---------------------------------------
    def snapshot(self) -> _Snapshot:
        """The commits of the file at the current HEAD (re-read only when HEAD moved)."""
        stamp = self.repo.head_stamp()
        generation = self.store.generation
        with self._state:
            if self._snap is not None and stamp == self._stamp and self._snap.generation == generation:
                return self._snap
        head = self.repo.head(str(self.path))
        with self._state:
            if self._snap is not None and self._snap.head == head and self._snap.generation == generation:
                self._stamp = stamp
                return self._snap
        snap = self._load(head)
        with self._state:
            self._snap, self._stamp = snap, stamp
            self._uncommitted.clear()
            self._state.notify_all()
        return snap

    def _load(self, head: str | None) -> _Snapshot:
        generation = self.store.generation
        commits: list[Commit] = []
        if head is not None:
            cached = self.store.load_log(self.rel, head, self._log_sig)
            commits = cached if cached is not None else self._log(head)
            if cached is None:
                self.store.save_log(self.rel, head, self._log_sig, commits)
        head_blob = _head_blob(commits)
        if head_blob is None and not self.repo.in_index(self.rel, self.path):
            raise BlameError(self.path, "untracked", "the file is not tracked by git (untracked or ignored), so it has no label history yet; "
                                                     "commit it first")
        snap = _Snapshot(head, head_blob, commits, generation=generation)
        snap.index = {c.sha: i for i, c in enumerate(commits)}
        snap.merges = any(len(c.parents) > 1 for c in commits)
        wanted = {p for c in commits for d in c.diffs if (p := _pair(d))}
        snap.pair_ids = self.store.pair_ids(wanted, self.sig)
        for i, c in enumerate(commits):
            for d in c.diffs:
                p = _pair(d)
                if p is not None and p in snap.pair_ids:
                    snap.by_pair.setdefault(snap.pair_ids[p], []).append(i)
        snap.done = next((i for i, c in enumerate(commits) if any((p := _pair(d)) and p not in snap.pair_ids for d in c.diffs)), len(commits))
        return snap

    @property
    def _log_sig(self) -> str:
        return self.sig + "|" + LOG_VERSION

    def _log(self, head: str) -> list[Commit]:
        """The file's history graph at `head`: extends a cached one for an older HEAD when it can."""
        for old_head, old in self.store.recent_logs(self.rel, self._log_sig):
            if old_head == head or not old or not self.repo.is_ancestor(old_head, head, self.path):
                continue
            names = {self.rel} | {n for c in old for d in c.diffs for n in (d.path, d.old_path)}
            raw = self.repo.log(names, self.path, head, exclude=old_head)
            known, new = {c.sha for c in old}, {c.sha for c in raw}
            fitted = []
            for c in raw:
                # a parent from before old_head is a commit of the cached graph; old_head itself stands for its newest commit
                parents = tuple(p if p in known or p in new else old[0].sha if p == old_head else "" for p in c.parents)
                if "" in parents:
                    break
                fitted.append(RawCommit(c.sha, parents, c.author, c.email, c.time, c.date, c.summary, c.sections))
            else:
                commits = resolve(fitted, self.rel, known=old)
                if (commits is not None and not any(_added(d) or _gone(d) for c in commits if c.sha in new for d in c.diffs)
                        and not self._rewrites([c for c in commits if c.sha in new])):
                    return commits
            break  # new renames, files added, or commits the cached graph cannot hold: read the whole history
        return self._full_log(head)

    def _full_log(self, head: str) -> list[Commit]:
        """The file's history graph at `head`, following it through every name it had: git's renames
        (on any branch) and, where the file was added, a manifest deleted in the same commit whose
        keys it mostly shares (a rename git missed because the rows were reformatted too)."""
        names = {self.rel}
        pairing: dict[tuple[str, str], str] = {}
        checked: set[tuple[str, str]] = set()
        scanned: set[tuple[str, str]] = set()  # diffs already looked at as possible rewrites
        raw = self.repo.log(names, self.path, head)
        while True:
            commits = resolve(raw, self.rel, pairing) or []
            relog = reresolve = False
            rewrites = dict(self._rewrites([c for c in commits if any((c.sha, d.path) not in scanned for d in c.diffs)]))
            scanned.update((c.sha, d.path) for c in commits for d in c.diffs)
            for c in commits:
                for d in c.diffs:
                    if (c.sha, d.path) in checked:
                        continue
                    if _gone(d):
                        # deleted here, or renamed away to a name not followed yet: follow that name too, so
                        # the log shows the rename and `resolve` ends this name's history there
                        checked.add((c.sha, d.path))
                        target = self._renamed_to(c.sha, d.path)
                        if target is not None and target not in names and len(names) < MAX_NAMES:
                            names.add(target)
                            relog = True
                        continue
                    rewrite = () if _added(d) else rewrites.get((c.sha, d.path), ())
                    if not _added(d) and not rewrite:
                        continue
                    checked.add((c.sha, d.path))
                    source = self._origin(c.sha, d.path, d.new, rewrite=rewrite)
                    if source is None:
                        continue
                    pairing[(c.sha, d.path)] = source
                    reresolve = True
                    if source and source not in names and len(names) < MAX_NAMES:
                        names.add(source)
                        relog = True
            if relog:
                raw = self.repo.log(names, self.path, head)
            elif not reresolve:
                return commits

    def _origin(self, sha: str, path: str, blob: str | None, rewrite: tuple[str, ...] = ()) -> str | None:
        """The file that `path`, added in commit `sha`, continues: git's rename (whole-tree rename
        detection), or a manifest of the same kind deleted there that shares most of its keys;
        among several, the one sharing the most (key, label) pairs, then the one with the same
        base name; when still tied, none (rather than a guess). `rewrite`: `path` was modified
        there, not added, with the other manifests in `rewrite`: only a rename git finds among them
        when complete rewrites are broken (`-B`) counts (two files swapping names), and "" means the
        file is new there (its old content went on under another name)."""
        suffix = Path(path).suffix.lower()
        kind = paths.MANIFEST_SUFFIXES.get(suffix, "jsonl")
        for parent in self.repo.parents(sha, self.path):
            diffs = self.repo.diff_tree(parent, sha, self.path, [path, *rewrite] if rewrite else None, rewrites=bool(rewrite))
            renamed = next((d.old_path for d in diffs if (d.status[:1] == "R" or (rewrite and d.status[:1] == "C"))
                            and d.path == path and d.old_path != path), None)
            if renamed is not None:
                return renamed
            if rewrite:
                # this name's old content went on under another name (`git mv a c` and a new `a`):
                # git calls the file here a complete rewrite; its history begins here
                if any(d.status[:1] in ("R", "C") and d.old_path == path and d.path != path for d in diffs) and \
                        any(d.path == path and d.status[:1] == "M" and d.status[1:].isdigit() for d in diffs):
                    return ""
                continue
            candidates = [d for d in diffs if d.status[:1] == "D" and d.old is not None and d.path != path
                          and paths.MANIFEST_SUFFIXES.get(Path(d.path).suffix.lower()) == kind]
            if not candidates:
                continue
            new_pairs = self._pairs(blob)
            new_keys = {k for k, _ in new_pairs}
            if not new_keys:
                return None
            scored = []
            for d in candidates:
                old_pairs = self._pairs(d.old)
                old_keys = {k for k, _ in old_pairs}
                share = len(new_keys & old_keys) / max(1, min(len(new_keys), len(old_keys)))
                if share >= SAME_FILE:
                    scored.append((len(new_pairs & old_pairs), Path(d.path).name == Path(path).name, d.path))
            if scored:
                scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
                if len(scored) > 1 and scored[0][:2] == scored[1][:2]:
                    return None  # two equally good predecessors: no guess
                return scored[0][2]
        if not rewrite:  # `git mv a c` with a new `a`: git sees `a` modified and `c` added, -B pairs them
            for parent in self.repo.parents(sha, self.path):
                others = [d for d in self.repo.diff_tree(parent, sha, self.path) if d.status[:1] == "M" and d.path != path
                          and paths.MANIFEST_SUFFIXES.get(Path(d.path).suffix.lower()) == kind]
                if others:
                    others = _pairable(None, blob, others, self.repo.sizes([b for x in others for b in (x.old, x.new) if b] +
                                                                            ([blob] if blob else []), self.path))
                if others:
                    source = self._origin(sha, path, blob, others)
                    if source:
                        return source
        return None

    def _renamed_to(self, sha: str, path: str) -> str | None:
        """Where `path`, gone in commit `sha`, went: the new name when git sees a rename (whole tree)."""
        for parent in self.repo.parents(sha, self.path):
            target = next((d.path for d in self.repo.diff_tree(parent, sha, self.path)
                           if d.status[:1] == "R" and d.old_path == path and d.path != path), None)
            if target is not None:
                return target
        return None

    def _rewrites(self, commits: list[Commit]) -> dict[tuple[str, str], tuple[str, ...]]:
        """(commit, path) of the file's in-place modifications that may have taken another file's
        content or given it away, with the other manifests of the same kind that commit adds, changes
        or deletes (non-merge commits only). Only trees are compared here (one git process);
        `_origin` then asks git to pair rewrites among these files."""
        kind = paths.MANIFEST_SUFFIXES.get(Path(self.rel).suffix.lower(), "jsonl")
        wanted = {(c.sha, d.path): d for c in commits if len(c.parents) <= 1 for d in c.diffs
                  if d.status[:1] == "M" and d.old is not None and d.new is not None}
        if not wanted:
            return {}
        changes = self.repo.changes(sorted({sha for sha, _ in wanted}), self.path)
        candidates = {}
        for (sha, name), d in wanted.items():
            others = [x for x in changes.get(sha, ()) if x.path != name and x.status[:1] in ("A", "M", "D")
                      and paths.MANIFEST_SUFFIXES.get(Path(x.path).suffix.lower()) == kind]
            if others:
                candidates[(sha, name)] = (d, others)
        if not candidates:
            return {}
        sizes = self.repo.sizes([b for d, others in candidates.values() for x in (d, *others) for b in (x.old, x.new) if b],
                                self.path)
        out = {}
        for key in sorted(candidates):
            d, others = candidates[key]
            pairable = _pairable(d.old, d.new, others, sizes)
            if pairable:
                out[key] = pairable
        return out

    def _pairs(self, blob: str | None) -> set[tuple[str, Entry]]:
        try:
            data = self._read_blob(blob or "")
        except BlameError:
            return set()
        if not data or data.startswith(LFS):
            return set()
        if self.kind == "parquet":
            return set(parquet_rows(data, self.spec))
        return set(_Rows(*jsonl_fields(data, self.spec)).pairs(data.split(b"\n")))

    # -- comparing versions ---------------------------------------------
    def _delta(self, old: bytes, new: bytes) -> Delta:
        for data in (old, new):
            if data.startswith(LFS):
                raise BlameError(self.path, "lfs", "the file is stored with Git LFS: git holds pointers, not the rows, so there is no label history")
        if self.kind == "parquet":
            return parquet_delta(old, new, self.spec)
        return jsonl_delta(old, new, self.spec)

    def _head_copy(self, snap: _Snapshot) -> tuple[dict[str, bytes], Callable[[], bool] | None]:
        """HEAD's version from the work tree when git says it is the same (cheaper than asking git
        for it), and a check to call before using it: git's stat cache can be fooled (a clean/smudge
        or end-of-line filter, a write since), so only the blob's own id proves it is HEAD's version.
        The id is computed in a thread (hashlib releases the GIL) while git inflates older versions."""
        if snap.head_blob is None:
            return {}, None
        if snap.head_blob in self._seed:  # read and checked by `uncommitted`
            return {snap.head_blob: self._seed[snap.head_blob]}, None
        try:
            st = self.path.stat()
        except OSError:
            return {}, None
        stamp = ("disk", st.st_mtime_ns, st.st_size, st.st_ino)
        with self._state:
            known = self._uncommitted.get((snap.head_blob, stamp))
        if known is None or known or not self._clean.get(stamp):
            return {}, None
        try:
            data = self.path.read_bytes()
        except OSError:
            return {}, None
        found: list[str] = []
        thread = threading.Thread(target=lambda: found.append(blob_id(data, self.repo.object_format)), name="labelsense-blob-id", daemon=True)
        thread.start()

        def same() -> bool:
            thread.join()
            return bool(found) and found[0] == snap.head_blob

        return {snap.head_blob: data}, same

    def _read_blob(self, sha: str) -> bytes:
        if not sha:
            return b""
        if sha in self._seed:
            return self._seed[sha]
        with self.repo.blobs([sha], self.path) as stream:
            for _, data in stream:
                return data
        return b""

    # -- indexing ---------------------------------------------------------
    def advance(self, stop: Callable[[_Snapshot, int], bool] | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> bool:
        """Index commits newest first until `stop(snapshot, index)` holds or every commit is indexed.
        Returns whether the index is complete."""
        with self._build:
            try:
                return self._advance(stop, progress, copy=True)
            except _StaleCopy:  # the work tree's copy was not HEAD's version after all: ask git for it
                return self._advance(stop, progress, copy=False)

    def _advance(self, stop: Callable[[_Snapshot, int], bool] | None, progress: Callable[[int, int, str], None] | None,
                 copy: bool) -> bool:
        """`advance` (holding `_build`); `copy`: take HEAD's version from the work tree when it can."""
        snap = self.snapshot()
        if snap.complete:
            return True
        todo = range(snap.done, len(snap.commits))
        needed: list[tuple[str, str]] = []
        seen = set(snap.pair_ids)
        for i in todo:
            for d in snap.commits[i].diffs:
                p = _pair(d)
                if p is not None and p not in seen:
                    seen.add(p)
                    needed.append(p)
        commits_of: dict[tuple[str, str], list[int]] = {}
        for j, c in enumerate(snap.commits):
            for d in c.diffs:
                if (p := _pair(d)) is not None and p not in snap.pair_ids:
                    commits_of.setdefault(p, []).append(j)
        seed, check = self._head_copy(snap) if copy else ({}, None)
        cache = _BlobCache(seed)
        fetch = cache.plan(needed)
        total = len(snap.commits)
        try:
            with self.repo.blobs(fetch, self.path, ahead=1, workers=min(BLOB_WORKERS, os.cpu_count() or 1)) as stream:
                if check is not None and not check():
                    raise _StaleCopy
                it = iter(stream)
                for i in todo:
                    for d in snap.commits[i].diffs:
                        p = _pair(d)
                        if p is None or p in snap.pair_ids:
                            continue
                        new = cache.get(p[1], it)
                        old = cache.get(p[0], it)
                        with paused_gc():  # millions of short-lived rows: collections would only rescan them
                            delta = self._delta(old, new)
                            pid = self.store.add_pair(p[0], p[1], self.sig, delta)
                            del delta
                        with self._state:
                            snap.pair_ids[p] = pid
                            snap.by_pair.setdefault(pid, []).extend(commits_of.get(p, ()))
                    with self._state:
                        snap.done = i + 1
                        self._state.notify_all()
                    if progress:
                        progress(i + 1, total, snap.commits[i].sha[:8])
                    if self._snap is not snap or self.store.generation != snap.generation:  # HEAD moved or the cache
                        return False  # was rebuilt: the next call starts from a new snapshot
                    if stop is not None and stop(snap, i):
                        return snap.complete
        finally:
            cache.lru.clear()
            if snap.complete:
                self._seed.clear()
        return snap.complete

    def start_background(self, progress: Callable[[int, int, str], None] | None = None) -> bool:
        """Index the whole history in a daemon thread (once; again after HEAD moved). Returns
        whether a new indexer was started (False: one is running already)."""
        with self._state:
            if self._worker is not None and self._worker.is_alive():
                return False

            def work() -> None:
                try:
                    while not self.advance(progress=progress):
                        if self._snap is not None and self._snap.complete:
                            break
                except BaseException as exc:  # reported to whoever waits; the thread must not die loudly
                    self.worker_error = exc
                finally:
                    with self._state:
                        self._state.notify_all()

            self.worker_error = None
            self._worker = threading.Thread(target=work, name=f"labelsense-blame-{self.path.name}", daemon=True)
            self._worker.start()
            return True

    @property
    def indexing(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def complete(self) -> bool:
        """Whether every commit of the file (at the HEAD last looked at) is indexed."""
        snap = self._snap
        return snap is not None and snap.complete

    def line_count(self) -> int:
        """Rows of the current file (JSONL lines, counted over the whole file / Parquet rows, from
        the footer); 0 when it cannot be read. Only for column widths."""
        try:
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                return pq.ParquetFile(self.path).metadata.num_rows
            data = self.path.read_bytes()
        except Exception:  # noqa: BLE001 - only for column widths
            return 0
        return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)

    def wait_complete(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else _time.monotonic() + timeout
        with self._state:
            while True:
                snap = self._snap
                if snap is not None and snap.complete:
                    return True
                if not self.indexing:
                    return bool(snap and snap.complete)
                remaining = None if deadline is None else deadline - _time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._state.wait(remaining if remaining is not None else 1.0)

    # -- uncommitted changes ----------------------------------------------
    def uncommitted(self, data: bytes | None = None, stamp: object = None) -> Delta:
        """Label changes of the working tree file (or of `data`, an editor buffer) against HEAD.
        `stamp` identifies `data` (e.g. a document version) so the comparison is cached."""
        snap = self.snapshot()
        if data is None:
            try:
                st = self.path.stat()
                stamp = ("disk", st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                stamp, data = ("missing",), b""
        key = (snap.head_blob, stamp) if stamp is not None else None
        if key is not None:
            with self._state:
                if key in self._uncommitted:
                    return self._uncommitted[key]
        if data is None and snap.head_blob is not None and self.repo.clean(self.rel, self.path):  # git's stat cache says: HEAD's version
            with self._state:
                self._clean[stamp] = True
                self._uncommitted[key] = {}  # type: ignore[index]
            return {}
        if data is None:
            try:
                data = self.path.read_bytes()
            except OSError:
                data = b""
        if snap.head_blob is not None and blob_id(data, self.repo.object_format) == snap.head_blob:
            delta: Delta = {}
            if not snap.complete:  # the indexer can start from this copy instead of asking git for it
                self._seed = {snap.head_blob: data}
        else:
            delta = self._delta(self._read_blob(snap.head_blob or ""), data)
        if key is not None:
            with self._state:
                self._uncommitted[key] = delta
                while len(self._uncommitted) > 4:
                    self._uncommitted.popitem(last=False)
        return delta

    def _uncommitted_change(self, ev: tuple[tuple[Entry, ...], tuple[Entry, ...]], buffer: bool) -> Change:
        when = int(_time.time())
        if not buffer:
            try:
                when = int(self.path.stat().st_mtime)
            except OSError:
                pass
        date = _time.strftime("%Y-%m-%dT%H:%M:%S%z", _time.localtime(when))
        date = date[:-2] + ":" + date[-2:] if len(date) > 5 else date
        return Change(None, NOT_COMMITTED, "not.committed.yet", when, date,
                      "unsaved changes in the editor" if buffer else "uncommitted changes in the working tree",
                      _entries(ev[0]), _entries(ev[1]), self.rel)

    # -- answers ------------------------------------------------------------
    def _committed(self, snap: _Snapshot, kj: str, prefix_only: bool = False) -> list[Change]:
        """The committed changes of key `kj`, newest first, from the indexed commits (`snap.done`).

        The history is walked from the newest commit to the parents, like `git blame` does with
        lines: at a merge whose labels for the key are those of one parent, only that parent's
        history is followed (the change came from there); a merge that differs from every parent
        made the change itself (a conflict resolved), and all its parents are followed. The walk
        uses the graph only, so the answer does not depend on the order commits were listed in."""
        rows = self.store.events_for_key(kj)
        if not rows:
            return []
        with self._state:
            pair_ids = dict(snap.pair_ids)
            done = snap.done
            indices = sorted({i for pid in rows for i in snap.by_pair.get(pid, ())}) if not snap.merges else None
        commits = snap.commits

        def event(d: FileDiff) -> tuple[list, list] | None:
            p = _pair(d)
            return rows.get(pair_ids.get(p)) if p is not None else None  # type: ignore[arg-type]

        out = []
        if indices is not None:  # one line of commits: every commit is on the key's path
            for i in indices:
                if i >= done:
                    break
                c = commits[i]
                d = c.diffs[0]
                ev = event(d)
                if ev is not None:
                    out.append(Change(c.sha, c.author, c.email, c.time, c.date, c.summary, _entries(ev[0]), _entries(ev[1]), d.path))
            return out
        reached = bytearray(len(commits))
        if commits:
            reached[0] = 1
        index = snap.index
        for i in range(min(done, len(commits))):
            if not reached[i]:
                continue
            c = commits[i]
            evs = [event(d) for d in c.diffs]
            follow: tuple[str, ...] | list[str] = c.parents
            own = evs[0] if evs else None
            if len(c.parents) > 1:
                same = next((j for j, ev in enumerate(evs) if ev is None), None)
                if same is not None:  # the labels came from that parent: follow only it
                    own, follow = None, [c.parents[same]] if same < len(c.parents) else []
            if own is not None:
                out.append(Change(c.sha, c.author, c.email, c.time, c.date, c.summary, _entries(own[0]), _entries(own[1]), c.diffs[0].path))
                if prefix_only:
                    return out
            for p in follow:
                j = index.get(p)
                if j is not None:
                    reached[j] = 1
        return out

    def history(self, key: Any, data: bytes | None = None, stamp: object = None) -> History:
        """Every change of the labels of sample `key`, newest first (as far as indexed: see `complete`)."""
        kj = key_json(key)
        for _ in range(3):
            snap = self.snapshot()
            if kj is None:
                return History(self.rel, key, (), snap.complete)
            changes: list[Change] = []
            ev = self.uncommitted(data, stamp).get(kj)
            if ev is not None:
                changes.append(self._uncommitted_change(ev, data is not None))
            changes += self._committed(snap, kj)
            if self.store.generation == snap.generation:
                break  # else the cache was rebuilt meanwhile: its pair ids are new, ask again
        return History(self.rel, key, tuple(changes), snap.complete and self.store.generation == snap.generation)

    def full_history(self, key: Any, data: bytes | None = None, stamp: object = None,
                     progress: Callable[[int, int, str], None] | None = None) -> History:
        """`history` after indexing every commit."""
        for _ in range(3):
            self.uncommitted(data, stamp)  # the indexer can take HEAD's version from the file
            while not self.advance(progress=progress):
                if self.snapshot().complete:
                    break
            found = self.history(key, data, stamp)
            if found.complete:
                break
        return found

    def last_change(self, key: Any, data: bytes | None = None, stamp: object = None, wait: float | None = None) -> Change | None:
        """The latest change of sample `key`'s labels. Indexes newest first only as far as needed
        (in this thread; or, with `wait` seconds, by waiting for the background indexer).
        Raises TimeoutError when `wait` runs out first."""
        kj = key_json(key)
        if kj is None:
            return None
        ev = self.uncommitted(data, stamp).get(kj)
        if ev is not None:
            return self._uncommitted_change(ev, data is not None)
        deadline = None if wait is None else _time.monotonic() + wait
        while True:
            snap = self.snapshot()
            done = snap.done
            found = self._committed(snap, kj, prefix_only=True)
            if self.store.generation != snap.generation:
                continue  # the cache was rebuilt meanwhile: start again from a new snapshot
            if found:
                return found[0]
            if snap.complete:
                return None
            if wait is None:
                self.advance(stop=lambda s, i: self._changed_in(s, i, kj))
                continue
            self.start_background()
            with self._state:
                if self.worker_error is not None:
                    raise self.worker_error
                remaining = deadline - _time.monotonic()  # type: ignore[operator]
                if remaining <= 0:
                    raise TimeoutError(f"the label history of {self.rel} is still being indexed")
                if self._snap is snap and snap.done == done:
                    self._state.wait(min(remaining, 0.5))

    def _changed_in(self, snap: _Snapshot, i: int, kj: str) -> bool:
        c = snap.commits[i]
        return any((p := _pair(d)) is not None and p in snap.pair_ids and self.store.event(kj, snap.pair_ids[p]) is not None for d in c.diffs)

    def _latest(self, snap: _Snapshot) -> dict[str, int]:
        """Key -> position of the commit that last changed it, for every key, with the same walk as
        `_committed`: the set of keys that reach each commit is carried down the graph (as "all
        but" a set, so a million untouched keys cost nothing)."""
        latest: dict[str, int] = {}
        commits, index = snap.commits, snap.index

        def keys(d: FileDiff) -> set[str] | Iterator[str]:
            p = _pair(d)
            pid = snap.pair_ids.get(p) if p is not None else None
            return self.store.keys_of_pair(pid) if pid is not None else ()

        with paused_gc():
            if not snap.merges:
                for i, c in enumerate(commits[: snap.done]):
                    for k in keys(c.diffs[0]):
                        if k not in latest:
                            latest[k] = i
                return latest
            state: list = [None] * len(commits)
            if commits:
                state[0] = (True, set())
            for i in range(min(snap.done, len(commits))):
                got, state[i] = state[i], None
                if got is None:
                    continue
                comp, ks = got
                c = commits[i]
                parents = [index.get(p) for p in c.parents]
                if len(c.parents) <= 1:
                    changed = set(keys(c.diffs[0]))
                    mine = changed - ks if comp else changed & ks
                    for k in mine:
                        latest.setdefault(k, i)
                    if parents:  # `ks` belongs to this commit alone: update it in place
                        if comp:
                            ks |= changed
                        else:
                            ks -= changed
                        _give(state, parents[0], comp, ks)
                    continue
                sets = [set(keys(d)) for d in c.diffs]
                rest: set[str] = sets[0] - ks if comp else sets[0] & ks  # the keys that differ from every parent so far
                _give(state, parents[0], comp, ks | sets[0] if comp else ks - sets[0])
                for j in range(1, len(sets)):
                    if not rest:
                        break
                    _give(state, parents[j] if j < len(parents) else None, False, rest - sets[j])
                    rest &= sets[j]
                for k in rest:  # a conflict resolved in the merge
                    latest.setdefault(k, i)
        return latest

    # -- whole file -----------------------------------------------------------
    def current_rows(self, data: bytes | None = None) -> list[tuple[int, Any, Entry]]:
        """(line or row number, key value, labels) of every row of the current file (or `data`)."""
        if data is None:
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                raise BlameError(self.path, "unreadable", f"cannot read the file: {exc.strerror or exc}") from None
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            from .parquet import _map_class_labels

            try:
                source = pq.ParquetFile(pa.BufferReader(data))
            except (OSError, pa.ArrowException, ValueError) as exc:
                raise BlameError(self.path, "unreadable", f"cannot read the Parquet file: {exc}") from None
            names = source.schema_arrow.names
            key = next((c for c in self.spec.field_candidates("key") if c in names), None)
            label = next((c for c in self.spec.field_candidates("label") if c in names), None)
            if key is None:
                return []
            table = _map_class_labels(source.read(columns=[key] + ([label] if label and label != key else [])))
            keys = table.column(key).to_pylist()
            labels = table.column(label).to_pylist() if label else [None] * len(keys)
            return [(i, k, _entry(v)) for i, (k, v) in enumerate(zip(keys, labels))]
        rows = _Rows(*jsonl_fields(data, self.spec))
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        out = []
        with paused_gc():
            for i, line in enumerate(lines):
                r = rows.decode(line)
                out.append((i, r[0], _entry(r[1])) if r is not None else (i, None, None))
        return out

    def key_at(self, line: int, data: bytes | None = None) -> Any:
        """The key of the row at 0-based `line` (JSONL line or Parquet row), None if it has none."""
        rows = self.current_rows(data)
        if not 0 <= line < len(rows):
            raise BlameError(self.path, "line", f"line {line + 1} is past the end of the file ({len(rows)} rows)")
        return rows[line][1]

    def rows(self, data: bytes | None = None, progress: Callable[[int, int, str], None] | None = None) -> Iterator[RowBlame]:
        """Every row with the commit that last changed its labels, in file order (indexes everything first)."""
        for _ in range(3):
            unc = self.uncommitted(data)
            while not self.advance(progress=progress):
                if self.snapshot().complete:
                    break
            snap = self.snapshot()
            latest = self._latest(snap)
            if self.store.generation == snap.generation:
                break  # else the cache was rebuilt meanwhile: index again
        for line, key, labels in self.current_rows(data):
            kj = key_json(key)
            if kj is None:
                yield RowBlame(line, key, labels, None)
            elif kj in unc:
                yield RowBlame(line, key, labels, None, uncommitted=True)
            else:
                i = latest.get(stored_key(kj))
                yield RowBlame(line, key, labels, snap.commits[i] if i is not None else None)


def _give(state: list, j: int | None, comp: bool, keys: set[str]) -> None:
    """Hand the keys that reach a commit on to its parent `j`: "every key except `keys`" (comp)
    or exactly `keys`; several children: the union."""
    if j is None or (not comp and not keys):
        return
    got = state[j]
    if got is None:
        state[j] = (comp, keys)
    elif got[0] and comp:
        state[j] = (True, got[1] & keys)
    elif got[0] or comp:
        state[j] = (True, (got[1] if got[0] else keys) - (keys if got[0] else got[1]))
    else:
        state[j] = (False, got[1] | keys)


def _entries(items: list | tuple | None) -> tuple[Entry, ...]:
    if not items:
        return ()
    return tuple(tuple(e) if e is not None else None for e in items)


_blamers: dict[tuple[str, str], LabelBlame] = {}
_blamers_lock = threading.Lock()


def blame_for(path: Path, spec: DatasetConfig | None = None) -> LabelBlame:
    """A (cached) LabelBlame for a file; raises BlameError when there can be no history."""
    path = Path(path).absolute()
    sig = repr(sorted(spec.fields.items())) if spec is not None else ""
    with _blamers_lock:
        found = _blamers.get((str(path), sig))
    if found is not None:
        try:
            if found.repo.git_dir.is_dir():
                return found
        except OSError:
            pass
    blame = LabelBlame(path, spec)
    with _blamers_lock:
        _blamers[(str(path), sig)] = blame
    return blame
