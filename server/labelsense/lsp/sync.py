"""Lifecycle and document sync: initialize, settings, open/change/close, files
changed on disk. Each handler updates state and schedules diagnostics."""
from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from lsprotocol import types

from ..core.session import Session
from .documents import Document, EditError
from .server import VIEW_SCHEME, LabelsenseServer, log, server
from .settings import parse_settings

_INDEX_RUNS = itertools.count(1)  # a fresh progress token per run: pygls keeps every token it created
WATCH_GLOBS = ("**/*.jsonl", "**/*.ndjson", "**/*.parquet", "**/*.yaml", "**/*.yml", "**/*.json", "**/*.txt", "**/*.toml")


def _roots(params: types.InitializeParams) -> list[Path]:
    roots = [LabelsenseServer.path_of(f.uri) for f in params.workspace_folders or []]
    if not roots and params.root_uri:
        roots = [LabelsenseServer.path_of(params.root_uri)]
    if not roots and params.root_path:
        roots = [Path(params.root_path)]
    return [r for r in roots if r is not None] or [Path.cwd()]


def apply_settings(ls: LabelsenseServer, raw: object) -> None:
    settings, problems = parse_settings(raw)
    for problem in problems:
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"labelsense: {problem}"))
        log.warning(problem)
    if settings != ls.settings:
        ls.settings = settings
        if ls.session is not None:
            ls.session.set_rules(settings.select, settings.ignore)


@server.feature(types.INITIALIZE)
def initialize(ls: LabelsenseServer, params: types.InitializeParams) -> None:
    ls.session = Session(_roots(params), on_analyzed=ls.analyzed)
    apply_settings(ls, params.initialization_options)


@server.feature(types.INITIALIZED)
async def initialized(ls: LabelsenseServer, params: types.InitializedParams) -> None:
    # Ask for file watchers, then index at once: waiting for the round trips first (settings,
    # registration) would also wait for whatever the client sent meanwhile (a 200 MB didOpen).
    # Settings that turn out different re-check (Session.set_rules).
    ws = ls.client_capabilities.workspace
    if ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration:
        asyncio.ensure_future(_register_watchers(ls))
    asyncio.ensure_future(index_workspace(ls))
    if ws and ws.configuration:
        await pull_settings(ls)


async def _register_watchers(ls: LabelsenseServer) -> None:
    watchers = [types.FileSystemWatcher(glob_pattern=g) for g in WATCH_GLOBS]
    try:
        await ls.client_register_capability_async(types.RegistrationParams([types.Registration(
            "labelsense-watch", types.WORKSPACE_DID_CHANGE_WATCHED_FILES, types.DidChangeWatchedFilesRegistrationOptions(watchers))]))
    except Exception as exc:  # a client may refuse: the server works without it
        log.warning("file watcher registration refused: %r", exc)


async def pull_settings(ls: LabelsenseServer) -> None:
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(types.ConfigurationParams([types.ConfigurationItem(section="labelsense")])), 10)
    except Exception as exc:
        log.warning("workspace/configuration failed: %r", exc)
        return
    if result and result[0] is not None:
        apply_settings(ls, result[0])


async def index_workspace(ls: LabelsenseServer) -> None:
    """Analyse every dataset in the background, with work-done progress. The first analysis
    starts at once, not after the client has answered the progress request."""
    from .diagnostics import refresh_all

    assert ls.session is not None
    token = f"labelsense-index-{next(_INDEX_RUNS)}"
    window = ls.client_capabilities.window
    begun = asyncio.ensure_future(_begin_progress(ls, token)) if window and window.work_done_progress else None
    datasets = await ls.off_loop(ls.session.datasets)
    for i, (config, spec) in enumerate(datasets):
        if begun is not None and begun.done() and begun.result():
            ls.work_done_progress.report(token, types.WorkDoneProgressReport(
                message=f"{spec.name} ({i + 1}/{len(datasets)})", percentage=int(100 * i / max(len(datasets), 1))))
        try:
            await ls.off_loop(ls.session.analyze, config, spec)
        except Exception as exc:
            ls.report_once(f"indexing dataset '{spec.name}' failed: {exc!r}")
    if begun is not None and await begun:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{len(datasets)} dataset(s) indexed"))
    await refresh_all(ls)


async def _begin_progress(ls: LabelsenseServer, token: str) -> bool:
    """Create and begin the indexing progress; False when the client does not take it."""
    try:
        await asyncio.wait_for(ls.work_done_progress.create_async(token), 10)
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="labelsense: indexing", percentage=0, cancellable=False))
        return True
    except Exception as exc:
        log.warning("work done progress unavailable: %r", exc)
        return False


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: LabelsenseServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings.get("labelsense") if isinstance(params.settings, dict) and "labelsense" in params.settings else None
    if settings is not None:
        apply_settings(ls, settings)
    elif ls.client_capabilities.workspace and ls.client_capabilities.workspace.configuration:
        await pull_settings(ls)
    ls.schedule_refresh()


def _buffer_changed(ls: LabelsenseServer, doc: Document, same_as: object | None = None, path: Path | None = None) -> None:
    path = path or ls.path_of(doc.uri)
    if path is None or ls.session is None:
        return
    if doc.view_of is None:  # a Parquet view is read-only: its file stays the truth
        ls.session.set_overlay(path, doc, same_as)
    ls.schedule_refresh()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LabelsenseServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    path = ls.path_of(item.uri)
    is_view = item.uri.startswith(VIEW_SCHEME + ":")
    # compared with the file before the text is split into lines: a 200 MB file then never is in memory three times
    same_as = ls.session.verbatim_stamp(path, item.text) if path is not None and ls.session is not None and not is_view else None
    doc = Document.from_text(item.uri, item.language_id, item.version, item.text)
    if is_view:
        from .parquet_view import attach_view

        attach_view(ls, doc)
    ls.docs.open(doc)
    if not ls.supports_pull():
        # Push clients (Eglot, ALE) drop diagnostics published for a file that is not open: the
        # workspace index may already have published this file's, so publish them again.
        ls.results.pop(item.uri, None)
    _buffer_changed(ls, doc, same_as, path)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LabelsenseServer, params: types.DidChangeTextDocumentParams) -> None:
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        log.warning("didChange for a document that is not open: %s", params.text_document.uri)
        return
    version = params.text_document.version
    if version is not None and version <= doc.version:
        log.warning("didChange for %s goes back from version %s to %s; applied anyway", doc.uri, doc.version, version)
    path = ls.path_of(doc.uri)
    in_place = path is not None and ls.session is not None and doc.view_of is None
    for change in params.content_changes:
        try:
            edited = doc.apply(change, ls.encoding)
        except EditError as exc:
            ls.report_once(f"ignored a change to {doc.uri}: {exc}")
            in_place = False
            break
        if in_place and edited is not None:
            first, replaced, count = edited
            in_place = ls.session.edit(path, first, replaced, doc.encoded(first, count), doc)  # type: ignore[union-attr, arg-type]
        else:
            in_place = False
    doc.version = version if version is not None else doc.version + 1
    if in_place:
        ls.schedule_refresh(0)
    else:
        _buffer_changed(ls, doc)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LabelsenseServer, params: types.DidCloseTextDocumentParams) -> None:
    doc = ls.docs.close(params.text_document.uri)
    path = ls.path_of(params.text_document.uri)
    if doc is None or path is None or ls.session is None or doc.view_of is not None:
        return
    ls.session.set_overlay(path, None)  # the file on disk is the truth again
    ls.schedule_refresh()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: LabelsenseServer, params: types.DidChangeWatchedFilesParams) -> None:
    if ls.session is None:
        return
    for change in params.changes:
        path = ls.path_of(change.uri)
        if path is not None and ls.doc_for_path(path) is None:
            ls.session.changed(path)
    ls.schedule_refresh()


@server.command("labelsense.reindex")
async def reindex(ls: LabelsenseServer, *args: object) -> None:
    if ls.session is not None:
        ls.session = Session(ls.session.roots, ls.settings.select, ls.settings.ignore, on_analyzed=ls.analyzed)
        for doc in ls.docs:
            _buffer_changed(ls, doc)
        await index_workspace(ls)
