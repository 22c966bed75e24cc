"""A row that breaks the dataset's row JSON Schema.

What it does: validates every row against the `schema` of the dataset (a JSON
Schema for one row) and reports each violation on the offending value. A
schema that is itself invalid, or that uses a remote `$ref` (never fetched),
is reported on the schema file and not used.

Why it matters: a wrong type or an out-of-range value (`bbox` as a string, a
`split` that is not train/val/test) breaks loaders or, worse, trains on garbage.

Example: `{"id": "img_1", "label": "cat", "bbox": "10,20,30,40"}` where the
schema says `bbox` is an array of 4 numbers.

Fix: correct the value, or the schema if the data is right.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    yield from problems(ds, RULE)
    for m in ds.manifests:
        m.settle()
        for row, errors in m.schema_failures:
            for path, message in errors:
                where = "/".join(map(str, path))
                yield RULE.at(m.path, m.span(row, path=path) if path else m.span(row), f"{where + ': ' if where else ''}{message}")


RULE = Rule("LS201", "schema-violation", Severity.ERROR, check, __doc__)
