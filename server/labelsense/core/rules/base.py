"""What a rule is: a code, a kebab-case name, a default severity, a check over
a loaded dataset, and its module's docstring as documentation."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from ..dataset import RELATED, Dataset, Numbering, RowRef  # noqa: F401 - RELATED for the rules
from ..manifest import Manifest
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


def comparable(ds: Dataset, group: list[RowRef]) -> list[list[int]]:
    """For each row of a key (by its index in `group`), the indices of the other rows it
    must agree with: rows by the same annotator, and every row when either side names no
    annotator (distinct annotators are votes, LS405's business)."""
    who = [annotator(ds, ref) for ref in group]
    everyone = range(len(group))
    if who.count(who[0]) == len(who):  # one annotator, or none named: each row against all others
        return [[j for j in everyone if j != i] for i in everyone]
    unnamed = [j for j in everyone if who[j] is None]
    return [[j for j in everyone if j != i] if w is None else [j for j in everyone if j != i and who[j] == w] + unnamed
            for i, w in enumerate(who)]


def picked(ds: Dataset, groups: list[list[RowRef]], numbering: Numbering | None, keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
           absent: bool = True) -> Iterable[list[RowRef]]:
    """The groups for which `keep(lowest, highest)` of their rows' numbers is true
    (`Dataset.spread`); every group when they cannot be numbered."""
    spread = ds.spread(groups, numbering, absent)
    return groups if spread is None else [groups[i] for i in np.flatnonzero(keep(*spread)).tolist()]


def label_set(labels: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Labels as an order-free set (a sorted tuple), for comparing rows."""
    return tuple(sorted(set(labels))) if labels is not None else None


def shown(labels: tuple[str, ...] | None) -> str:
    """`'cat'` or `['cat', 'dog']` for messages."""
    if labels is None:
        return "(no label)"
    return f"'{labels[0]}'" if len(labels) == 1 else "[" + ", ".join(f"'{v}'" for v in labels) + "]"


def others(ds: Dataset, refs: list[RowRef], texts: list[str], limit: int = 3) -> str:
    """`'dog' at val.jsonl:4, 'bird' at test.jsonl:9 and 2 more` for messages: each of the
    first `limit` refs described by the text at its index in `texts` (which may stop there)."""
    parts = [f"{text} at {ds.where(r)}" for r, text in zip(refs[:limit], texts)]
    more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
    return ", ".join(parts) + more
