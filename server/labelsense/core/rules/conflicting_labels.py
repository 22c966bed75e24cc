"""One sample (key) with different labels, not explained by distinct annotators.

What it does: groups the rows of all manifests of a dataset by key (JSONL and
Parquet together, within a file and across files) and reports every row of a
key whose rows disagree on the label. Rows with distinct `annotator` values
are votes, checked by LS405 instead. Each row points at the others.

Why it matters: a sample cannot be both `cat` and `dog`; whichever row a
loader keeps, half the time it is the wrong label.

Example: `{"id": "img_9", "label": "cat"}` in train.jsonl and
`{"id": "img_9", "label": "dog"}` in val.jsonl.

Fix: decide the correct label and make the rows agree (or delete the wrong row).
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule, comparable, label_set, others, shown


def check(ds: Dataset) -> Iterator[Finding]:
    for group in ds.key_groups:
        written = {r: ds.labels(r) for r in group}
        labels = {r: label_set(v) for r, v in written.items()}
        if len(set(labels.values())) < 2:
            continue
        key = ds.manifest(group[0]).keys[group[0].row]
        as_shown = {r: shown(v) for r, v in written.items()}
        for ref, pool in comparable(ds, group).items():
            rest = [r for r in pool if labels[r] != labels[ref]]
            if not rest:
                continue
            text = others(ds, rest, as_shown.__getitem__)
            yield RULE.at(
                ds.manifest(ref).path,
                ds.span(ref, "label"),
                f"conflicting labels for key '{key}': {as_shown[ref]} here, {text}",
                related=ds.related(rest, lambda r: f"labelled {as_shown[r]}"),
            )


RULE = Rule("LS401", "conflicting-labels", Severity.ERROR, check, __doc__)
