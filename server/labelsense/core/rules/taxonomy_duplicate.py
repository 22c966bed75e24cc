"""A class defined twice in the taxonomy.

What it does: reports the second (and later) definition of a class name in a
taxonomy file — a repeated key in `classes:`, a repeated line in
`classes.txt`, a repeated COCO category name — with the first as related.

Why it matters: most loaders keep only one of the definitions silently; the
other's parent, description or aliases are lost, and class indices shift.

Example: `cat:` appearing twice under `classes:`.

Fix: merge the two definitions into one.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS310", "taxonomy-duplicate", Severity.ERROR, check, __doc__)
