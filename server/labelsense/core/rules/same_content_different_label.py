"""The same content under different labels, in different samples.

What it does: groups rows by content — the content-hash field (`sha256`,
`md5`, `hash`) if the manifest has one, else the media path (with
`hash-media = true` in the dataset: the SHA-256 of the media file's contents,
cached by path, size and mtime), else the inline text — and reports rows of
different keys that carry the same content but different labels. Detection manifests — rows with a `bbox`, on average 1.5 or
more rows per media file, i.e. one row per object — are not compared by
media path: many objects, many labels, one image.

Why it matters: the same image (often a re-upload under a new id) labelled
`cat` once and `dog` once is a label error the key-based check cannot see.

Example: `{"id": "a", "sha256": "9f2…", "label": "cat"}` and
`{"id": "b", "sha256": "9f2…", "label": "dog"}`.

Fix: decide the right label for the content, fix the other row, and consider
dropping the duplicate sample.
"""
from typing import Iterator

import numpy as np

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rows, Rule, picked


def check(ds: Dataset) -> Iterator[Finding]:
    for group in picked(ds, ds.content_groups, ds.label_numbers, np.not_equal):  # rows of one label: nothing to report
        rows = Rows(ds, group)
        labels, as_shown = zip(*rows.labels())
        if labels.count(labels[0]) == len(labels):
            continue
        keys = [m.keys[r.row] for m, r in zip(rows.manifests, group)]
        content = ds.content_of(group[0])
        role = ds.content_role(group[0])
        if role == "media" and all(ds.per_object(r.manifest) for r in group):
            continue  # detection rows: one row per object, many labels per image is normal
        texts = [f"{shown} (key '{key}')" for shown, key in zip(as_shown, keys)]
        what = "media content" if role == "media" and ds.spec.hash_media and str(content).startswith("sha256:") else role
        for i in range(len(group)):
            rest = [j for j in range(len(group)) if labels[j] != labels[i] and keys[j] != keys[i]]
            if not rest:
                continue
            yield RULE.at(
                rows.manifests[i].path,
                rows.span(i, role),
                f"same {what} '{_short(content)}' labelled {as_shown[i]} here, {rows.others(rest, texts)}",
                related=rows.related(rest, f"same {role}, labelled ", as_shown),
            )


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:12] + "…" + text[-8:]


RULE = Rule("LS403", "same-content-different-label", Severity.WARNING, check, __doc__)
