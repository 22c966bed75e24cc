"""Parquet manifests: Hugging Face ClassLabel columns, list columns, and the same
findings as a JSONL copy of the same rows."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import pyarrow.parquet as pq

from labelsense.cli.formats import finding_dict
from labelsense.core import engine
from labelsense.core.rowschema import RowSchema

CONFIG = '[[dataset]]\nmanifests = ["data/*"]\ntaxonomy = "classes.txt"\n'


def hf_metadata(features: dict) -> dict[bytes, bytes]:
    return {b"huggingface": json.dumps({"info": {"features": features}}).encode()}


def test_class_label_integers_are_mapped_to_names(tree) -> None:
    root = tree({"labelsense.toml": CONFIG, "classes.txt": "cat\ndog\nbird\n"})
    (root / "data").mkdir()
    names = ["cat", "dog", "hamster"]
    features = {"id": {"dtype": "string", "_type": "Value"}, "label": {"names": names, "_type": "ClassLabel"}}
    table = pa.table({"id": ["a", "b", "c", "d"], "label": pa.array([0, 2, 1, 7], pa.int64())}).replace_schema_metadata(hf_metadata(features))
    pq.write_table(table, root / "data" / "train.parquet")
    report = engine.check([root])
    got = [(f.span.line, f.code, f.message) for f in report.findings if f.severity > 1]
    assert got == [(1, "LS301", "unknown class 'hamster' (not in classes.txt)"), (3, "LS301", "unknown class '<invalid class index>' (not in classes.txt)")]


def test_multi_label_class_label_lists(tree) -> None:
    root = tree({"labelsense.toml": CONFIG, "classes.txt": "cat\ndog\n"})
    (root / "data").mkdir()
    features = {"labels": {"feature": {"names": ["cat", "dog", "cow"], "_type": "ClassLabel"}, "_type": "Sequence"}}
    table = pa.table({"id": ["a", "b"], "labels": pa.array([[0, 1], [2]], pa.list_(pa.int32()))}).replace_schema_metadata(hf_metadata(features))
    pq.write_table(table, root / "data" / "train.parquet")
    report = engine.check([root])
    assert [(f.span.line, f.code) for f in report.findings if f.severity > 1] == [(1, "LS301")]


def test_jsonl_and_parquet_copies_give_the_same_findings(tree) -> None:
    rows = [
        {"id": "1", "label": "cat", "split": "train", "sha256": "a" * 64},
        {"id": "1", "label": "dog", "split": "train", "sha256": "b" * 64},
        {"id": "2", "label": "kitty", "split": "train", "sha256": "c" * 64},
        {"id": "3", "label": "dog", "split": "test", "sha256": "a" * 64},
        {"id": "4", "label": "cat", "split": "validation", "sha256": "d" * 64},
        {"id": "5", "label": "Cat", "split": "val", "sha256": "e" * 64},
        {"id": "5", "label": "Cat", "split": "val", "sha256": "e" * 64},
    ]
    schema = {"type": "object", "required": ["id", "label"], "properties": {"split": {"enum": ["train", "val", "test"]}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
    results = {}
    for kind in ("jsonl", "parquet"):
        root = tree({f"{kind}/labelsense.toml": CONFIG.replace("classes.txt", "taxonomy.yaml") + 'schema = "row.schema.json"\n',
                     f"{kind}/taxonomy.yaml": "classes:\n  cat: {aliases: [kitty]}\n  dog: {}\n",
                     f"{kind}/row.schema.json": json.dumps(schema)}) / kind
        (root / "data").mkdir()
        if kind == "jsonl":
            (root / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            pq.write_table(pa.Table.from_pylist(rows), root / "data" / "train.parquet")
        report = engine.check([root])
        results[kind] = sorted((d["line"], d["code"], d["message"].replace("train.jsonl", "train.FILE").replace("train.parquet", "train.FILE")) for d in map(finding_dict, report.findings))
    assert results["jsonl"] == results["parquet"]
    assert {code for _, code, _ in results["jsonl"]} >= {"LS201", "LS301", "LS302", "LS401", "LS402", "LS403", "LS404"}


SHAPES = [  # (property schema, Arrow column): the columnar check must agree with a row-by-row one
    ({"type": "string", "minLength": 2, "maxLength": 3}, pa.array(["a", "ab", None, "abcd", "é€x", "é€xy"])),
    ({"type": "string", "enum": ["train", "val"]}, pa.array(["train", "dev", None, "val", "Train", "x"])),
    ({"enum": ["train", "val", 3, None]}, pa.array(["train", "dev", None, "val", "3", "x"])),  # no type: string keywords still apply
    ({"minLength": 2, "pattern": "^[a-z]+$"}, pa.array(["a", "ab", None, "aB", "abc", "é"])),
    ({"enum": ["a", 1]}, pa.array([1, 2, None, 1, 3, 1])),  # no type, not strings: every value checked
    ({"type": "string", "pattern": "^[0-9a-f]{4}$"}, pa.array(["00ff", "00FF", None, "0ff", "abcd", "zzzz"])),
    ({"type": "string", "pattern": "^img_\\d+\\.jpg$", "minLength": 9}, pa.array(["img_1.jpg", "img_x.jpg", None, "img_12.jpg\n", "IMG_1.jpg", "img_1.jpgx"])),
    ({"type": "string", "pattern": "a.c", "maxLength": 5}, pa.array(["abc", "a\rc", None, "a\nc", "abcdef", "a\u2028c"])),
    ({"type": "string", "pattern": "(a)\\1"}, pa.array(["aa", "ab", None, "xaax", "", "a"])),
    ({"type": "string", "pattern": "^[[:alpha:]]+$"}, pa.array(["abc", "a]", None, "[:a]", "", "9"])),  # POSIX class to RE2, not to ECMA-262
    ({"type": "string", "pattern": "^a{ 2}$"}, pa.array(["a{ 2}", "aa", None, "a", "", "a{2}"])),  # a count to ECMA-262, text to RE2
    ({"type": "integer", "minimum": 0}, pa.array([1, -1, None, 0, 5, -7])),
    ({"type": "string"}, pa.array([1, 2, None, 3, 4, 5])),
    ({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
     pa.array([[1, 2, 3, 4], [1, 2], None, [1.5, 2, 3, 4, 5], [], [0, 0, 0, 0]], pa.list_(pa.float64()))),
    ({"type": "array", "items": {"type": "integer"}, "maxItems": 2}, pa.array([[1.0], [1.5, 2.0], None, [1.0, 2.0, 3.0], [], [2.5]], pa.list_(pa.float64()))),
    ({"type": "array", "items": {"type": "string"}, "minItems": 1}, pa.array([["a"], [], None, ["b", "c"], [], ["d"]], pa.list_(pa.string()))),
    ({"type": "array", "items": {"type": "string", "minLength": 2}}, pa.array([["ab"], ["a"], None, ["bc", "c"], [], ["de"]], pa.list_(pa.string()))),
    ({"type": "string", "minLength": 1}, pa.array([None, None, None, None, None, None], pa.string())),
    ({"type": "array", "items": {"type": "number"}, "minItems": 1},
     pa.array([[float("-inf")], [], None, [1.0], [float("inf"), 2.0], [3.0]], pa.list_(pa.float64()))),
]


@pytest.mark.parametrize("chunk", [None, 2, "dictionary"], ids=["one chunk", "chunks of 2", "dictionary chunks of 2"])
@pytest.mark.parametrize("sub, column", SHAPES, ids=[json.dumps(s) for s, _ in SHAPES])
def test_columnar_schema_check_agrees_with_rows(tmp_path, sub, column, chunk) -> None:
    table = pa.table({"id": ["a", "b", "c", "d", "e", "f"], "v": column})
    if chunk:  # as Parquet row groups and Arrow's JSON blocks come
        table = pa.Table.from_batches(table.to_batches(max_chunksize=2))
        assert table.column("v").num_chunks == 3
    if chunk == "dictionary":  # as Parquet's string columns are read for labels and splits: each chunk its own dictionary
        if not pa.types.is_string(column.type):
            pytest.skip("only string columns are read as dictionaries")
        coded = pa.chunked_array([c.dictionary_encode() for c in table.column("v").chunks])
        table = table.set_column(1, "v", coded)
    path = tmp_path / "row.schema.json"
    path.write_text(json.dumps({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "v": sub}}))
    schema = RowSchema.load(path)
    expected = {}
    for i, row in enumerate(table.to_pylist()):
        errors = schema.errors({k: v for k, v in row.items() if v is not None})
        if errors:
            expected[i] = errors
    assert schema.table_errors(table) == expected


UNSPLIT = [  # (row schema, column "v"): schemas whose properties cannot be checked one by one
    ({"type": "object", "properties": {"label": {"type": "string", "minLength": 2}, "v": {"$ref": "#/properties/label"}}},
     pa.array(["a", None, "bc"])),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"v": {"type": "array", "items": [{"type": "string"}]}}},
     pa.array([[1], [2, 3], None])),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": {"v": {"type": "integer", "maximum": 3, "exclusiveMaximum": True}}},
     pa.array([3, 2, None])),
    ({"type": "object", "additionalProperties": {"type": "string"}, "properties": {"v": {"$ref": "#"}}},
     pa.array([{"a": 1}, None, {"a": 2}])),
]


@pytest.mark.parametrize("schema, column", UNSPLIT, ids=["ref into properties", "draft-07 tuple items", "draft-04 exclusiveMaximum", "ref to the root"])
def test_schemas_the_column_path_cannot_split_are_checked_by_row(tmp_path, schema, column) -> None:
    table = pa.table({"label": ["xy", "yz", "zz"], "v": column})
    path = tmp_path / "row.schema.json"
    path.write_text(json.dumps(schema))
    rs = RowSchema.load(path)
    assert rs.usable, rs.problems
    expected = {i: rs.errors({k: v for k, v in row.items() if v is not None}) for i, row in enumerate(table.to_pylist())}
    assert rs.table_errors(table) == {i: e for i, e in expected.items() if e}


def test_a_parquet_files_schema_screen_is_taken_when_its_failures_are_first_wanted(tmp_path) -> None:
    from labelsense.core.config import default_config
    from labelsense.core.parquet import read_parquet

    (tmp_path / "row.schema.json").write_text(json.dumps({"type": "object", "properties": {"split": {"enum": ["train", "test"]}}}))
    pq.write_table(pa.table({"id": ["a", "b", "c"], "label": ["x", "y", "z"], "split": ["train", "dev", "oops"]}), tmp_path / "m.parquet")
    spec = default_config(tmp_path).datasets[0]
    m = read_parquet(tmp_path / "m.parquet", spec, RowSchema.load(tmp_path / "row.schema.json"))
    assert m.screen is not None  # still running, or done and not yet taken
    assert [row for row, _ in m.subset([2], {2}).schema_failures] == [0]  # a subset settles first (row 2 is its row 0)
    assert m.screen is None and [row for row, _ in m.schema_failures] == [1, 2]
    m.settle()
    assert [row for row, _ in m.schema_failures] == [1, 2]  # taken once


def test_only_the_columns_a_rule_or_the_row_schema_reads_are_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labelsense.core import parquet
    from labelsense.core.config import default_config

    schema = {"type": "object", "required": ["id"], "properties": {
        "caption": {"type": "string", "description": "any string will do"},  # proved by the column's type
        "score": {"type": "string"},  # not by an integer column: read, and every row breaks it
        "split": {"enum": ["train", "test"]}}}
    (tmp_path / "row.schema.json").write_text(json.dumps(schema))
    pq.write_table(pa.table({"id": ["a", "b"], "label": ["x", "y"], "caption": ["c", None], "score": [1, 2], "split": ["train", "dev"],
                             "pixels": [b"\x00" * 10, b"\x01"]}), tmp_path / "m.parquet")
    asked: list[tuple] = []
    real = pq.read_table
    monkeypatch.setattr(parquet.pq, "read_table", lambda path, columns=None, read_dictionary=None, **options: asked.append((columns, read_dictionary))
                        or real(path, columns=columns, read_dictionary=read_dictionary, **options))
    m = parquet.read_parquet(tmp_path / "m.parquet", default_config(tmp_path).datasets[0], RowSchema.load(tmp_path / "row.schema.json"))
    assert asked == [(["id", "label", "score", "split"], ["label", "split"])]  # labels and splits as the file numbers them
    assert m.column_names == ("id", "label", "caption", "score", "split", "pixels")
    m.settle()
    assert [(row, [path for path, _ in errors]) for row, errors in m.schema_failures] == [(0, [["score"]]), (1, [["score"], ["split"]])]
    assert list(m.labels) == ["x", "y"] and m.splits[1] == "dev"


def test_unsigned_dictionary_labels_nan_numbers_class_label_integers_and_invalid_text(tmp_path) -> None:
    """Shapes a Parquet file may take: labels numbered with unsigned indices (read like any
    other), a float column under `type: number` with a NaN and a ClassLabel column under
    `type: integer` (both read and checked, not proved by their Arrow type), and a string
    column that is not UTF-8 (the file reported unreadable, the run going on)."""
    (tmp_path / "labelsense.toml").write_text('[[dataset]]\nmanifests = ["data/*.parquet"]\nschema = "row.schema.json"\n')
    (tmp_path / "row.schema.json").write_text(json.dumps({"type": "object", "properties": {"score": {"type": "number"}, "kind": {"type": "integer"}}}))
    (tmp_path / "data").mkdir()
    labels = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.uint8()), pa.array(["cat", "dog"]))
    table = pa.table({"id": ["a", "a", "b", "b"], "label": labels, "score": [1.0, float("nan"), 2.0, 3.0], "kind": pa.array([0, 1, 0, 1], pa.int64())})
    pq.write_table(table.replace_schema_metadata(hf_metadata({"kind": {"_type": "ClassLabel", "names": ["x", "y"]}})), tmp_path / "data" / "u8.parquet")
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(np.array([0, 2, 4], np.int32).tobytes()), pa.py_buffer(b"ok\xff\xfe")])
    pq.write_table(pa.table({"id": bad, "label": ["cat", "dog"]}), tmp_path / "data" / "bad.parquet")
    report = engine.check([tmp_path])
    assert not report.errors, report.errors
    found = sorted((f.path.rsplit("/", 1)[-1], f.code, f.span.line, f.message.split(":")[0]) for f in report.findings)
    assert ("bad.parquet", "LS105", 0, "cannot read Parquet file") in found
    by_code = sorted((code, line) for name, code, line, _ in found if name == "u8.parquet")
    assert by_code == [("LS201", 0), ("LS201", 1), ("LS201", 1), ("LS201", 2), ("LS201", 3), ("LS203", 2)] + [("LS401", i) for i in range(4)]
