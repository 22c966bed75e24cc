"""Message bodies parsed with orjson become the same pygls objects as with the json module;
a pipe on stdin is widened."""
from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from lsprotocol import types
from pygls.io_ import StdinAsyncReader

from labelsense.core import turns
from labelsense.lsp import transport
from labelsense.lsp.server import server
from labelsense.lsp.transport import parse, widen_pipe


def reference(body: bytes):
    return json.loads(body, object_hook=server.protocol.structure_message)


BODIES = [
    {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "file:///w/a.jsonl", "languageId": "jsonl", "version": 1, "text": '{"id": "é😀", "label": "cat"}\n'}}},
    {"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {"textDocument": {"uri": "file:///w/a.jsonl"}, "position": {"line": 0, "character": 3}}},
    {"jsonrpc": "2.0", "id": 8, "result": [{"labelsense": {"maxDiagnosticsPerFile": 10}}]},
]


@pytest.mark.parametrize("message", BODIES, ids=["notification", "request", "response"])
def test_same_objects_as_pygls(message) -> None:
    body = json.dumps(message, ensure_ascii=False).encode()
    assert parse(body, server.protocol) == reference(body)


def test_bodies_orjson_refuses_are_parsed_as_before() -> None:
    body = b'{"jsonrpc": "2.0", "method": "$/x", "params": {"v": NaN, "s": "\\ud800"}}'
    assert repr(parse(body, server.protocol)) == repr(reference(body))


def test_invalid_json_still_raises() -> None:
    with pytest.raises(ValueError):
        parse(b'{"jsonrpc": "2.0", "method"', server.protocol)


def test_did_open_params_are_structured() -> None:
    message = parse(json.dumps(BODIES[0]).encode(), server.protocol)
    assert isinstance(message.params, types.DidOpenTextDocumentParams)
    assert message.params.text_document.text.startswith('{"id"')


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are a Linux feature")
def test_a_pipe_is_widened_never_narrowed_and_other_streams_left_alone(tmp_path, monkeypatch) -> None:
    with open("/proc/sys/fs/pipe-max-size") as f:
        most = int(f.read())
    read, write = os.pipe()
    try:
        try:
            fcntl.fcntl(read, fcntl.F_SETPIPE_SZ, most)
        except PermissionError:  # this user's pipe pages are used up: the server keeps the default
            pytest.skip("the system refuses larger pipes to this user")
        fcntl.fcntl(read, fcntl.F_SETPIPE_SZ, 4096)
        with open(read, "rb", closefd=False) as stream:
            widen_pipe(stream)
            assert fcntl.fcntl(read, fcntl.F_GETPIPE_SZ) == most
            sizes = {"now": 2 * most}  # a pipe larger than the maximum (a privileged process may make one): kept
            fake = lambda fd, op, arg=0: sizes["now"] if op == fcntl.F_GETPIPE_SZ else sizes.update(now=arg)  # noqa: E731
            monkeypatch.setattr(transport, "fcntl", SimpleNamespace(fcntl=fake, F_GETPIPE_SZ=fcntl.F_GETPIPE_SZ, F_SETPIPE_SZ=fcntl.F_SETPIPE_SZ))
            widen_pipe(stream)
            assert sizes["now"] == 2 * most
    finally:
        os.close(read)
        os.close(write)
    with open(tmp_path / "f", "wb") as f:  # a file on stdin: nothing to widen, no error
        widen_pipe(f)
    widen_pipe(io.BytesIO())  # no descriptor at all


def test_a_large_message_is_read_while_an_analysis_waits_for_its_turn(monkeypatch) -> None:
    """The transport holds a large message's turn while it reads the body; an analysis waiting for
    that turn on the server's pool must not keep the body from being read (on its own thread)."""
    monkeypatch.setattr(turns, "LARGE", 64)
    pool = ThreadPoolExecutor(1)  # the server's pool, which the analysis below fills
    analysed = threading.Event()

    def analysis() -> None:
        with turns.TURNS.turn(64):
            analysed.set()

    real_take = turns.TURNS.take

    def take(size: int, timeout: float | None = None) -> bool:
        taken = real_take(size, timeout)
        pool.submit(analysis)  # the pool's only thread now waits for the turn the transport holds
        time.sleep(0.1)
        return taken

    monkeypatch.setattr(turns.TURNS, "take", take)
    handled: list[str] = []

    class Protocol:
        def structure_message(self, data):  # noqa: ANN001, ANN201
            return data

        def handle_message(self, message) -> None:  # noqa: ANN001
            handled.append(message["method"])

    def frame(message: dict) -> bytes:
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    stdin = io.BytesIO(frame({"jsonrpc": "2.0", "method": "$/big", "params": {"t": "x" * 200}}) + frame({"jsonrpc": "2.0", "method": "$/small"}))
    reader = StdinAsyncReader(stdin, ThreadPoolExecutor(1))  # as the server makes it
    asyncio.run(asyncio.wait_for(transport.read_messages(threading.Event(), reader, Protocol(), lambda *a: None), 10))
    assert handled == ["$/big", "$/small"]
    assert analysed.wait(10)  # the turn was given back
    pool.shutdown()


def test_a_turn_taken_after_its_read_was_cancelled_is_given_back(monkeypatch) -> None:
    monkeypatch.setattr(turns, "TURNS", turns.Turns())
    assert turns.TURNS.take(turns.LARGE)  # a manifest read holds the turn
    reader = StdinAsyncReader(io.BytesIO(), ThreadPoolExecutor(1))

    async def cancelled() -> None:
        waiting = asyncio.ensure_future(transport._take_turn(reader, turns.LARGE))
        await asyncio.sleep(0.1)
        waiting.cancel()  # the server stops reading (shutdown) while this message waits
        try:
            await waiting
        except asyncio.CancelledError:
            pass

    asyncio.run(cancelled())
    turns.TURNS.give_back()  # the read ends: the waiting thread takes the turn, then must give it back
    reader.executor.shutdown(wait=True)
    assert turns.TURNS.take(turns.LARGE, timeout=1)
