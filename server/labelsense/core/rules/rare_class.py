"""A class with too few samples.

What it does: reports, on the taxonomy, each class whose samples — rows
labelled with it, an alias of it, or any of its subclasses — number fewer
than `min-samples` (in `[rules]`, default 5). Classes used by no row are LS312's.

Why it matters: a class with a handful of samples cannot be learned or
evaluated reliably, and is often a typo or a leftover.

Example: `ferret` labelled on 2 rows with `min-samples = 5`.

Fix: collect more samples, merge the class into its parent, or lower `min-samples`.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None:
        return
    least = ds.rules.min_samples
    for name, n in ds.class_samples.items():
        if 0 < n < least:
            yield RULE.at(tax.path, tax.classes[name].span, f"class '{name}' has {n} sample{'s' if n != 1 else ''} in dataset '{ds.spec.name}', fewer than min-samples = {least}")


RULE = Rule("LS313", "rare-class", Severity.INFO, check, __doc__, scope="classes")
