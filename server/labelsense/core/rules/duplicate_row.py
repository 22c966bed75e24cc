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
from .base import RELATED, Rule, comparable, label_set, picked


def check(ds: Dataset) -> Iterator[Finding]:
    groups = ds.key_groups
    for group in picked(ds, groups, ds.label_numbers, lambda lowest, highest: (lowest == highest) | (groups.sizes() > 2)):  # two rows, two labels: no copy
        labels = [label_set(ds.labels(r)) for r in group]
        if len(set(labels)) == len(group):
            continue  # no two rows agree: conflicts (LS401), not copies
        key = ds.manifest(group[0]).keys[group[0].row]
        for i, pool in enumerate(comparable(ds, group)):
            copies = [group[j] for j in pool if labels[j] == labels[i]]
            if not copies:
                continue
            ref = group[i]
            m = ds.manifest(ref)
            later = ref > copies[0]
            fixes = ()
            if later and m.kind == "jsonl":
                line = m.lines[ref.row]
                fixes = (Fix("Delete this duplicate row", (Edit(m.path, Span(line, 0, line + 1, 0), ""),)),)
            relation = "as" if later else "is repeated at"
            yield RULE.at(
                m.path,
                ds.span(ref, "key"),
                f"duplicate row: key '{key}' with the same labels {relation} {', '.join(ds.where(r) for r in copies[:3])}{' and more' if len(copies) > 3 else ''}",
                related=ds.related(copies, SAME),
                fixes=fixes,
            )


SAME = ["same key and labels"] * RELATED
RULE = Rule("LS402", "duplicate-row", Severity.WARNING, check, __doc__)
