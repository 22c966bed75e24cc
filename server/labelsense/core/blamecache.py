"""The label-history cache of one repository: sqlite3, under `.git/labelsense/`
(or the user cache dir when `.git` is not writable, or memory as a last resort).

Everything is keyed by git object ids, so it never goes stale and is shared by
every file, branch and worktree of the repository:

- `pairs`: one row per (old blob, new blob, field spec) whose label delta has
  been computed; a version pair is compared once, ever.
- `events`: the delta of a pair: for each key whose labels changed, the labels
  its rows lost and gained. Keys are grouped in 65,536 buckets by a stable hash
  (crc32) — one row per (bucket, pair) holding a small JSON object — so a file
  created with a million rows is 65,536 inserts, not a million, and one
  sample's history is one index range: the rows of its bucket.
- `logs`: per file and HEAD commit, the commits that changed the file (with
  their blob ids), so a restart needs no `git log`; extended, not redone, when
  HEAD moves forward.

Values are JSON text read with orjson: the cache holds no code (no pickle).

A cache file that turns out to be corrupt (sqlite says the image is malformed
or not a database) is deleted and built again, once per query, and when that
fails too the cache lives in memory; `generation` counts these rebuilds, so
readers drop pair ids from the old file. "Database is locked" or busy is never
corruption: another process is using the file, and it is left alone.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import orjson

from .gcpause import paused_gc
from .gitrepo import BlameError, Commit, Repo

SCHEMA_VERSION = "2"
BUCKET_BITS = 16
_MASK = (1 << BUCKET_BITS) - 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS pairs(id INTEGER PRIMARY KEY, old TEXT NOT NULL, new TEXT NOT NULL, spec TEXT NOT NULL,
                                 events INTEGER NOT NULL, UNIQUE(old, new, spec));
CREATE TABLE IF NOT EXISTS events(bucket INTEGER NOT NULL, pair INTEGER NOT NULL, data BLOB NOT NULL,
                                  PRIMARY KEY(bucket, pair)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_pair ON events(pair);
CREATE TABLE IF NOT EXISTS logs(path TEXT NOT NULL, head TEXT NOT NULL, spec TEXT NOT NULL, written REAL NOT NULL,
                                commits BLOB NOT NULL, PRIMARY KEY(path, head, spec));
"""


T = TypeVar("T")
_CORRUPT = ("malformed", "not a database", "corrupt", "no such table", "no such column", "encrypted")
_BUSY = ("locked", "busy")


def is_busy(exc: BaseException) -> bool:
    """sqlite's "database is locked" / "busy": another connection holds the file (not corruption)."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = f"{code} {exc}".lower()
    return any(w in text for w in _BUSY)


def is_corrupt(exc: BaseException) -> bool:
    """A sqlite error that says the file is damaged or not a cache of ours (not a lock, not a full disk)."""
    if not isinstance(exc, sqlite3.DatabaseError) or is_busy(exc):
        return False
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = f"{code} {exc}".lower()
    return any(w in text for w in _CORRUPT) or code in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "labelsense" / "blame"


def _writable_dir(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK | os.X_OK)


def cache_path(repo: Repo) -> Path | None:
    """Where the cache of `repo` lives: `.git/labelsense/blame.sqlite`, else the user cache dir."""
    inside = repo.common_dir / "labelsense"
    if _writable_dir(inside):
        return inside / "blame.sqlite"
    outside = user_cache_dir()
    if _writable_dir(outside):
        digest = hashlib.sha256(os.fsencode(str(repo.common_dir))).hexdigest()[:24]
        return outside / f"{digest}.sqlite"
    return None


def bucket(key: str) -> int:
    """A stable 16-bit hash of a key (the same in every process, unlike `hash()`)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) & _MASK


def _encode(events: dict[str, tuple]) -> list[tuple[int, bytes]]:
    """(bucket, JSON object of its keys' events), sorted by bucket (B-tree appends, not random inserts).
    A file created with a million rows has few distinct events: each is encoded once."""
    crc, dumps = zlib.crc32, orjson.dumps
    memo: dict[tuple, bytes] = {}
    buckets: dict[int, list[bytes]] = {}
    try:
        for key, ev in events.items():
            b = crc(key.encode("utf-8", "surrogatepass")) & _MASK
            value = memo.get(ev)
            if value is None:
                value = memo[ev] = dumps(ev)
            item = dumps(key) + b":" + value
            got = buckets.get(b)
            if got is None:
                buckets[b] = [item]
            else:
                got.append(item)
    except TypeError:  # lone surrogates somewhere: the slow, careful way
        grouped: dict[int, dict[str, Any]] = {}
        for key, ev in events.items():
            grouped.setdefault(bucket(key), {})[key] = ev
        return [(b, _dump(grouped[b])) for b in sorted(grouped)]
    return [(b, b"{" + b",".join(buckets[b]) + b"}") for b in sorted(buckets)]


def stored_key(key: str) -> str:
    """The key as the cache holds it: text with lone surrogates (from `\\ud800` escapes), which
    UTF-8 cannot carry, has them replaced."""
    try:
        key.encode("utf-8")
        return key
    except UnicodeEncodeError:
        return key.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _dump(obj: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError:  # lone surrogates (from `\ud800` escapes) are not UTF-8: store them replaced
        def clean(v: Any) -> Any:
            if isinstance(v, str):
                return v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v
        return orjson.dumps({clean(k): clean(v) for k, v in obj.items()})


class Store:
    """The sqlite cache; one connection shared by threads, serialised by a lock."""

    _open: dict[str, "Store"] = {}
    _open_lock = threading.Lock()

    @classmethod
    def for_repo(cls, repo: Repo) -> "Store":
        where = cache_path(repo)
        name = str(where) if where else f":memory:{repo.common_dir}"
        with cls._open_lock:
            store = cls._open.get(name)
            if store is None:
                store = cls._open[name] = cls(where)
            return store

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.generation = 0  # bumped whenever the database is replaced (its pair ids are then new)
        self.db = self._connect(path)

    def _connect(self, path: Path | None) -> sqlite3.Connection:
        if path is not None:
            for attempt in range(2):
                db = None
                try:
                    db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
                    self._prepare(db)
                    return db
                except sqlite3.DatabaseError as exc:
                    if db is not None:
                        db.close()
                    if attempt or not is_corrupt(exc):  # locked, read-only, disk full...: use memory, touch nothing
                        break
                    self._delete(path)  # corrupt or foreign file: start again, once
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.path = None
        self._prepare(db)
        return db

    @staticmethod
    def _delete(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(str(path) + suffix)
            except OSError:
                pass

    def _recover(self, failed: sqlite3.Connection, force: bool) -> None:
        """After a query failed on a corrupt database: unless another thread has replaced it already,
        close it and open it again, deleting the file if sqlite still finds it damaged (or `force`:
        it failed twice); the database is in memory if that fails too."""
        if not self._let_go(failed):
            return
        path = self.path
        if path is not None and (force or self._still_corrupt(path)):
            self._delete(path)
        self.db = self._connect(path)
        self.generation += 1

    def _to_memory(self, failed: sqlite3.Connection) -> None:
        if not self._let_go(failed):
            return
        self.db = self._connect(None)
        self.generation += 1

    def _let_go(self, failed: sqlite3.Connection) -> bool:
        """Close a connection that failed, unless another thread has replaced it already (False)."""
        if self.db is not failed:
            return False
        try:
            failed.close()
        except sqlite3.Error:
            pass
        return True

    @staticmethod
    def _still_corrupt(path: Path) -> bool:
        try:
            probe = sqlite3.connect(path, timeout=5, isolation_level=None)
        except sqlite3.Error:
            return True
        try:
            row = probe.execute("PRAGMA quick_check(1)").fetchone()
            return not row or row[0] != "ok"
        except sqlite3.DatabaseError as exc:
            return not is_busy(exc)
        finally:
            probe.close()

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            db.executescript("DROP TABLE events; DROP TABLE pairs; DROP TABLE logs;" + _SCHEMA)
            db.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))

    def _run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run `query(db)` under the lock. A corrupt database is rebuilt and the query run again
        (twice at most, the last time in memory); "locked"/"busy" is reported, never repaired."""
        with self._lock:
            for attempt in range(3):
                db = self.db
                try:
                    return query(db)
                except sqlite3.DatabaseError as exc:
                    if is_busy(exc):
                        raise BlameError(self.path or "label history cache", "cache",
                                         f"the label-history cache is locked by another process ({exc}); try again") from None
                    if attempt == 2 or not isinstance(exc, sqlite3.OperationalError) and not is_corrupt(exc):
                        raise
                    if is_corrupt(exc) and attempt == 0:
                        self._recover(db, force=False)
                    elif is_corrupt(exc) and self.path is not None:
                        self._recover(db, force=True)
                    else:  # an I/O error, a full disk, a read-only file, or corrupt again: go on in memory
                        self._to_memory(db)
            raise AssertionError("unreachable")

    # -- pairs and events -------------------------------------------------
    def pair_ids(self, pairs: Iterable[tuple[str, str]], spec: str) -> dict[tuple[str, str], int]:
        """Ids of the version pairs already compared (others are missing from the result)."""
        pairs = list(pairs)

        def query(db: sqlite3.Connection) -> dict[tuple[str, str], int]:
            out: dict[tuple[str, str], int] = {}
            cur = db.cursor()
            for old, new in pairs:
                row = cur.execute("SELECT id FROM pairs WHERE old=? AND new=? AND spec=?", (old, new, spec)).fetchone()
                if row:
                    out[(old, new)] = row[0]
            return out

        return self._run(query)

    def add_pair(self, old: str, new: str, spec: str, events: dict[str, tuple]) -> int:
        """Store a pair's delta, key -> (labels removed, labels added), atomically."""
        with paused_gc():
            rows = _encode(events)

        def query(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT id FROM pairs WHERE old=? AND new=? AND spec=?", (old, new, spec)).fetchone()
                if row:  # another process got there first
                    db.execute("ROLLBACK")
                    return row[0]
                pid = db.execute("INSERT INTO pairs(old, new, spec, events) VALUES(?,?,?,?)", (old, new, spec, len(events))).lastrowid
                db.executemany("INSERT INTO events VALUES(?,?,?)", ((b, pid, data) for b, data in rows))
                db.execute("COMMIT")
                return pid
            except BaseException:
                if db.in_transaction:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise

        return self._run(query)

    def events_for_key(self, key: str) -> dict[int, tuple[list, list]]:
        """pair id -> (labels removed, labels added) for every stored pair that changed `key`."""
        b, wanted = bucket(key), stored_key(key)
        rows = self._run(lambda db: db.execute("SELECT pair, data FROM events WHERE bucket=?", (b,)).fetchall())
        out = {}
        for pair, data in rows:
            ev = orjson.loads(data).get(wanted)
            if ev is not None:
                out[pair] = (ev[0], ev[1])
        return out

    def event(self, key: str, pair: int) -> tuple[list, list] | None:
        b = bucket(key)
        row = self._run(lambda db: db.execute("SELECT data FROM events WHERE bucket=? AND pair=?", (b, pair)).fetchone())
        ev = orjson.loads(row[0]).get(stored_key(key)) if row else None
        return (ev[0], ev[1]) if ev is not None else None

    def keys_of_pair(self, pair: int) -> Iterator[str]:
        rows = self._run(lambda db: db.execute("SELECT data FROM events WHERE pair=?", (pair,)).fetchall())
        for (data,) in rows:
            yield from orjson.loads(data)

    # -- logs --------------------------------------------------------------
    def load_log(self, path: str, head: str, spec: str) -> list[Commit] | None:
        row = self._run(lambda db: db.execute("SELECT commits FROM logs WHERE path=? AND head=? AND spec=?", (path, head, spec)).fetchone())
        return [Commit.from_json(c) for c in orjson.loads(row[0])] if row else None

    def recent_logs(self, path: str, spec: str, limit: int = 3) -> list[tuple[str, list[Commit]]]:
        rows = self._run(lambda db: db.execute("SELECT head, commits FROM logs WHERE path=? AND spec=? ORDER BY written DESC LIMIT ?",
                                               (path, spec, limit)).fetchall())
        return [(head, [Commit.from_json(c) for c in orjson.loads(raw)]) for head, raw in rows]

    def save_log(self, path: str, head: str, spec: str, commits: list[Commit]) -> None:
        data = orjson.dumps([c.to_json() for c in commits])

        def query(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO logs VALUES(?,?,?,?,?)", (path, head, spec, time.time(), data))
            db.execute("DELETE FROM logs WHERE path=? AND spec=? AND head NOT IN "
                       "(SELECT head FROM logs WHERE path=? AND spec=? ORDER BY written DESC LIMIT 5)", (path, spec, path, spec))

        self._run(query)
