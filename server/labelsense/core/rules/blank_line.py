"""An empty line inside a JSONL file (or an empty manifest).

What it does: reports blank or whitespace-only lines between rows, and
manifests that hold no rows at all. A single final newline is fine.

Why it matters: some readers (pyarrow, pandas) skip blank lines and so shift
every row number after them; others stop or fail. An empty manifest is
usually a failed export.

Example: a line with nothing on it between two rows.

Fix: delete the blank line.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS103", "blank-line", Severity.WARNING, check, __doc__)
