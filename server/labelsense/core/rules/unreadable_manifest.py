"""A manifest, taxonomy or other file that cannot be read at all.

What it does: reports a Parquet file that is truncated or corrupt, a file that
cannot be opened, and a taxonomy file that does not parse or has the wrong
structure.

Why it matters: nothing in an unreadable file is checked, and training
pipelines fail on it late and far from the cause.

Example: a `train.parquet` cut off by an interrupted upload.

Fix: re-export or restore the file; the message gives the reader's error.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS105", "unreadable-manifest", Severity.ERROR, check, __doc__)
