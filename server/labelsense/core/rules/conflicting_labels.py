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
from .base import Rows, Rule, comparable, one_annotator, picked


def check(ds: Dataset) -> Iterator[Finding]:
    groups = picked(ds, ds.key_groups, ds.label_numbers, np.not_equal)  # rows of one label: no conflict
    for group, alike in zip(groups, one_annotator(ds, groups)):
        rows = Rows(ds, group)
        labels, as_shown = zip(*rows.labels())
        if labels.count(labels[0]) == len(labels):
            continue
        key = rows.manifests[0].keys[group[0].row]
        for i, pool in enumerate(comparable(ds, group, alike)):
            rest = [j for j in pool if labels[j] != labels[i]]
            if not rest:
                continue
            yield RULE.at(
                rows.manifests[i].path,
                rows.span(i, "label"),
                f"conflicting labels for key '{key}': {as_shown[i]} here, {rows.others(rest, as_shown)}",
                related=rows.related(rest, "labelled ", as_shown),
            )


RULE = Rule("LS401", "conflicting-labels", Severity.ERROR, check, __doc__)
