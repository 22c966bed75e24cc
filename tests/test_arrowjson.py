"""JSONL read whole by Arrow (arrowjson.py) against the line reader: the same rows,
values, problems and row-schema failures, or the line reader decides."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from labelsense.core import arrowjson, engine, jsonl
from labelsense.core.config import DatasetConfig
from labelsense.core.jsonl import ROLE_ATTRS, read_jsonl
from labelsense.core.rowschema import RowSchema

REPO = Path(__file__).resolve().parents[1]

SCHEMA = {
    "type": "object", "required": ["id", "label"], "additionalProperties": False,
    "properties": {
        "id": {"type": ["string", "integer"]}, "label": {"type": ["string", "array", "boolean"]}, "split": {"enum": ["train", "val", "test"]},
        "annotator": {"type": "string"}, "score": {"type": "integer", "maximum": 10}, "note": {"type": ["string", "null"]},
        "taken": {"type": "string", "pattern": "^2020-"}, "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}

BOTH, NO_BOXES, NEVER = {False, True}, {False}, set()
# name -> (lines, the values of with_boxes for which Arrow may read them; else the line reader decides)
CASES: dict[str, tuple[list[str], set[bool]]] = {
    "plain": (['{"id":"a","label":"cat","split":"train","sha256":"' + "a" * 64 + '"}', '{"id":"b","label":"dog","split":"training"}'], BOTH),
    "schema failures": (['{"id":"a","label":"cat","bbox":[1,2,3]}', '{"id":"b","label":"dog","sha256":"' + "A" * 64 + '"}', '{"id":"c"}',
                         '{"id":"d","label":"x","extra":1}'], BOTH),
    "absent fields": (['{"id":"a","label":"cat"}', '{"id":"b","label":"dog","annotator":"ann1"}', '{"id":"c","bbox":[1,2,3,4]}'], BOTH),
    "integer keys": (['{"id":1,"label":"cat"}', '{"id":1,"label":"dog"}'], BOTH),
    "string and integer keys": (['{"id":"a","label":"cat"}', '{"id":1,"label":"dog"}'], NEVER),
    "null written out": (['{"id":"a","label":"cat","annotator":null}', '{"id":"b","label":null}', '{"id":"c","label":"x","note":null}',
                          '{"id":"d","label":"x","split":null}'], BOTH),
    "a field null at first, then text, in both halves": ([f'{{"id":"a{i}","label":"cat","note":{v}}}' for i, v in enumerate(['null', 'null', '"ab"', '"cd"'] * 2)], BOTH),
    "ints widened to floats": (['{"id":"a","label":"cat","score":3}', '{"id":"b","label":"cat","score":12}', '{"id":"c","label":"cat","score":2.5}'], BOTH),
    "float key": (['{"id":1.5,"label":"cat"}', '{"id":2,"label":"cat"}'], NEVER),
    "integer beyond int64": (['{"id":"a","label":"cat","score":123456789012345678901234}'], NEVER),
    "NaN": (['{"id":"a","label":"cat","score":NaN}'], NEVER),
    "Infinity in a list": (['{"id":"a","label":"cat","bbox":[1,2,3,Infinity]}'], NEVER),
    "timestamps stay text": (['{"id":"a","label":"2020-01-01","taken":"2020-01-01T00:00:00"}', '{"id":"b","label":"cat","taken":"2019-05-05"}'], BOTH),
    "nested object": (['{"id":"a","label":"cat","meta":{"x":1}}', '{"id":"b","label":"cat","meta":{}}'], NEVER),
    "multi-label and booleans": (['{"id":"a","label":["cat","dog"]}', '{"id":"b","label":["cat",null]}', '{"id":"c","label":true}'], NEVER),
    "lists": (['{"id":"a","label":["cat","dog"]}', '{"id":"b","label":["cat"],"bbox":[1,2,3,4]}', '{"id":"c","label":[]}', '{"id":"d","label":["x"],"bbox":[1,2,3]}'], BOTH),
    "float boxes": (['{"id":"a","label":"cat","bbox":[1.5,2,3,4]}', '{"id":"b","label":"cat","bbox":[1,2,3]}'], NO_BOXES),
    "unicode": (['{"id":"a","label":"caf\\u00e9 \\ud83d\\ude00 \\"q\\"","note":"\U0001F600 naïve"}', '{"id":"b","label":"\\u0000"}'], BOTH),
    "CRLF": (['{"id":"a","label":"cat"}\r', '{"id":"b","label":"dog"}\r'], BOTH),
    "blank line": (['{"id":"a","label":"cat"}', '', '{"id":"b","label":"dog"}'], NEVER),
    "two objects on a line, one split over two": (['{"id":"a","label":"cat"}{"id":"x","label":"y"}', '{"id":"b",', '"label":"dog"}'], NEVER),
    "invalid JSON": (['{"id":"a","label":"cat"}', '{"id":"b","label":"dog",}', '{"id":"c","label":"cat"'], NEVER),
    "duplicate field": (['{"id":"a","label":"cat","label":"dog"}'], NEVER),
    "not an object": (['{"id":"a","label":"cat"}', '["id","b"]'], NEVER),
    "leading space": ([' {"id":"a","label":"cat"}'], NEVER),
    "lone surrogate": (['{"id":"a","label":"\\ud800"}'], NEVER),
    "lists 30 deep": (['{"id":"a","label":"cat","v":' + "[" * 30 + "]" * 30 + '}', '{"id":"b","label":"dog"}'], BOTH),
    "lists a thousand deep": (['{"id":"a","label":"cat","v":' + "[" * 1000 + "]" * 1000 + '}', '{"id":"b","label":"dog"}'], NEVER),
    "nested deeper than the readers go": (['{"id":"a","label":"cat","v":' + "[" * 1100 + "]" * 1100 + '}', '{"id":"b","label":"dog"}'], NEVER),
}


def _read(path: Path, schema: RowSchema | None, with_boxes: bool, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(jsonl, "ARROW_MIN", 0 if fast else sys.maxsize)
    m = read_jsonl(path, DatasetConfig(name="d", manifests=["*.jsonl"]), schema, with_boxes=with_boxes)
    columns = {attr: [(type(v).__name__, v) for v in getattr(m, attr)] for attr in ROLE_ATTRS}
    return m.fields, list(m.lines), m.line_count, columns, m.problems, m.schema_failures


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("blocks", ["one block", "a line or two a block"])
def test_arrow_reads_what_the_line_reader_reads(name: str, final_newline: bool, blocks: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In blocks of a line or two, a later block often does not fit the first one's types
    (a field first seen there, an integer column with a float, a list after strings): the
    streaming reader gives way to one block read whole, which infers types from all rows."""
    lines, arrow_reads = CASES[name]
    if blocks != "one block":  # twice the longest line: the least Arrow takes
        monkeypatch.setattr(arrowjson, "BLOCK", 1)
    path = tmp_path / "train.jsonl"
    path.write_bytes(("\n".join(lines) + ("\n" if final_newline else "")).encode())
    schema_path = tmp_path / "row.schema.json"
    schema_path.write_text(json.dumps(SCHEMA))
    schema = RowSchema.load(schema_path)
    taken: list[bool] = []
    real = arrowjson.read_table
    monkeypatch.setattr(arrowjson, "read_table", lambda *a: taken.append((t := real(*a)) is not None) or t)
    for with_schema in (None, schema):
        for with_boxes in (False, True):
            taken.clear()
            fast = _read(path, with_schema, with_boxes, True, monkeypatch)
            assert taken == [with_boxes in arrow_reads]
            assert fast == _read(path, with_schema, with_boxes, False, monkeypatch)


def test_same_findings_on_the_samples_and_benchmark_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate

    generate.generate(3000, tmp_path / "bench", 0, "jsonl")
    results = []
    for limit in (0, sys.maxsize):
        monkeypatch.setattr(jsonl, "ARROW_MIN", limit)
        reports = [engine.check([REPO / "samples"]), engine.check([tmp_path / "bench"])]
        results.append([[(f.path, f.span, f.code, f.message, f.related) for f in r.findings] for r in reports])
    assert results[0] == results[1]
    assert len(results[0][1]) > 100  # the planted problems were found
