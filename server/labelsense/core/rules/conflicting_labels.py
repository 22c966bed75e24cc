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
from .base import Rule, by_annotator, others, shown


def check(ds: Dataset) -> Iterator[Finding]:
    for group in ds.key_groups:
        for rows in by_annotator(ds, group).values():
            labels = {r: _canonical(ds.labels(r)) for r in rows}
            if len(rows) < 2 or len(set(labels.values())) < 2:
                continue
            key = ds.manifest(rows[0]).keys[rows[0].row]
            for ref in rows:
                rest = [r for r in rows if r != ref and labels[r] != labels[ref]]
                if not rest:
                    continue
                text = others(ds, rest, lambda r: shown(ds.labels(r)))
                yield RULE.at(
                    ds.manifest(ref).path,
                    ds.span(ref, "label"),
                    f"conflicting labels for key '{key}': {shown(ds.labels(ref))} here, {text}",
                    related=ds.related(rest, lambda r: f"labelled {shown(ds.labels(r))}"),
                )


def _canonical(labels: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return tuple(sorted(set(labels))) if labels is not None else None


RULE = Rule("LS401", "conflicting-labels", Severity.ERROR, check, __doc__)
