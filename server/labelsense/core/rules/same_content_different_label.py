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
from .base import RELATED, Rule, label_set, others, picked, shown


def check(ds: Dataset) -> Iterator[Finding]:
    for group in picked(ds, ds.content_groups, ds.label_numbers, np.not_equal):  # rows of one label: nothing to report
        written = {r: ds.labels(r) for r in group}
        labels = {r: label_set(v) for r, v in written.items()}
        if len(set(labels.values())) < 2:
            continue
        keys = {r: ds.manifest(r).keys[r.row] for r in group}
        as_shown = {r: shown(v) for r, v in written.items()}
        content = ds.content_of(group[0])
        role = ds.content_role(group[0])
        if role == "media" and all(ds.per_object(r.manifest) for r in group):
            continue  # detection rows: one row per object, many labels per image is normal
        for ref in group:
            rest = [r for r in group if labels[r] != labels[ref] and keys[r] != keys[ref]]
            if not rest:
                continue
            text = others(ds, rest, [f"{as_shown[r]} (key '{keys[r]}')" for r in rest[:3]])
            what = "media content" if role == "media" and ds.spec.hash_media and str(content).startswith("sha256:") else role
            yield RULE.at(
                ds.manifest(ref).path,
                ds.span(ref, role),
                f"same {what} '{_short(content)}' labelled {as_shown[ref]} here, {text}",
                related=ds.related(rest, [f"same {role}, labelled {as_shown[r]}" for r in rest[:RELATED]]),
            )


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:12] + "…" + text[-8:]


RULE = Rule("LS403", "same-content-different-label", Severity.WARNING, check, __doc__)
