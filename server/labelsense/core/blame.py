"""Label blame: who set a sample's label, when, in which commit, and what it was before.

History is kept per *sample key*, not per line. For every commit that changed
the manifest, the two versions of the file (blob ids from `git log --follow
--raw`) are compared by key: the lines that differ are found with a memcmp walk
(`linediff`), only those lines are parsed (msgspec, key and label fields only),
and the result is, per key, the labels its rows lost and gained. Keys whose
rows only moved, were reformatted or had other fields edited cancel out, so a
reformat, a re-sort or reordered object keys is never blamed. Parquet versions
are compared by key on two columns read with pyarrow.

A version pair is compared once, ever: deltas are stored in a sqlite cache
keyed by blob ids (see `blamecache`), and commits are indexed newest first, so
the latest change of a recently edited row is known after a few versions, long
before the whole history is. Merges count a change only when it differs from
every parent (otherwise the branch commit that made it is blamed). Edits in
the working tree or an unsaved editor buffer are compared with HEAD's version
and reported as "not committed yet".

Not a repository, an untracked file, a shallow clone, no `git`: `BlameError`
with a message, never a crash.
"""
from __future__ import annotations

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
from .blamecache import Store
from .config import DatasetConfig, default_config, find_config, load_config
from .gcpause import paused_gc
from .gitrepo import BlameError, Commit, FileDiff, Repo, blob_id
from .jsonl import detect_fields
from .linediff import changed_lines
from .manifest import label_tuple
from .types import ConfigError

__all__ = ["BlameError", "Change", "History", "LabelBlame", "RowBlame", "blame_for", "labels_text", "row_key", "dataset_spec_for"]

ALGORITHM = "1"  # part of the cache key: bump when deltas are computed differently
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
def key_json(value: Any) -> str | None:
    """A key as text that tells types apart: a string is itself; any other value is NUL + its
    canonical JSON (`42` and `"42"` are different samples)."""
    if value is None:
        return None
    if type(value) is str:
        return value if not value.startswith("\0") else "\0" + orjson.dumps(value).decode()
    try:
        return "\0" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return "\0" + orjson.dumps(str(value)).decode()


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
                return None
            return r.k, r.l
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
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
                    if not line.startswith(BOM):
                        continue
                    try:
                        r = dec(line[3:])
                    except error:
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
    """The key value of one JSONL row (None when the line is not an object with a key)."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
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

    @property
    def complete(self) -> bool:
        return self.done >= len(self.commits)


def _pair(d: FileDiff) -> tuple[str, str] | None:
    """The version pair a diff compares, or None when it cannot change labels (same blob)."""
    if d.old == d.new:
        return None
    return (d.old or "", d.new or "")


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
        with self._state:
            if self._snap is not None and stamp == self._stamp:
                return self._snap
        head = self.repo.head(str(self.path))
        with self._state:
            if self._snap is not None and self._snap.head == head:
                self._stamp = stamp
                return self._snap
        snap = self._load(head)
        with self._state:
            self._snap, self._stamp = snap, stamp
            self._uncommitted.clear()
            self._state.notify_all()
        return snap

    def _load(self, head: str | None) -> _Snapshot:
        commits: list[Commit] = []
        if head is not None:
            cached = self.store.load_log(self.rel, head, self.sig)
            commits = cached if cached is not None else self._log(head)
            if cached is None:
                self.store.save_log(self.rel, head, self.sig, commits)
        head_blob = commits[0].diffs[0].new if commits and commits[0].diffs else None
        if head_blob is None and not self.repo.in_index(self.rel, self.path):
            raise BlameError(self.path, "untracked", "the file is not tracked by git (untracked or ignored), so it has no label history yet; "
                                                     "commit it first")
        snap = _Snapshot(head, head_blob, commits)
        wanted = {p for c in commits for d in c.diffs if (p := _pair(d))}
        snap.pair_ids = self.store.pair_ids(wanted, self.sig)
        for i, c in enumerate(commits):
            for d in c.diffs:
                p = _pair(d)
                if p is not None and p in snap.pair_ids:
                    snap.by_pair.setdefault(snap.pair_ids[p], []).append(i)
        snap.done = next((i for i, c in enumerate(commits) if any((p := _pair(d)) and p not in snap.pair_ids for d in c.diffs)), len(commits))
        return snap

    def _log(self, head: str) -> list[Commit]:
        """The file's commits at `head`: extends a cached list for an older HEAD when it can."""
        for old_head, old_commits in self.store.recent_logs(self.rel, self.sig):
            if old_head == head or not self.repo.is_ancestor(old_head, head, self.path):
                continue
            new = self.repo.log(self.rel, self.path, head, exclude=old_head)
            if any(d.status[:1] in ("R", "C") for c in new for d in c.diffs):
                break  # renamed since: the old list was another path's history
            return new + [c for c in old_commits if c.sha not in {n.sha for n in new}]
        return self.repo.log(self.rel, self.path, head)

    # -- comparing versions ---------------------------------------------
    def _delta(self, old: bytes, new: bytes) -> Delta:
        for data in (old, new):
            if data.startswith(LFS):
                raise BlameError(self.path, "lfs", "the file is stored with Git LFS: git holds pointers, not the rows, so there is no label history")
        if self.kind == "parquet":
            return parquet_delta(old, new, self.spec)
        return jsonl_delta(old, new, self.spec)

    def _head_copy(self, snap: _Snapshot) -> dict[str, bytes]:
        """HEAD's version from the work tree when it is known to be the same (cheaper than asking git)."""
        if snap.head_blob is None:
            return {}
        if snap.head_blob in self._seed:
            return {snap.head_blob: self._seed[snap.head_blob]}
        try:
            st = self.path.stat()
        except OSError:
            return {}
        stamp = ("disk", st.st_mtime_ns, st.st_size, st.st_ino)
        with self._state:
            known = self._uncommitted.get((snap.head_blob, stamp))
        if known is None or known or not self._clean.get(stamp):
            return {}
        try:
            data = self.path.read_bytes()
        except OSError:
            return {}
        return {snap.head_blob: data} if len(data) == st.st_size else {}

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
            cache = _BlobCache(self._head_copy(snap))
            fetch = cache.plan(needed)
            total = len(snap.commits)
            try:
                with self.repo.blobs(fetch, self.path, ahead=1, workers=min(BLOB_WORKERS, os.cpu_count() or 1)) as stream:
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
                        if self._snap is not snap:  # HEAD moved: the next call starts from the new list
                            return False
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
        """Rows of the current file (JSONL lines / Parquet rows), cheaply."""
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
        rows = self.store.events_for_key(kj)
        if not rows:
            return []
        with self._state:
            indices = sorted({i for pid in rows for i in snap.by_pair.get(pid, ())})
            pair_ids = dict(snap.pair_ids)
            done = snap.done
        out = []
        for i in indices:
            if prefix_only and i >= done:
                break
            c = snap.commits[i]
            evs = [(d, rows.get(pair_ids.get(p)) if (p := _pair(d)) is not None else None) for d in c.diffs]
            if len(c.parents) > 1 and (len(c.diffs) < len(c.parents) or any(ev is None for _, ev in evs)):
                continue  # a merge: only what differs from every parent is its own change
            d, ev = next(((d, ev) for d, ev in evs if ev is not None), (None, None))
            if ev is None:
                continue
            out.append(Change(c.sha, c.author, c.email, c.time, c.date, c.summary, _entries(ev[0]), _entries(ev[1]), d.path))
        return out

    def history(self, key: Any, data: bytes | None = None, stamp: object = None) -> History:
        """Every change of the labels of sample `key`, newest first (as far as indexed: see `complete`)."""
        snap = self.snapshot()
        kj = key_json(key)
        changes: list[Change] = []
        if kj is None:
            return History(self.rel, key, (), snap.complete)
        ev = self.uncommitted(data, stamp).get(kj)
        if ev is not None:
            changes.append(self._uncommitted_change(ev, data is not None))
        changes += self._committed(snap, kj)
        return History(self.rel, key, tuple(changes), snap.complete)

    def full_history(self, key: Any, data: bytes | None = None, stamp: object = None,
                     progress: Callable[[int, int, str], None] | None = None) -> History:
        """`history` after indexing every commit."""
        self.uncommitted(data, stamp)  # the indexer can take HEAD's version from the file
        while not self.advance(progress=progress):
            if self.snapshot().complete:
                break
        return self.history(key, data, stamp)

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
        unc = self.uncommitted(data)
        while not self.advance(progress=progress):
            if self.snapshot().complete:
                break
        snap = self.snapshot()
        latest: dict[str, int] = {}
        with paused_gc():
            for i, c in enumerate(snap.commits):
                ids = [snap.pair_ids.get(p) if (p := _pair(d)) is not None else None for d in c.diffs]
                if not ids or any(x is None for x in ids):
                    if len(c.parents) > 1 or not any(ids):
                        continue
                ids = [x for x in ids if x is not None]
                if len(c.parents) > 1:
                    if len(c.diffs) < len(c.parents):
                        continue
                    keys = set(self.store.keys_of_pair(ids[0]))
                    for other in ids[1:]:
                        keys &= set(self.store.keys_of_pair(other))
                else:
                    keys = self.store.keys_of_pair(ids[0])
                for k in keys:
                    if k not in latest:
                        latest[k] = i
        for line, key, labels in self.current_rows(data):
            kj = key_json(key)
            if kj is None:
                yield RowBlame(line, key, labels, None)
            elif kj in unc:
                yield RowBlame(line, key, labels, None, uncommitted=True)
            else:
                i = latest.get(kj)
                yield RowBlame(line, key, labels, snap.commits[i] if i is not None else None)


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
