"""A line that is not valid JSON.

What it does: reports each JSONL line that does not parse, at the exact column
where parsing failed (a truncated last line points at its end).

Why it matters: a row that does not parse is silently dropped by most loaders,
so the sample vanishes from training without anyone noticing.

Example: `{"id": "img_1", "label": "cat",}` (trailing comma).

Fix: repair the line by hand; the message says what the parser expected.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS101", "invalid-json", Severity.ERROR, check, __doc__)
