"""Diagnostics from the server: pull or push per client profile, from the unsaved buffer."""
from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from .helpers import diagnostics, open_doc, wait_for


async def test_open_manifest_shows_conflicts_with_related_rows(client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    items = await wait_for(client, uri, lambda ds: any(d.code == "LS401" for d in ds))
    conflicts = [d for d in items if d.code == "LS401"]
    assert {d.range.start.line for d in conflicts} == {14, 17, 26}
    d = next(d for d in conflicts if d.range.start.line == 14)
    assert d.source == "labelsense" and d.severity == types.DiagnosticSeverity.Error
    assert d.code_description and "ls401-conflicting-labels" in d.code_description.href
    assert d.related_information and d.related_information[0].location.uri.endswith("/data/val.jsonl")
    assert d.related_information[0].location.range.start.line == 5
    assert any(d.code == "LS302" and list(d.tags or ()) == [types.DiagnosticTag.Deprecated] for d in items)


async def test_edit_updates_diagnostics_from_the_buffer(client, workspace: Path) -> None:
    path = workspace / "data" / "train.jsonl"
    uri = open_doc(client, path)
    await wait_for(client, uri, lambda ds: any(d.code == "LS301" and d.range.start.line == 11 for d in ds))
    line = path.read_text().split("\n")[11]
    col = line.index('"Persian"') + 1
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(11, col), types.Position(11, col + 1)), text="p")]))
    items = await wait_for(client, uri, lambda ds: not any(d.code == "LS301" and d.range.start.line == 11 for d in ds))
    assert not any(d.code == "LS301" and d.range.start.line == 11 for d in items)
    assert path.read_text().split("\n")[11] == line  # nothing written to disk
