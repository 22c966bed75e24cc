"""A label that is an inner node of the hierarchy, where the dataset asks for leaves.

What it does: with `leaves-only = true` in the dataset config, reports labels
that name a class with subclasses (or an alias of one).

Why it matters: `animal` next to `cat` and `dog` is a coarser label than its
siblings; a classifier trained on it learns an overlapping class.

Example: `"label": "dog"` where `retriever` and `terrier` have `parent: dog`.

Fix: pick the specific subclass, or drop `leaves-only` if coarse labels are intended.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None or not ds.spec.leaves_only:
        return
    inner = {label for label in ds.class_counts if (c := tax.resolve(label)) is not None and not tax.is_leaf(c)}
    for ref, index, label in ds.rows_with_labels(inner):
        kids = tax.children[tax.resolve(label) or label]
        shown = ", ".join(f"'{k}'" for k in kids[:5]) + (", …" if len(kids) > 5 else "")
        m = ds.manifest(ref)
        yield RULE.at(m.path, ds.label_span(ref, index), f"'{label}' is not a leaf class; expected one of its subclasses: {shown}")


RULE = Rule("LS303", "non-leaf-class", Severity.WARNING, check, __doc__)
