"""Completion, hover, code actions, code lens and symbols."""
from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types

from .helpers import files_changed, open_doc, type_new_line, wait_for
from .test_navigation import pos_of


async def test_completion_of_class_names_in_a_label_being_typed(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: bool(ds))
    new = '{"id": "img_9", "image": "images/x.jpg", "label": "be'
    end = type_new_line(client, uri, train, new)
    result = await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(uri), end))
    labels = [i.label for i in result.items]
    assert {"bengal", "beagle", "labrador"} <= set(labels)
    bengal = next(i for i in result.items if i.label == "bengal")
    assert "cat" in bengal.detail and bengal.text_edit.new_text == "bengal"
    assert bengal.text_edit.range.start.character == len(new) - 2
    lab = next(i for i in result.items if i.label == "labrador")
    assert list(lab.tags or ()) == [types.CompletionItemTag.Deprecated]
    # sorted by use: a class used more often sorts before one used less often
    by_sort = sorted(result.items, key=lambda i: i.sort_text)
    assert by_sort.index(next(i for i in by_sort if i.label == "bengal")) < by_sort.index(next(i for i in by_sort if i.label == "rabbit"))


async def test_completion_of_field_names_from_the_row_schema(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: bool(ds))
    new = '{"id": "img_9", "ima'
    end = type_new_line(client, uri, train, new)
    result = await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(uri), end))
    schema = json.loads((workspace / "schemas" / "row.schema.json").read_text())
    assert {i.label for i in result.items} == set(schema["properties"])


async def test_hover_on_a_label_shows_the_class(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: bool(ds))
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos_of(train, 2, '"persian"')))
    text = hover.contents.value
    assert "persian" in text and "Persian cat; long coat, flat face\\." in text
    assert "`animal` › `cat` › `persian`" in text
    samples = sum(line.count('"label": "persian"') for name in ("train.jsonl", "val.jsonl", "test.jsonl") for line in (workspace / "data" / name).read_text().split("\n"))
    assert f"Samples: {samples}" in text


async def test_hover_on_a_diagnostic_shows_the_rule_doc(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS301" for d in ds))
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos_of(train, 11, '"Persian"')))
    assert "LS301 unknown-class" in hover.contents.value and "Why it matters" in hover.contents.value


async def test_hover_escapes_dataset_text(client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    tax.write_text(tax.read_text().replace("description: Pug.", 'description: "<img src=x onerror=alert(1)> [run](command:workbench.action.terminal.new) **bold**"'))
    files_changed(client, tax)
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    line = next(i for i, l in enumerate(train.read_text().split("\n")) if '"label": "pug"' in l)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos_of(train, line, '"pug"')))
    text = hover.contents.value
    assert "<img" not in text and "&lt;img" in text
    assert "](command:" not in text and "\\[run\\]\\(command:" in text
    assert "**bold**" not in text


async def test_code_actions_quick_fix_and_fix_all(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    await wait_for(client, uri, lambda ds: any(d.code == "LS302" for d in ds))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(16, 0), types.Position(16, 0)), types.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions]
    assert "Replace 'labrador' with 'labrador_retriever'" in titles
    fix = next(a for a in actions if a.title.startswith("Replace 'labrador'"))
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text == '"labrador_retriever"' and edit.range.start.line == 16
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(0, 0)),
        types.CodeActionContext(diagnostics=[], only=["source.fixAll.labelsense"])))
    assert [a.kind for a in actions] == ["source.fixAll.labelsense"]
    assert [e.new_text for e in actions[0].edit.changes[uri]] == ['"labrador_retriever"']
    # the typo gets a (not safe) quick fix to the suggestion
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(11, 0), types.Position(11, 5)), types.CodeActionContext(diagnostics=[])))
    assert "Replace with 'persian'" in [a.title for a in actions]


async def test_code_lens_and_symbols_on_the_taxonomy(client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    uri = open_doc(client, tax, "yaml")
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    by_line = {l.range.start.line: l.command.title for l in lenses}
    assert by_line[54] == "0 samples in 0 files"  # rabbit
    assert by_line[27].endswith("in 3 files") or by_line[27].endswith("files")  # persian
    cat = tax.read_text().split("\n").index("  cat:")
    direct, _, below = by_line[cat].partition(" · ")
    assert direct.startswith("0 samples") and below.endswith("with subclasses") and int(below.split()[0]) > 0, by_line[cat]
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(types.TextDocumentIdentifier(uri)))
    assert [s.name for s in symbols] == ["animal"]
    assert {c.name for c in symbols[0].children} == {"cat", "dog", "rodent", "pocket_pet"}
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="retriev"))
    assert {s.name for s in found} == {"golden_retriever", "labrador_retriever"}
    keys = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="img_00011"))
    assert {s.name for s in keys} >= {"img_000115", "img_000118"}
