"""Definition, references, rename: labels are references to taxonomy classes."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lsprotocol import types

from .helpers import files_changed, open_doc


def pos_of(path: Path, line: int, needle: str, offset: int = 1) -> types.Position:
    text = path.read_text("utf-8").split("\n")[line]
    return types.Position(line, text.index(needle) + offset)


async def test_definition_label_to_class_and_parent_to_parent(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    result = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), pos_of(train, 2, '"persian"')))
    assert len(result) == 1 and result[0].uri == (workspace / "taxonomy.yaml").as_uri()
    assert result[0].range.start == types.Position(27, 2)  # `persian:` declaration
    tax = workspace / "taxonomy.yaml"
    tax_uri = open_doc(client, tax, "yaml")
    result = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(tax_uri), pos_of(tax, 28, "cat")))
    assert result[0].range.start == types.Position(5, 2)  # `cat:` declaration
    # an alias resolves to its class
    result = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), pos_of(train, 16, '"labrador"')))
    assert result[0].range.start == types.Position(40, 2)


async def test_definition_key_goes_to_the_other_rows_of_the_sample(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    result = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), pos_of(train, 14, '"img_000115"')))
    assert [(Path(r.uri).name if False else r.uri.rsplit("/", 1)[-1], r.range.start.line) for r in result] == [("val.jsonl", 5)]


async def test_references_of_a_class_in_every_manifest_open_or_not_and_parquet(client, workspace: Path) -> None:
    pq.write_table(pa.table({"id": ["p1", "p2"], "label": ["bengal", "pug"]}), workspace / "data" / "extra.parquet")
    (workspace / "labelsense.toml").write_text((workspace / "labelsense.toml").read_text().replace('manifests = ["data/*.jsonl"]', 'manifests = ["data/*.jsonl", "data/*.parquet"]'))
    files_changed(client, workspace / "labelsense.toml")
    files_changed(client, workspace / "data" / "extra.parquet", created=True)
    tax = workspace / "taxonomy.yaml"
    uri = open_doc(client, tax, "yaml")
    result = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri), position=pos_of(tax, 21, "bengal"), context=types.ReferenceContext(include_declaration=False)))
    where = sorted((r.uri.rsplit("/", 1)[-1], r.range.start.line) for r in result)
    expected = []
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        for i, line in enumerate((workspace / "data" / name).read_text().split("\n")):
            if '"label": "bengal"' in line:
                expected.append((name, i))
    assert where == sorted(expected + [("extra.parquet", 0)])
    assert any(r.uri.startswith("labelsense-parquet:") for r in result)


async def test_rename_class_across_taxonomy_and_manifests(client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    uri = open_doc(client, tax, "yaml")
    position = pos_of(tax, 21, "bengal")
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(types.TextDocumentIdentifier(uri), position))
    assert prepared is not None
    edit = await client.text_document_rename_async(types.RenameParams(types.TextDocumentIdentifier(uri), position, "bengal_cat"))
    changes = edit.changes
    assert [e.new_text for e in changes[uri]] == ["bengal_cat"]
    manifest_edits = {u.rsplit("/", 1)[-1]: len(es) for u, es in changes.items() if u != uri}
    counts = {name: (workspace / "data" / name).read_text().count('"bengal"') for name in ("train.jsonl", "val.jsonl", "test.jsonl")}
    assert manifest_edits == {k: v for k, v in counts.items() if v}
    assert all(e.new_text == '"bengal_cat"' for u, es in changes.items() if u != uri for e in es)
    # the alias of a renamed class is left alone: renaming labrador_retriever does not touch 'labrador' rows
    edit = await client.text_document_rename_async(types.RenameParams(types.TextDocumentIdentifier(uri), pos_of(tax, 40, "labrador_retriever"), "labrador_dog"))
    assert all('"labrador"' not in (workspace / "data" / u.rsplit("/", 1)[-1]).read_text().split("\n")[e.range.start.line][e.range.start.character:e.range.end.character]
               for u, es in edit.changes.items() if u != uri for e in es)
