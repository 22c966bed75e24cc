"""The labelsense language server: state shared by the feature handlers.

Documents live in our own line store (see documents.py); analysis runs in a
worker thread through `labelsense.core.session.Session`; handlers in the
sibling modules only translate between LSP and the core.
"""
from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable, TypeVar
from urllib.parse import unquote, urlparse

import orjson
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path

from .. import __version__
from ..core import heap
from ..core.session import Analysis, Session
from .documents import Document, DocumentStore
from .positions import UTF16
from .settings import Settings
from .transport import read_messages, widen_pipe

log = logging.getLogger("labelsense")
T = TypeVar("T")
VIEW_SCHEME = "labelsense-parquet"


class Raw:
    """A result already in JSON form (assembled from cached pieces): sent as it is."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Protocol(LanguageServerProtocol):
    """pygls' protocol without its text store: our handlers keep documents
    (pygls would re-split a whole file on every keystroke). Messages are written with
    orjson, and a `Raw` result skips the conversion pass (a thousand diagnostics cost
    ~25 ms through cattrs and the json module, ~1 ms this way)."""

    def unstructure(self, value: Any) -> Any:
        return self._converter.unstructure(value)

    def _send_data(self, data: Any) -> None:
        if not data:
            return
        if self.writer is None:
            log.error("cannot send a message: no transport")
            return
        try:
            result = getattr(data, "result", None)
            if isinstance(result, Raw):
                payload = {"jsonrpc": data.jsonrpc, "id": data.id, "result": result.value}
            else:
                payload = self._serialize_message(data) if hasattr(data, "__attrs_attrs__") else data
            body = orjson.dumps(payload, default=self._serialize_message)
        except (TypeError, orjson.JSONEncodeError):  # what orjson cannot write (huge ints, odd keys): pygls' way
            if isinstance(getattr(data, "result", None), Raw):
                data.result = data.result.value
            return super()._send_data(data)
        frame = (f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n".encode()
                 + body) if self._include_headers else body
        try:
            res = self.writer.write(frame)
            if inspect.isawaitable(res):
                asyncio.ensure_future(res)
        except BrokenPipeError:
            log.error("cannot send a message: the client is gone")
            raise

    def structure_message(self, data: dict):  # noqa: ANN201
        """Like pygls, but a request whose params do not fit its method gets an
        InvalidParams error response (pygls alone would leave the client waiting)."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                log.warning("invalid params for %s (request %s): %s", data.get("method"), data.get("id"), exc)
                self._send_response(data["id"], error=exc.to_response_error())
            raise

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class LabelsenseServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("labelsense", __version__, protocol_cls=Protocol, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.docs = DocumentStore()
        self.session: Session | None = None
        self.settings = Settings()
        self.results: dict[str, tuple[str, list[types.Diagnostic]]] = {}  # uri -> (result id, items)
        # uri -> (the findings converted, (version, cap, encoding), diagnostics, memo of diagnostics.py)
        self.converted: dict[str, tuple[list, tuple, list[types.Diagnostic], dict]] = {}
        self.json_forms: dict[str, dict] = {}  # uri -> memo of diagnostics.py: the JSON forms of the diagnostics last sent
        self._disk_lines: dict[Path, tuple[object, list[str]]] = {}
        self._pending: dict[tuple, asyncio.Task] = {}
        self._reported: set[str] = set()

    def _start_io_async(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio server with our read loop (transport.py); pygls is pinned below 3."""
        self._stop_event = threading.Event()
        stdin = stdin or sys.stdin.buffer
        widen_pipe(stdin)
        # stdin is read on its own thread: the pool's threads may all be waiting for an
        # analysis that waits for a large message's turn (core/turns.py)
        reading = ThreadPoolExecutor(1, thread_name_prefix="labelsense-stdin")
        reader = StdinAsyncReader(stdin, reading)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(read_messages(self._stop_event, reader, self.protocol, self.report_server_error))
        except BrokenPipeError:
            log.error("the client's connection is gone: shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            reading.shutdown(wait=False, cancel_futures=True)
            self.shutdown()

    # -- paths and text ----------------------------------------------------
    @property
    def encoding(self) -> str:
        try:
            return self.workspace.position_encoding or UTF16
        except RuntimeError:
            return UTF16

    @staticmethod
    def path_of(uri: str) -> Path | None:
        """The file behind a `file:` URI, or the Parquet file behind a view URI."""
        parsed = urlparse(uri)
        if parsed.scheme not in ("file", VIEW_SCHEME):
            return None
        return Path(unquote(parsed.path)).resolve()

    @staticmethod
    def uri_of(path: str | Path) -> str:
        return from_fs_path(str(path)) or Path(path).as_uri()

    def doc_for_path(self, path: Path) -> Document | None:
        for doc in self.docs:
            if doc.view_of is None and self.path_of(doc.uri) == path:
                return doc
        return None

    def lines_of(self, path: Path) -> Callable[[int], str]:
        """Line text for any file: the open buffer, else the file on disk (cached)."""
        doc = self.doc_for_path(path)
        if doc is not None:
            return doc.line
        if self.session is not None and (read := self.session.lines(path)) is not None:
            return read  # a manifest the session holds: no second copy of its lines
        try:
            st = path.stat()
            stamp: object = (st.st_mtime_ns, st.st_size)
        except OSError:
            return lambda n: ""
        cached = self._disk_lines.get(path)
        if cached is None or cached[0] != stamp:
            if path.suffix.lower() in (".parquet", ".pq"):
                lines: list[str] = []
            else:
                try:
                    lines = path.read_bytes().decode("utf-8", "replace").split("\n")
                except OSError:
                    lines = []
            cached = self._disk_lines[path] = (stamp, lines)
        lines = cached[1]
        return lambda n: lines[n] if 0 <= n < len(lines) else ""

    # -- analysis ------------------------------------------------------------
    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking core work in the thread pool, keeping the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.thread_pool, partial(fn, *args))

    async def analysis_for(self, path: Path) -> Analysis | None:
        if self.session is None:
            return None
        try:
            analysis = await self.off_loop(self.session.analysis_for, path)
        except Exception as exc:  # never fail a request on a core error: log and report once
            self.report_once(f"analysis of {path} failed: {exc!r}")
            log.exception("analysis of %s failed", path)
            return None
        for error in analysis.errors if analysis else ():
            self.report_once(error.splitlines()[0])
        return analysis

    def analyzed(self, analysis: Analysis) -> None:
        """After an analysis: move the millions of row objects it holds out of the
        collector's sight, or every later collection rescans them (seconds at 1M rows),
        and, in the background, prepare for edits and let go of file bytes."""
        gc.freeze()
        threading.Thread(target=_prepare, args=(analysis, self.session), name="labelsense-prepare", daemon=True).start()

    def report_once(self, message: str) -> None:
        """Log a problem and show it to the user once per distinct message."""
        log.error(message)
        if message in self._reported:
            return
        self._reported.add(message)
        self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"labelsense: {message}"))
        self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"labelsense: {message}"))

    def supports_pull(self) -> bool:
        caps = self.client_capabilities.text_document
        return bool(caps and caps.diagnostic)

    def supports_refresh(self) -> bool:
        ws = self.client_capabilities.workspace
        return bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)

    def schedule_refresh(self, delay: float = 0.05) -> None:
        """Recompute diagnostics soon (debounced); push them or ask pull clients to re-pull."""
        from .diagnostics import refresh_all

        task = self._pending.get(("all",))
        if task is not None and not task.done():
            task.cancel()

        async def later() -> None:
            await asyncio.sleep(delay)
            await refresh_all(self)

        self._pending[("all",)] = asyncio.ensure_future(later())


def _prepare(analysis: Analysis, session: Session | None) -> None:
    try:
        analysis.dataset.prepare_for_edits()
    except Exception:  # noqa: BLE001 - the first edit will try again and fall back if need be
        log.exception("preparing dataset '%s' for edits failed", analysis.spec.name)
    if session is not None:
        session.release_file_bytes()
    gc.freeze()
    heap.trim()


server = LabelsenseServer()
