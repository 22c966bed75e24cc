"""Message bodies parsed with orjson become the same pygls objects as with the json module;
a pipe on stdin is widened."""
from __future__ import annotations

import fcntl
import json
import os
import sys

import pytest
from lsprotocol import types

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
def test_a_pipe_is_widened_and_other_files_left_alone(tmp_path) -> None:
    read, write = os.pipe()
    try:
        before = fcntl.fcntl(read, fcntl.F_GETPIPE_SZ)
        widen_pipe(read)
        with open("/proc/sys/fs/pipe-max-size") as f:
            most = int(f.read())
        assert fcntl.fcntl(read, fcntl.F_GETPIPE_SZ) == max(most, before)
    finally:
        os.close(read)
        os.close(write)
    with open(tmp_path / "f", "wb") as f:  # a file on stdin: nothing to widen, no error
        widen_pipe(f.fileno())
