"""The same sample with the same labels, repeated.

What it does: reports rows that repeat a key with the same labels (and the
same annotator, if any) — within a file or across the manifests of a dataset.
Every copy points at the others; the copies after the first offer a quick fix
that deletes them.

Why it matters: a duplicated sample is counted and trained on twice, skewing
class balance and metrics; across splits it is also leakage (LS404).

Example: the line `{"id": "img_3", "label": "dog"}` twice in train.jsonl.

Fix: delete the repeated rows.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Edit, Finding, Fix, Severity, Span
from .base import Rows, Rule, comparable, one_annotator, picked


def check(ds: Dataset) -> Iterator[Finding]:
    by_key = ds.key_groups
    groups = picked(ds, by_key, ds.label_numbers, lambda lowest, highest: (lowest == highest) | (by_key.sizes() > 2))  # two rows, two labels: no copy
    for group, alike in zip(groups, one_annotator(ds, groups)):
        rows = Rows(ds, group)
        labels = [label for label, _ in rows.labels()]
        if len(set(labels)) == len(group):
            continue  # no two rows agree: conflicts (LS401), not copies
        key = rows.manifests[0].keys[group[0].row]
        for i, pool in enumerate(comparable(ds, group, alike)):
            copies = [j for j in pool if labels[j] == labels[i]]
            if not copies:
                continue
            m, line = rows.manifests[i], rows.lines[i]
            later = group[i] > group[copies[0]]
            fixes = ()
            if later and m.kind == "jsonl":
                fixes = (Fix("Delete this duplicate row", (Edit(m.path, Span(line, 0, line + 1, 0), ""),)),)
            relation = "as" if later else "is repeated at"
            yield RULE.at(
                m.path,
                rows.span(i, "key"),
                f"duplicate row: key '{key}' with the same labels {relation} {rows.where(copies[:3])}{' and more' if len(copies) > 3 else ''}",
                related=rows.related(copies, "same key and labels"),
                fixes=fixes,
            )


RULE = Rule("LS402", "duplicate-row", Severity.WARNING, check, __doc__)
