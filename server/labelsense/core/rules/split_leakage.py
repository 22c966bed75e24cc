"""One sample or one content in two splits.

What it does: reports rows whose key, or whose content (hash field or media
path) under another key, appears in more than one split. The split is the
row's `split` field, else its file name (`train`, `val`/`valid`/`dev`, `test`).

Why it matters: a test sample that is also in train inflates every metric
measured on the test split; the model is graded on what it memorised.

Example: `img_42` in train.jsonl and in test.jsonl.

Fix: keep each sample in exactly one split.
"""
from typing import Iterator

import numpy as np

from ..dataset import Dataset, RowRef
from ..types import Finding, Severity
from .base import Rows, Rule, picked


def check(ds: Dataset) -> Iterator[Finding]:
    yield from _leaks(ds, ds.key_groups, "key", "sample")
    yield from _leaks(ds, ds.content_groups, None, "content")


def _leaks(ds: Dataset, groups: list[list[RowRef]], role: str | None, what: str) -> Iterator[Finding]:
    for group in picked(ds, groups, ds.split_numbers, np.less, absent=False):  # rows in one split (or none): no leak
        rows = Rows(ds, group)
        splits = [m.split_of(r.row) for m, r in zip(rows.manifests, group)]
        if len({s for s in splits if s is not None}) < 2:
            continue
        keys = [m.keys[r.row] for m, r in zip(rows.manifests, group)]
        if role is None and len(set(keys)) < 2:
            continue  # one key: reported as a sample leak
        for i, ref in enumerate(group):
            if splits[i] is None:
                continue
            rest = [j for j in range(len(group)) if splits[j] not in (None, splits[i]) and (role or keys[j] != keys[i])]
            if not rest:
                continue
            names = sorted({splits[j] for j in rest})
            field = role or ds.content_role(ref)
            label = f"key '{keys[i]}'" if role else f"content of key '{keys[i]}'"
            yield RULE.at(
                rows.manifests[i].path,
                rows.span(i, field),
                f"split leakage: {label} is in {splits[i]} and in {', '.join(names)} ({rows.where(rest[:3])})",
                related=rows.related(rest, f"same {what} in ", splits),
            )


RULE = Rule("LS404", "split-leakage", Severity.ERROR, check, __doc__)
