"""An unknown parent, or a cycle, in the taxonomy's hierarchy.

What it does: reports a `parent` that names no class (with the nearest class
name), an `exclusive` group naming an unknown class, and every cycle in the
parent graph (a class that is its own ancestor). Several parents per class
are fine: the hierarchy is a DAG.

Why it matters: a dangling parent cuts a subtree off the hierarchy; a cycle
makes "is a kind of" meaningless and loops tools that walk the tree.

Example: `terrier: {parent: dgo}`; or `a: {parent: b}` with `b: {parent: a}`.

Fix: correct the parent's name, or break the cycle.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, problems


def check(ds: Dataset) -> Iterator[Finding]:
    return problems(ds, RULE)


RULE = Rule("LS311", "taxonomy-bad-parent", Severity.ERROR, check, __doc__)
