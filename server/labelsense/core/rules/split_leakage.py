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
from .base import RELATED, Rule, picked


def check(ds: Dataset) -> Iterator[Finding]:
    yield from _leaks(ds, ds.key_groups, "key", "sample")
    yield from _leaks(ds, ds.content_groups, None, "content")


def _leaks(ds: Dataset, groups: list[list[RowRef]], role: str | None, what: str) -> Iterator[Finding]:
    for group in picked(ds, groups, ds.split_numbers, np.less, absent=False):  # rows in one split (or none): no leak
        splits = {r: ds.manifest(r).split_of(r.row) for r in group}
        if len({s for s in splits.values() if s is not None}) < 2:
            continue
        keys = {r: ds.manifest(r).keys[r.row] for r in group}
        if role is None and len(set(keys.values())) < 2:
            continue  # one key: reported as a sample leak
        for ref in group:
            rest = [r for r in group if splits[r] not in (None, splits[ref]) and (role or keys[r] != keys[ref])]
            if splits[ref] is None or not rest:
                continue
            names = sorted({splits[r] for r in rest})
            m = ds.manifest(ref)
            field = role or ds.content_role(ref)
            label = f"key '{keys[ref]}'" if role else f"content of key '{keys[ref]}'"
            yield RULE.at(
                m.path,
                ds.span(ref, field),
                f"split leakage: {label} is in {splits[ref]} and in {', '.join(names)} ({', '.join(ds.where(r) for r in rest[:3])})",
                related=ds.related(rest, [f"same {what} in {splits[r]}" for r in rest[:RELATED]]),
            )


RULE = Rule("LS404", "split-leakage", Severity.ERROR, check, __doc__)
