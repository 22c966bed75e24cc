"""Bad input to the server: no crash, a clear log line, correct state afterwards."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types

from .helpers import open_doc, wait_for


async def still_serves(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    line = train.read_text().split("\n")[2]
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(2, line.index('"persian"') + 1)))
    assert "Persian cat" in hover.contents.value


async def test_malformed_and_out_of_range_params(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    # positions past the end of the line and of the file
    assert await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(99999, 5))) is None
    await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), types.Position(2, 10_000)))
    # a document the server has never seen, and a non-file URI
    assert await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier("file:///nowhere/x.jsonl"), types.Position(0, 0))) is None
    assert await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier("untitled:Untitled-1"), types.Position(0, 0))) is None
    with pytest.raises(Exception):
        await client.protocol.send_request_async("labelsense/render", {"uri": 42})
    await still_serves(client, workspace)


async def test_unknown_document_backwards_versions_and_overlapping_edits(client, workspace: Path) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=3, uri="file:///nowhere/ghost.jsonl"),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="{}")]))
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    # a version that goes backwards, then two overlapping / out-of-range edits
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=0, uri=uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="")]))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=5, uri=uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(5, 0), types.Position(2, 0)), text="x"),
                         types.TextDocumentContentChangePartial(range=types.Range(types.Position(10_000, 0), types.Position(10_001, 0)), text="y")]))
    # the document is unchanged and diagnostics still match the file
    items = await wait_for(client, uri, lambda ds: any(d.code == "LS401" for d in ds))
    assert {d.range.start.line for d in items if d.code == "LS401"} == {14, 17, 26}
    await still_serves(client, workspace)


async def test_requests_during_indexing_and_a_manifest_deleted_while_open(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await still_serves(client, workspace)  # answered even if indexing has not finished
    val = workspace / "data" / "val.jsonl"
    val_uri = open_doc(client, val)
    val.unlink()
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(val_uri, types.FileChangeType.Deleted)]))
    await asyncio.sleep(0.3)
    # the open buffer still counts (the user may save it again); closing it drops it
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(val_uri)))
    items = await wait_for(client, uri, lambda ds: not any(d.code == "LS401" and d.range.start.line == 14 for d in ds))
    assert not any(d.code == "LS401" and d.range.start.line == 14 for d in items)  # its conflict partner is gone
    await still_serves(client, workspace)


async def test_server_survives_bad_files_in_the_workspace(client, workspace: Path) -> None:
    (workspace / "data" / "bin.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(200)))
    (workspace / "data" / "utf8.jsonl").write_bytes(b'{"id": "u", "label": "caf\xe9"}\n')
    bad = open_doc(client, workspace / "data" / "utf8.jsonl") if False else (workspace / "data" / "utf8.jsonl").as_uri()
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([
        types.FileEvent((workspace / "data" / "bin.jsonl").as_uri(), types.FileChangeType.Created),
        types.FileEvent(bad, types.FileChangeType.Created)]))
    await still_serves(client, workspace)


class RawClient:
    """Speaks JSON-RPC over a server's stdio byte for byte, to send what typed clients refuse to."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "labelsense", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while (line := self.proc.stdout.readline().strip()):
            if line.lower().startswith(b"content-length"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def reply_to(self, request_id: int) -> dict:
        while True:
            message = self.receive()
            if message.get("id") == request_id and "method" not in message:
                return message

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def test_malformed_json_rpc_params_get_errors_not_a_crash(workspace: Path) -> None:
    raw = RawClient(workspace)
    try:
        raw.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}})
        assert "capabilities" in raw.reply_to(1)["result"]
        raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        raw.send({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"textDocument": 5, "position": "top"}})
        assert "error" in raw.reply_to(2)
        raw.send({"jsonrpc": "2.0", "id": 3, "method": "textDocument/definition", "params": {"textDocument": {"uri": (workspace / "taxonomy.yaml").as_uri()}, "position": {"line": -4, "character": -1}}})
        assert "error" in raw.reply_to(3)  # negative positions are not valid LSP
        raw.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "file:///x.jsonl"}}})  # missing fields
        raw.send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
        assert raw.reply_to(4).get("result", "missing") is None
        raw.send({"jsonrpc": "2.0", "method": "exit"})
        assert raw.proc.wait(timeout=20) == 0
    finally:
        raw.stop()


def test_client_that_exits_without_shutdown(workspace: Path) -> None:
    """Closing stdin without shutdown/exit ends the server process promptly."""
    proc = subprocess.Popen([sys.executable, "-m", "labelsense", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workspace)
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {}}})
        proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
        proc.stdin.flush()
        header = proc.stdout.readline()
        assert header.startswith(b"Content-Length")
        proc.stdin.close()
        assert proc.wait(timeout=20) is not None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("profile", ["neovim"])
def test_workspace_with_10000_small_manifests(tmp_path: Path, profile: str) -> None:
    """10 000 manifests in one dataset: indexed, diagnosed, and the server keeps answering."""
    root = tmp_path / "many"
    (root / "data").mkdir(parents=True)
    (root / "labelsense.toml").write_text('[[dataset]]\nname = "many"\nmanifests = ["data/*.jsonl"]\ntaxonomy = "classes.txt"\n')
    (root / "classes.txt").write_text("cat\ndog\n")
    for i in range(10_000):
        (root / "data" / f"part-{i:05d}.jsonl").write_text(f'{{"id": "s{i}", "label": "{"cat" if i % 2 else "dog"}"}}\n')
    (root / "data" / "part-09999.jsonl").write_text('{"id": "s1", "label": "dgo"}\n')
    raw = RawClient(root)
    try:
        raw.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}})
        raw.reply_to(1)
        raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        target = (root / "data" / "part-09999.jsonl").as_uri()
        found = None
        deadline = time.monotonic() + 120
        while found is None and time.monotonic() < deadline:  # push diagnostics: this client did not announce pull support
            message = raw.receive()
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == target:
                found = message["params"]["diagnostics"]
        assert {d["code"] for d in found} == {"LS301", "LS401"}
        raw.send({"jsonrpc": "2.0", "id": 2, "method": "workspace/symbol", "params": {"query": "s9998"}})
        assert [s["name"] for s in raw.reply_to(2)["result"]] == ["s9998"]
    finally:
        raw.stop()
