"""A class that no manifest uses, directly or through a descendant.

What it does: reports, on the taxonomy, each class that no row of the
dataset's manifests labels — neither by its name, an alias, nor through any
of its subclasses.

Why it matters: an unused class is dead code in the taxonomy: a class the
model will have an output for and never see, or a sign that labels were
renamed without updating the taxonomy.

Example: `hamster: {parent: animal}` while no row says `hamster`.

Fix: remove the class, or label the samples that belong to it.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None or not any(len(m) for m in ds.manifests):
        return
    used = ds.class_samples
    for c in tax.classes.values():
        if used.get(c.name, 0) <= 0:
            yield RULE.at(tax.path, c.span, f"class '{c.name}' is not used by any manifest of dataset '{ds.spec.name}'")


RULE = Rule("LS312", "unused-class", Severity.INFO, check, __doc__, scope="classes")
