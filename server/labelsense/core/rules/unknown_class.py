"""A label that is not a class of the taxonomy.

What it does: reports every label value that is neither a class nor an alias
in the dataset's taxonomy, and suggests the nearest class (same name up to
case, spacing or separators, else the closest by edit distance).

Why it matters: a typo like `Cat` or `retriver` creates a new class of one
sample; the model learns a class nobody asked for and the real class loses data.

Example: `{"id": "img_7", "label": "Cat"}` with a taxonomy that has `cat`.

Fix: use the suggested class (offered as a quick fix), or add the class to
the taxonomy if it is new.
"""
from typing import Iterator

from ..dataset import Dataset
from ..taxonomy import suggest_all
from ..types import Finding, Fix, Severity
from .base import Rule, label_edit


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None or not tax.classes:
        return
    unknown = {label for label in ds.class_counts if tax.resolve(label) is None}
    if not unknown:
        return
    hints = suggest_all(tax, unknown)
    for ref, index, label in ds.rows_with_labels(unknown):
        m = ds.manifest(ref)
        span = ds.label_span(ref, index)
        hint = hints[label]
        message = f"unknown class '{label}'" + (f" (did you mean '{hint}'?)" if hint else f" (not in {_short(tax.path)})")
        fixes = (Fix(f"Replace with '{hint}'", (label_edit(m, span, hint),)),) if hint else ()
        yield RULE.at(m.path, span, message, fixes=fixes)


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


RULE = Rule("LS301", "unknown-class", Severity.ERROR, check, __doc__)
