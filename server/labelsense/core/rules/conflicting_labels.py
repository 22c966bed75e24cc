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

import numpy as np

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import RELATED, Rule, comparable, label_set, others, picked, shown


def check(ds: Dataset) -> Iterator[Finding]:
    for group in picked(ds, ds.key_groups, ds.label_numbers, np.not_equal):  # rows of one label: no conflict
        written = [ds.labels(r) for r in group]
        labels = [label_set(v) for v in written]
        if labels.count(labels[0]) == len(labels):
            continue
        key = ds.manifest(group[0]).keys[group[0].row]
        as_shown = [shown(v) for v in written]
        for i, pool in enumerate(comparable(ds, group)):
            rest = [j for j in pool if labels[j] != labels[i]]
            if not rest:
                continue
            ref = group[i]
            refs = [group[j] for j in rest]
            yield RULE.at(
                ds.manifest(ref).path,
                ds.span(ref, "label"),
                f"conflicting labels for key '{key}': {as_shown[i]} here, {others(ds, refs, [as_shown[j] for j in rest[:3]])}",
                related=ds.related(refs, [f"labelled {as_shown[j]}" for j in rest[:RELATED]]),
            )


RULE = Rule("LS401", "conflicting-labels", Severity.ERROR, check, __doc__)
