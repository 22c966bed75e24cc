"""A label that is an alias (an old name) of a class.

What it does: reports labels that the taxonomy lists under a class's
`aliases`, or classes marked `deprecated: true`, and offers the canonical
name as a safe fix (`labelsense check --fix`).

Why it matters: two names for one class split its samples in two, in
statistics, in sampling and in any model that reads the label as a string.

Example: `"label": "kitty"` where `cat` has `aliases: [kitty]`.

Fix: replace the alias by the canonical class name.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Fix, Severity
from .base import Rule, label_edit


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None:
        return
    aliases = {label for label in ds.class_counts if label in tax.aliases}
    retired = {label for label in ds.class_counts if label in tax.classes and tax.classes[label].deprecated}
    for ref, index, label in ds.rows_with_labels(aliases | retired):
        m = ds.manifest(ref)
        span = ds.label_span(ref, index)
        if label in retired:
            yield RULE.at(m.path, span, f"class '{label}' is deprecated", deprecated=True)
            continue
        canonical = tax.aliases[label]
        fix = Fix(f"Replace '{label}' with '{canonical}'", (label_edit(m, span, canonical),), safe=index is None or m.kind == "jsonl")
        yield RULE.at(m.path, span, f"'{label}' is a deprecated alias of class '{canonical}'", fixes=(fix,), deprecated=True)


RULE = Rule("LS302", "deprecated-class", Severity.WARNING, check, __doc__, fixable=True)
