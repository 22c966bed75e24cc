"""Label blame in the editor: a hover section with the row's last label change,
inlay hints (author and age at the end of each row, when the `inlayHints`
setting is on) and the `labelsense.labelHistory` command (uri, line) that
returns a sample's whole history for the editors to show.

All git and cache work runs off the event loop. A hover never fails and never
waits long: a big file's history is indexed in the background, newest commit
first, and the hover waits up to HOVER_WAIT seconds for the row's latest change;
errors become a one-line note. Everything from git or the dataset is escaped.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from ..core.blame import BlameError, Change, LabelBlame, blame_for, labels_text, row_key
from ..core.config import DatasetConfig
from . import markdown as md
from .positions import units
from .server import LabelsenseServer, log, server

COMMAND = "labelsense.labelHistory"
HOVER_WAIT = 2.0  # seconds a hover waits for the history to reach the row
MAX_HINTS = 2000  # rows per inlay-hint request
QUIET = ("not-a-repo", "no-git")  # nothing to say: no note on every hover
_failures: dict[Path, tuple[float, BlameError]] = {}
_refreshing: set[Path] = set()
_indexers: set[Path] = set()
_tokens = itertools.count(1)


def ago(timestamp: int, now: float | None = None) -> str:
    """`3 days ago`, `just now`."""
    seconds = max(0, int((now if now is not None else time.time()) - timestamp))
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def _spec(ls: LabelsenseServer, path: Path) -> DatasetConfig | None:
    found = ls.session.dataset_for(path) if ls.session is not None else None
    return found[1] if found else None


def _blamer(ls: LabelsenseServer, path: Path) -> LabelBlame:
    """The file's LabelBlame; a recent failure is remembered for a few seconds (no git call per hover)."""
    failed = _failures.get(path)
    if failed is not None and time.monotonic() - failed[0] < 10:
        raise failed[1]
    try:
        blame = blame_for(path, _spec(ls, path))
    except BlameError as exc:
        _failures[path] = (time.monotonic(), exc)
        raise
    _failures.pop(path, None)
    return blame


_same_as_disk: dict[tuple, bool] = {}  # (uri, version, disk stamp) -> whether the buffer equals the file


def _current(ls: LabelsenseServer, path: Path) -> tuple[bytes | None, object]:
    """The editor buffer of a manifest (bytes and a stamp for caching) when it differs from the file
    on disk, or (None, None): the file on disk (a saved edit is "uncommitted", not "unsaved")."""
    doc = ls.doc_for_path(path)
    if doc is None or ls.session is None:
        return None, None
    try:
        data = ls.session.read_bytes(path)
    except OSError:
        return None, None
    try:
        st = path.stat()
    except OSError:
        return data, ("buffer", doc.uri, doc.version)
    key = (doc.uri, doc.version, st.st_mtime_ns, st.st_size, st.st_ino)
    same = _same_as_disk.get(key)
    if same is None:
        try:
            same = len(data) == st.st_size and path.read_bytes() == data
        except OSError:
            same = False
        if len(_same_as_disk) > 64:
            _same_as_disk.clear()
        _same_as_disk[key] = same
    return (None, None) if same else (data, ("buffer", doc.uri, doc.version))


def _row(ls: LabelsenseServer, uri: str, line: int) -> tuple[Path, Any] | None:
    """(manifest path, key) of the row at `line` of a manifest or a Parquet view; None if it is no row."""
    path = ls.path_of(uri)
    if path is None or ls.session is None:
        return None
    spec = _spec(ls, path)
    if spec is None:
        return None
    tax = ls.session.taxonomy_for(path)
    if tax is not None and Path(tax.path) == path:
        return None
    doc = ls.docs.get(uri)
    text = doc.line(line) if doc is not None else ls.lines_of(path)(line)
    key = row_key(text, spec) if text.strip() else None
    return (path, key) if key is not None else None


def describe(change: Change, now: float | None = None) -> str:
    """The hover section for a row's last label change (all git and dataset text escaped)."""
    if not change.committed:
        return (f"**Label**: not committed yet — {md.escape(change.summary)}\n\n"
                f"{md.escape(labels_text(change.previous))} → {md.escape(labels_text(change.labels))}")
    kind = {"added": " (row added)", "removed": " (row removed)"}.get(change.kind, "")
    return (f"**Label last changed** {ago(change.time, now)} by {md.escape(change.author)} in {md.escape(change.short)}"
            f" — {md.escape(change.summary)}\n\n"
            f"previous: {md.escape(labels_text(change.previous))} → {md.escape(labels_text(change.labels))}{kind}")


def _note(text: str) -> str:
    return f"*Label history: {md.escape(text)}*"


def _blamer_or_note(ls: LabelsenseServer, path: Path) -> LabelBlame | str | None:
    """The file's LabelBlame, or the note to show instead (None: say nothing, e.g. not a repository)."""
    try:
        return _blamer(ls, path)
    except BlameError as exc:
        return None if exc.kind in QUIET else _note(exc.message)


def index_in_background(ls: LabelsenseServer, blame: LabelBlame) -> None:
    """Start indexing the file's history in the background (if it is not complete), with
    work-done progress in editors that show it. Call on the event loop."""
    if blame.complete or blame.indexing or blame.path in _indexers:
        return
    loop = asyncio.get_running_loop()
    window = ls.client_capabilities.window
    token = f"labelsense-blame-{next(_tokens)}"
    state = {"shown": False}

    def report(done: int, total: int, commit: str) -> None:  # from the indexer thread
        loop.call_soon_threadsafe(_report, ls, token, state, done, total)

    if not blame.start_background(progress=report):
        return
    _indexers.add(blame.path)

    async def follow() -> None:
        try:
            if window and window.work_done_progress:
                try:
                    await asyncio.wait_for(ls.work_done_progress.create_async(token), 10)
                    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                        title="labelsense: label history", message=f"reading the git history of {blame.path.name}", percentage=0))
                    state["shown"] = True
                except Exception as exc:  # a client may refuse progress: indexing goes on
                    log.warning("work done progress for label history unavailable: %r", exc)
            await ls.off_loop(blame.wait_complete, None)
            if state["shown"]:
                ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"label history of {blame.path.name} indexed"))
        except Exception as exc:
            log.warning("label history indexing of %s: %r", blame.path, exc)
        finally:
            _indexers.discard(blame.path)

    asyncio.ensure_future(follow())


def _report(ls: LabelsenseServer, token: str, state: dict[str, bool], done: int, total: int) -> None:
    if state["shown"]:
        ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"{done}/{total} commits",
                                                                         percentage=int(100 * done / max(total, 1))))


def _hover_text(ls: LabelsenseServer, blame: LabelBlame, key: Any) -> str | None:
    path = blame.path
    data, stamp = _current(ls, path)
    try:
        change = blame.last_change(key, data, stamp, wait=HOVER_WAIT)
    except TimeoutError:
        return _note("still reading the git history of this file; hover again in a moment")
    except BlameError as exc:
        return _note(exc.message)
    if change is None:
        return _note("no commit changed this sample's labels")
    return describe(change)


async def hover_section(ls: LabelsenseServer, h: Any, line: int) -> str | None:
    """The blame section of a hover on a manifest row (None when there is nothing to say). Never raises."""
    try:
        if h is None or getattr(h, "in_taxonomy", False) or getattr(h, "spec", None) is None:
            return None
        text = h.lines(line)
        key = row_key(text, h.spec) if text.strip() else None
        if key is None:
            return None
        blame = await ls.off_loop(_blamer_or_note, ls, h.path)
        if not isinstance(blame, LabelBlame):
            return blame
        index_in_background(ls, blame)
        return await ls.off_loop(_hover_text, ls, blame, key)
    except Exception as exc:  # a hover never fails because of blame
        log.warning("label blame for hover failed: %r", exc)
        return _note(f"unavailable ({type(exc).__name__})")


@server.command(COMMAND)
async def label_history(ls: LabelsenseServer, *args: Any) -> list[dict[str, Any]]:
    """`labelsense.labelHistory` (uri, line) or ({uri, line}): the sample's label changes, newest first."""
    if len(args) == 1 and isinstance(args[0], dict):
        uri, line = args[0].get("uri"), args[0].get("line")
    elif len(args) >= 2:
        uri, line = args[0], args[1]
    else:
        uri = line = None
    if not isinstance(uri, str) or isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise ValueError(f"{COMMAND} takes (uri: string, line: integer >= 0)")
    found = _row(ls, uri, line)
    if found is None:
        raise ValueError(f"line {line + 1} of {uri} is not a manifest row with a key")
    path, key = found

    def work() -> list[dict[str, Any]]:
        blame = _blamer(ls, path)
        data, stamp = _current(ls, path)
        return [c.to_json() for c in blame.full_history(key, data, stamp).changes]

    try:
        return await ls.off_loop(work)
    except BlameError as exc:
        raise ValueError(str(exc)) from None


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
async def inlay_hints(ls: LabelsenseServer, params: types.InlayHintParams) -> list[types.InlayHint] | None:
    """Author and age of the last label change at the end of each row (setting `inlayHints`, off by default)."""
    if not ls.settings.inlay_hints:
        return None
    uri = params.text_document.uri
    doc = ls.docs.get(uri)
    path = ls.path_of(uri)
    if doc is None or path is None or ls.session is None:
        return None
    spec = _spec(ls, path)
    if spec is None:
        return None
    first = max(params.range.start.line, 0)
    last = min(params.range.end.line, len(doc.lines) - 1, first + MAX_HINTS - 1)
    rows = [(n, key) for n in range(first, last + 1) if (text := doc.line(n)).strip() and (key := row_key(text, spec)) is not None]
    if not rows:
        return []

    try:
        blame = await ls.off_loop(_blamer_or_note, ls, path)
    except Exception as exc:  # never fail the editor's request
        log.warning("label blame inlay hints failed: %r", exc)
        return []
    if not isinstance(blame, LabelBlame):
        return []
    index_in_background(ls, blame)

    def work() -> tuple[list[tuple[int, Change]], LabelBlame | None]:
        data, stamp = _current(ls, path)
        out = []
        for n, key in rows:
            try:
                change = blame.last_change(key, data, stamp, wait=0.0)
            except TimeoutError:
                continue
            if change is not None:
                out.append((n, change))
        return out, blame

    try:
        found, blame = await ls.off_loop(work)
    except Exception as exc:  # never fail the editor's request
        log.warning("label blame inlay hints failed: %r", exc)
        return []
    if blame is not None and blame.indexing:
        _refresh_when_indexed(ls, blame)
    now = time.time()
    hints = []
    for n, change in found:
        who = change.author if change.committed else "not committed yet"
        label = f"{who}, {ago(change.time, now)}" if change.committed else who
        hints.append(types.InlayHint(
            position=types.Position(n, units(doc.line(n), ls.encoding)), label=label, padding_left=True,
            tooltip=f"{change.short} {change.summary}\n{labels_text(change.previous)} → {labels_text(change.labels)}"))
    return hints


def _refresh_when_indexed(ls: LabelsenseServer, blame: LabelBlame) -> None:
    """Ask the client to re-request inlay hints once the background indexer is done."""
    ws = ls.client_capabilities.workspace
    if not (ws and ws.inlay_hint and ws.inlay_hint.refresh_support) or blame.path in _refreshing:
        return
    _refreshing.add(blame.path)

    async def later() -> None:
        try:
            await ls.off_loop(blame.wait_complete, 3600)
            await ls.workspace_inlay_hint_refresh_async(None)
        except Exception as exc:
            log.warning("inlay hint refresh failed: %r", exc)
        finally:
            _refreshing.discard(blame.path)

    asyncio.ensure_future(later())
