"""A line whose JSON value is not an object.

What it does: reports JSONL lines that parse but hold an array, a string, a
number or null instead of an object with fields.

Why it matters: a manifest row must name its fields (key, label, media);
a bare value cannot be interpreted and is skipped by loaders.

Example: `["img_1", "cat"]`.

Fix: write the row as an object: `{"id": "img_1", "label": "cat"}`.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS102", "row-not-object", Severity.ERROR, check, __doc__)
