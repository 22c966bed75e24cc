"""A row without its key field.

What it does: reports rows that lack the dataset's key field (`id` by
default) or have it null, and Parquet files without the key column.

Why it matters: the key is the sample's identity; without it duplicates,
conflicts, split leakage and label history cannot be traced.

Example: `{"image": "img/1.jpg", "label": "cat"}` in a dataset keyed by `id`.

Fix: add the key, or set `key = "..."` in the dataset config if it has another name.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    yield from problems(ds, RULE)
    for m in ds.manifests:
        field = m.fields.get("key")
        if m.kind == "parquet" and field not in m.column_names:
            continue  # reported once for the file
        if None not in m.keys:
            continue
        for row in (i for i, k in enumerate(m.keys) if k is None):
            yield RULE.at(m.path, m.span(row), f"row has no key field '{field}'")


RULE = Rule("LS202", "missing-key", Severity.ERROR, check, __doc__)
