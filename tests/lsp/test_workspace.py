"""Workspace behaviour: config and taxonomy diagnostics, taxonomy edits re-diagnosing
manifests, files changed on disk, settings, Parquet views, UTF-16 columns."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lsprotocol import types

from .helpers import diagnostics, files_changed, open_doc, wait_for
from .test_navigation import pos_of


async def test_editing_the_taxonomy_rediagnoses_manifests(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS301" and d.range.start.line == 23 for d in ds))  # 'hedgehog'
    tax = workspace / "taxonomy.yaml"
    tax_uri = open_doc(client, tax, "yaml")
    n = len(tax.read_text().split("\n")) - 1
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=2, uri=tax_uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(57, 0), types.Position(57, 0)),
                                                                text="  hedgehog:\n    parent: pocket_pet\n")]))
    items = await wait_for(client, uri, lambda ds: not any(d.code == "LS301" and d.range.start.line == 23 for d in ds))
    assert not any(d.code == "LS301" and d.range.start.line == 23 for d in items)
    assert len(tax.read_text().split("\n")) - 1 == n  # the buffer, not the file


async def test_taxonomy_and_config_get_their_own_diagnostics(client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    tax_uri = open_doc(client, tax, "yaml")
    items = await wait_for(client, tax_uri, lambda ds: any(d.code == "LS312" for d in ds))
    unused = [d for d in items if d.code == "LS312"]
    assert [d.range.start.line for d in unused] == [54] and list(unused[0].tags or ()) == [types.DiagnosticTag.Unnecessary]
    config = workspace / "labelsense.toml"
    config.write_text(config.read_text().replace("taxonomy = ", "taxonmy = "))
    cfg_uri = open_doc(client, config, "toml")
    items = await wait_for(client, cfg_uri, lambda ds: bool(ds))
    assert len(items) == 1 and "taxonmy" in items[0].message and "did you mean 'taxonomy'" in items[0].message
    assert config.read_text().split("\n")[items[0].range.start.line].startswith("taxonmy")


async def test_files_changed_on_disk_are_reindexed(client, workspace: Path) -> None:
    val = workspace / "data" / "val.jsonl"
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS401" and d.range.start.line == 14 for d in ds))
    val.write_text(val.read_text().replace('"label": "abyssinian"', '"label": "bengal"'))  # a `git pull` resolves the conflict
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(val.as_uri(), types.FileChangeType.Changed)]))
    items = await wait_for(client, uri, lambda ds: not any(d.code == "LS401" and d.range.start.line == 14 for d in ds))
    assert not any(d.code == "LS401" and d.range.start.line == 14 for d in items)
    if client.registrations:
        assert client.registrations[0].method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES


async def test_settings_select_and_invalid_settings_message(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS301" for d in ds))
    client.set_configuration({"select": ["LS4"], "maxDiagnosticsPerFile": "lots", "colour": True}, section="labelsense")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    items = await wait_for(client, uri, lambda ds: ds and all(d.code.startswith("LS4") for d in ds if d.code))
    assert items and all(str(d.code).startswith("LS4") for d in items)
    for _ in range(100):
        if len(client.messages) >= 2:
            break
        await asyncio.sleep(0.05)
    texts = " ".join(m.message for m in client.messages)
    assert "maxDiagnosticsPerFile must be a positive integer" in texts and "unknown labelsense setting 'colour'" in texts


async def test_diagnostics_are_capped_per_file(client, workspace: Path) -> None:
    client.set_configuration({"maxDiagnosticsPerFile": 3}, section="labelsense")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    items = await wait_for(client, uri, lambda ds: len(ds) == 4)
    assert len(items) == 4 and "more labelsense finding(s) in this file not shown" in items[-1].message


async def test_parquet_diagnostics_render_and_view(client, workspace: Path) -> None:
    (workspace / "labelsense.toml").write_text((workspace / "labelsense.toml").read_text().replace('manifests = ["data/*.jsonl"]', 'manifests = ["data/*.jsonl", "data/*.parquet"]'))
    path = workspace / "data" / "extra.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "label": ["bengal", "Pug", "pug"]}), path)
    files_changed(client, workspace / "labelsense.toml")
    files_changed(client, path, created=True)
    uri = path.as_uri()
    items = await diagnostics(client, uri)
    if not items:  # push clients get Parquet diagnostics with the rest
        items = await wait_for(client, uri, lambda ds: bool(ds))
    assert [(d.range.start.line, d.code) for d in items if d.code == "LS301"] == [(1, "LS301")]
    result = await client.protocol.send_request_async("labelsense/render", {"uri": uri, "start": 0, "count": 10})
    assert result.text.split("\n")[1] == '{"id":"p2","label":"Pug"}' and result.totalRows == 3
    whole = await client.protocol.send_request_async("labelsense/render", {"uri": uri})  # start and count are optional
    assert whole.text == result.text and whole.totalRows == 3
    view = result.viewUri
    assert view.startswith("labelsense-parquet:")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(view, "jsonl", 1, result.text)))
    items = await wait_for(client, view, lambda ds: any(d.code == "LS301" for d in ds))
    assert [(d.range.start.line, d.code) for d in items if d.code == "LS301"] == [(1, "LS301")]
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(view), types.Position(0, 24)))
    assert "Bengal cat" in hover.contents.value
    definition = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(view), types.Position(0, 24)))
    assert definition[0].uri.endswith("taxonomy.yaml") and definition[0].range.start.line == 21


async def test_utf16_columns_after_non_bmp_characters(client, workspace: Path) -> None:
    path = workspace / "data" / "emoji.jsonl"
    path.write_text('{"id": "e1", "note": "🐱🐶", "label": "Bengal"}\n', encoding="utf-8")
    uri = open_doc(client, path)
    items = await wait_for(client, uri, lambda ds: any(d.code == "LS301" for d in ds))
    d = next(d for d in items if d.code == "LS301")
    text = path.read_text("utf-8")
    chars = text.index('"Bengal"')
    extra = {"utf-16": 2, "utf-8": 6, "utf-32": 0}[client.encoding]  # 🐱🐶: 2 extra UTF-16 units, 6 extra UTF-8 bytes
    assert d.range.start.character == chars + extra
    assert d.range.end.character == chars + extra + len('"Bengal"')
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, chars + extra + 2)))
    assert "unknown class" in hover.contents.value


async def test_unsaved_config_edits_rediagnose_the_workspace(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS401" for d in ds))
    config = workspace / "labelsense.toml"
    cfg_uri = open_doc(client, config, "toml")
    text = config.read_text()
    lines = text.split("\n")
    n = next(i for i, l in enumerate(lines) if l.startswith("[rules]"))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=2, uri=cfg_uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(n + 1, 0), types.Position(n + 1, 0)), text='ignore = ["LS401"]\n')]))
    items = await wait_for(client, uri, lambda ds: ds and not any(d.code == "LS401" for d in ds))
    assert items and not any(d.code == "LS401" for d in items)
    assert config.read_text() == text
