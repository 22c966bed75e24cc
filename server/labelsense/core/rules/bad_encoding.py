"""Invalid UTF-8, a byte order mark, or NUL bytes.

What it does: reports bytes that are not valid UTF-8 (at their column), a
UTF-8 BOM at the start of a file, NUL bytes, and binary files with a
manifest's name.

Why it matters: JSON text must be UTF-8 without a BOM; strict readers reject
the file, lenient ones corrupt the text or the first key (`\\ufeffid`).

Example: a file saved as Latin-1 with `"label": "caf\\xe9"`.

Fix: re-encode the file as UTF-8 without a BOM; remove NUL bytes.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS104", "bad-encoding", Severity.ERROR, check, __doc__)
