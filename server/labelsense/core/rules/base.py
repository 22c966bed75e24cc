"""What a rule is: a code, a kebab-case name, a default severity, a check over
a loaded dataset, and its module's docstring as documentation."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..dataset import RELATED, Dataset, Numbering, RowRef  # noqa: F401 - RELATED for the rules
from ..manifest import Manifest, label_tuple
from ..types import Edit, Finding, Fix, Related, Severity, Span


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    check: Callable[[Dataset], Iterable[Finding]]
    doc: str
    fixable: bool = False
    # "rows": each finding sits on a manifest row and depends only on that row, the rows
    # sharing its key or content, and facts about its manifest; "classes": findings on the
    # taxonomy from the dataset's label counts. An edit re-checks accordingly (recheck.py).
    scope: str = "rows"
    # Manifest columns that only some rules read ("bboxes", "media"): `check` skips reading
    # them when no selected rule names them here (jsonl.RowReader.of).
    reads: frozenset[str] = frozenset()

    @property
    def summary(self) -> str:
        """The first line of the doc."""
        return self.doc.strip().splitlines()[0] if self.doc else self.name

    def at(self, path: str, span: Span, message: str, related: tuple[Related, ...] = (), fixes: tuple[Fix, ...] = (), deprecated: bool = False) -> Finding:
        return Finding(self.code, path, span, message, self.severity, related, fixes, deprecated)


def reads(rules: Iterable[Rule], column: str) -> bool:
    """Whether one of `rules` reads the manifest column `column` (see `Rule.reads`)."""
    return any(column in r.reads for r in rules)


def problems(ds: Dataset, rule: Rule) -> Iterator[Finding]:
    """Findings for the reader problems that carry `rule`'s code (manifests, taxonomy, row schema)."""
    sources = [(m.path, m.problems) for m in ds.manifests]
    if ds.taxonomy is not None:
        sources.append((ds.taxonomy.path, ds.taxonomy.problems))
    if ds.schema is not None:
        sources.append((ds.schema.path, ds.schema.problems))
    for path, found in sources:
        for p in found:
            if p.code == rule.code:
                related = (Related(path, p.extra["first"], "first definition"),) if "first" in p.extra else ()
                yield Finding(rule.code, path, p.span, p.message, p.severity or rule.severity, related)


def label_edit(manifest: Manifest, span: Span, value: str) -> Edit:
    """An edit setting the label at `span` to `value` (JSON-quoted in JSONL, a cell in Parquet)."""
    if manifest.kind == "parquet":
        return Edit(manifest.path, span, value, manifest.fields.get("label"))
    return Edit(manifest.path, span, json.dumps(value, ensure_ascii=False))


def by_annotator(ds: Dataset, group: list[RowRef]) -> dict[object, list[RowRef]]:
    """Rows of one key, bucketed by annotator (rows without one share the bucket None)."""
    buckets: dict[object, list[RowRef]] = {}
    for ref in group:
        buckets.setdefault(annotator(ds, ref), []).append(ref)
    return buckets


def annotator(ds: Dataset, ref: RowRef) -> object:
    m = ds.manifests[ref.manifest]
    who = m.annotators[ref.row] if m.fields.get("annotator") else None
    return who if isinstance(who, (str, int)) or who is None else repr(who)


def comparable(ds: Dataset, group: list[RowRef], alike: bool = False) -> Sequence[Sequence[int]]:
    """For each row of a key (by its index in `group`), the indices of the other rows it
    must agree with: rows by the same annotator, and every row when either side names no
    annotator (distinct annotators are votes, LS405's business). `alike`: the rows are
    known to name one annotator (or none), as `one_annotator` tells."""
    if alike:
        return _all_others(len(group))
    who = [annotator(ds, ref) for ref in group]
    everyone = range(len(group))
    if who.count(who[0]) == len(who):  # one annotator, or none named: each row against all others
        return _all_others(len(group))
    unnamed = [j for j in everyone if who[j] is None]
    return [[j for j in everyone if j != i] if w is None else [j for j in everyone if j != i and who[j] == w] + unnamed
            for i, w in enumerate(who)]


def _all_others(n: int) -> Sequence[Sequence[int]]:
    """For each of `n` rows, the indices of the others (kept for small groups)."""
    if n < len(_SMALL):
        return _SMALL[n]
    return [[j for j in range(n) if j != i] for i in range(n)]


_SMALL = [tuple(tuple(j for j in range(n) if j != i) for i in range(n)) for n in range(9)]


def picked(ds: Dataset, groups: list[list[RowRef]], numbering: Numbering | None, keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
           absent: bool = True) -> list[list[RowRef]]:
    """The groups for which `keep(lowest, highest)` of their rows' numbers is true
    (`Dataset.spread`), as `Groups` when `groups` are; every group when they cannot be numbered."""
    spread = ds.spread(groups, numbering, absent)
    return groups if spread is None else groups.take(np.flatnonzero(keep(*spread)))  # type: ignore[attr-defined] # (spread: Groups)


def one_annotator(ds: Dataset, groups: list[list[RowRef]]) -> Sequence[bool]:
    """For each group, whether its rows are known to name one annotator, or none (False
    when the annotators cannot be numbered: `comparable` then looks)."""
    spread = ds.spread(groups, ds.annotator_numbers)
    return (spread[0] == spread[1]).tolist() if spread is not None else [False] * len(groups)


def label_set(labels: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Labels as an order-free set (a sorted tuple), for comparing rows."""
    return tuple(sorted(set(labels))) if labels is not None else None


def described(value: Any) -> tuple[tuple[str, ...] | None, str]:
    """A label field's value as its `label_set` and as `shown`, for a rule comparing rows
    and naming their labels (kept for short single labels: a dataset has few of them, and
    a long-lived server must not keep long free-text values of datasets long gone)."""
    if value.__class__ is str and (known := _DESCRIBED.get(value)) is not None:
        return known
    labels = label_tuple(value)
    found = label_set(labels), shown(labels)
    if value.__class__ is str and len(value) <= 64 and len(_DESCRIBED) < 65536:
        _DESCRIBED[value] = found
    return found


_DESCRIBED: dict[str, tuple[tuple[str, ...] | None, str]] = {}


def shown(labels: tuple[str, ...] | None) -> str:
    """`'cat'` or `['cat', 'dog']` for messages."""
    if labels is None:
        return "(no label)"
    return f"'{labels[0]}'" if len(labels) == 1 else "[" + ", ".join(f"'{v}'" for v in labels) + "]"


class Rows:
    """The rows of one group (by index) as a rule reports them: each row's manifest and
    line fetched once, for its span, its short reference and its related location."""

    __slots__ = ("refs", "manifests", "lines")

    def __init__(self, ds: Dataset, group: list[RowRef]) -> None:
        self.refs = group
        self.manifests = [ds.manifests[r.manifest] for r in group]
        self.lines = [m.lines[r.row] for m, r in zip(self.manifests, group)]

    def labels(self) -> list[tuple[tuple[str, ...] | None, str]]:
        """Each row's labels as `described`."""
        return [described(m.labels[r.row]) for m, r in zip(self.manifests, self.refs)]

    def span(self, i: int, role: str | None) -> Span:
        return self.manifests[i].span(self.refs[i].row, role)

    def where(self, indices: list[int]) -> str:
        """`train.jsonl:12, val.jsonl:4`: short human references to the rows `indices`."""
        ms, lines = self.manifests, self.lines
        return ", ".join([f"{ms[j].name}:{lines[j] + 1}" for j in indices])

    def others(self, indices: list[int], texts: Sequence[str], limit: int = 3) -> str:
        """`'dog' at val.jsonl:4, 'bird' at test.jsonl:9 and 2 more` for messages: the first
        `limit` rows of `indices`, each described by its text in `texts` (by row index)."""
        ms, lines = self.manifests, self.lines
        parts = ", ".join([f"{texts[j]} at {ms[j].name}:{lines[j] + 1}" for j in indices[:limit]])
        return parts + f" and {len(indices) - limit} more" if len(indices) > limit else parts

    def related(self, indices: list[int], message: str, texts: Sequence[str] | None = None) -> tuple[Related, ...]:
        """Related locations (row starts) for the first RELATED rows of `indices`, each described
        by `message`, followed by its text in `texts` (by row index) when given."""
        ms, lines = self.manifests, self.lines
        if texts is None:
            return tuple([Related(ms[j].path, Span(lines[j], 0, lines[j], 0), message) for j in indices[:RELATED]])
        return tuple([Related(ms[j].path, Span(lines[j], 0, lines[j], 0), message + texts[j]) for j in indices[:RELATED]])
