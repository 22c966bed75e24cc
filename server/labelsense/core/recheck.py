"""Re-check a dataset after an edit to some lines of one JSONL manifest, touching
only the rows the edit concerns: at a million rows a keystroke costs milliseconds.

The edited lines are re-read in place (jsonl.splice). The rows concerned are the
edited ones and every row sharing a key or a content with them, before or after
the edit (found through the dataset's RowIndex). Row rules run on a small dataset
of those rows plus the rows sharing a key or content with any of them, so each
concerned row sees its whole key and content groups; their findings replace the
old ones on those rows. Class rules (on the taxonomy, from label counts) run again
on the whole dataset, whose label counts were updated by the difference.
"""
from __future__ import annotations

import bisect
from typing import Any, Callable

from .dataset import Dataset
from .engine import run_rules
from .jsonl import splice
from .rowindex import pack, unpack
from .rules.base import Rule
from .types import Finding

ROW_LIMIT = 200_000  # beyond this many rows concerned, a full check is as fast


def recheck(dataset: Dataset, findings: dict[str, list[Finding]], path: str, first: int, new_lines: list[bytes],
            rules: list[Rule], on_error: Callable[[Rule, BaseException], None]) -> dict[str, list[Finding]] | None:
    """Apply an edit of lines `first`… (as many as `new_lines`) of manifest `path` to the
    dataset in place and return the updated findings by file; None when the edit cannot be
    applied in place (the caller checks the dataset afresh)."""
    dataset.prepare_for_edits()
    with dataset.edit_lock:
        return _recheck(dataset, findings, path, first, new_lines, rules, on_error)


def _recheck(ds: Dataset, findings: dict[str, list[Finding]], path: str, first: int, new_lines: list[bytes],
             rules: list[Rule], on_error: Callable[[Rule, BaseException], None]) -> dict[str, list[Finding]] | None:
    mi = next((i for i, m in enumerate(ds.manifests) if m.path == path and m.kind == "jsonl"), None)
    if mi is None or ds.spec.hash_media:
        return None
    m = ds.manifests[mi]
    index = ds.row_index
    before = _rows(ds, mi, first, first + len(new_lines))
    was_per_object = ds.per_object(mi)
    spliced = splice(m, first, new_lines)
    if spliced is None:
        return None
    after = _rows(ds, mi, first, first + len(new_lines))
    ds.rows_replaced(mi, [(label, media) for *_, label, media in before], [(label, media) for *_, label, media in after])
    index.move(mi, [row[:3] for row in before], [row[:3] for row in after])
    if ds.per_object(mi) != was_per_object:  # a fact about the whole manifest changed: every row may read differently
        return None

    concerned = index.rows({r[1] for r in before + after}, {r[2] for r in before + after})
    concerned.update(pack(mi, line) for line in range(first, first + len(new_lines)))
    involved = set(concerned)
    for packed in concerned:
        key, content = ds.row_values(packed)
        involved |= index.rows((key,), (content,))
    if len(involved) > ROW_LIMIT:
        return None

    sub = _subset(ds, involved, concerned)
    out = dict(findings)
    found = run_rules(sub, [r for r in rules if r.scope == "rows"], on_error)
    by_path: dict[str, set[int]] = {}
    for packed in concerned:
        i, line = unpack(packed)
        by_path.setdefault(ds.manifests[i].path, set()).add(line)
    fresh_by_line: dict[tuple[str, int], list[Finding]] = {}
    for f in found:
        if f.span.line in by_path.get(f.path, ()):
            fresh_by_line.setdefault((f.path, f.span.line), []).append(f)
    for p, lines in by_path.items():
        items = list(out.get(p, []))  # a new list: the old analysis keeps its own
        for line in sorted(lines, reverse=True):
            lo = bisect.bisect_left(items, line, key=_line)
            hi = bisect.bisect_right(items, line, lo=lo, key=_line)
            items[lo:hi] = sorted(fresh_by_line.get((p, line), []), key=lambda f: f.order)
        out[p] = items

    class_rules = [r for r in rules if r.scope == "classes"]
    if class_rules and ds.taxonomy is not None:
        codes = {r.code for r in class_rules}
        tax = ds.taxonomy.path
        fresh = run_rules(ds, class_rules, on_error)
        out[tax] = sorted([f for f in out.get(tax, []) if f.code not in codes] + [f for f in fresh if f.path == tax], key=lambda f: f.order)
    return out


def _rows(ds: Dataset, mi: int, first: int, end: int) -> list[tuple[int, Any, Any, Any]]:
    """(line, key, content, label, media) of manifest `mi`'s rows on lines first…end."""
    m = ds.manifests[mi]
    contents = ds.content_column(m)
    return [(m.lines[r], m.keys[r], contents[r], m.labels[r], m.media[r]) for r in m.rows_between(first, end)]


def _subset(ds: Dataset, involved: set[int], concerned: set[int]) -> Dataset:
    """A dataset of the involved rows (manifest numbers kept), with the reader problems on
    the concerned lines; facts about whole manifests come from the full dataset."""
    rows: dict[int, list[int]] = {i: [] for i in range(len(ds.manifests))}
    for packed in sorted(involved):
        i, line = unpack(packed)
        if (row := ds.manifests[i].row_at(line)) is not None:
            rows[i].append(row)
    lines: dict[int, set[int]] = {i: set() for i in rows}
    for packed in concerned:
        i, line = unpack(packed)
        lines[i].add(line)
    per_object = {i: ds.per_object(i) for i in rows}
    return Dataset(ds.config, ds.spec, [m.subset(rows[i], lines[i]) for i, m in enumerate(ds.manifests)], ds.taxonomy, ds.schema, _per_object=per_object)


def _line(f: Finding) -> int:
    return f.span.line
