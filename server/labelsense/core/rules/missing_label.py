"""A row without its label field.

What it does: reports rows that lack the label field (`label` or `labels` by
default) or have it null, and Parquet files without the label column.

Why it matters: an unlabelled row in a labelled manifest is either an export
bug or a sample that will be dropped or mislabelled downstream.

Example: `{"id": "img_1", "image": "img/1.jpg"}`.

Fix: add the label, or remove the row if it should not be in the manifest.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    yield from problems(ds, RULE)
    for m in ds.manifests:
        field = m.fields.get("label")
        if m.kind == "parquet" and field not in m.column_names:
            continue  # reported once for the file
        if None not in m.labels:
            continue
        for row in (i for i, v in enumerate(m.labels) if v is None):
            yield RULE.at(m.path, m.span(row), f"row has no label field '{field}'")


RULE = Rule("LS203", "missing-label", Severity.ERROR, check, __doc__)
