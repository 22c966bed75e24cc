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
from .base import Rule, by_annotator


def check(ds: Dataset) -> Iterator[Finding]:
    for group in ds.key_groups:
        for rows in by_annotator(ds, group).values():
            same: dict[object, list] = {}
            for ref in rows:
                labels = ds.labels(ref)
                same.setdefault(tuple(sorted(set(labels))) if labels else None, []).append(ref)
            for copies in same.values():
                if len(copies) < 2:
                    continue
                key = ds.manifest(copies[0]).keys[copies[0].row]
                for i, ref in enumerate(copies):
                    m = ds.manifest(ref)
                    rest = [r for r in copies if r != ref]
                    fixes = ()
                    if i > 0 and m.kind == "jsonl":
                        line = m.lines[ref.row]
                        fixes = (Fix("Delete this duplicate row", (Edit(m.path, Span(line, 0, line + 1, 0), ""),)),)
                    relation = "is repeated at" if i == 0 else "as"
                    yield RULE.at(
                        m.path,
                        ds.span(ref, "key"),
                        f"duplicate row: key '{key}' with the same labels {relation} {', '.join(ds.where(r) for r in rest[:3])}{' and more' if len(rest) > 3 else ''}",
                        related=ds.related(rest, lambda r: "same key and labels"),
                        fixes=fixes,
                    )


RULE = Rule("LS402", "duplicate-row", Severity.WARNING, check, __doc__)
