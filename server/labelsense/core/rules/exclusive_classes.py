"""Two classes of one `exclusive` group on one sample.

What it does: for multi-label rows, reports label lists that contain two
classes (or their aliases or descendants) from the same `exclusive` group of
the taxonomy.

Why it matters: mutually exclusive labels on one sample contradict each other;
one of them is wrong, and a multi-label model learns the contradiction.

Example: `"labels": ["cat", "dog"]` with `exclusive: [[cat, dog]]`.

Fix: keep the correct label and remove the other.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None or not tax.exclusive:
        return
    for mi, m in enumerate(ds.manifests):
        for row, value in enumerate(m.labels):
            if not isinstance(value, list) or len(value) < 2:
                continue
            hits = _groups_hit(tax, [v for v in value if isinstance(v, str)])
            for group, members in hits.items():
                if len(members) > 1:
                    names = " and ".join(f"'{v}'" for v in members)
                    yield RULE.at(m.path, m.span(row, "label"), f"{names} are exclusive (group [{', '.join(tax.exclusive[group])}]) but label the same sample")


def _groups_hit(tax, labels: list[str]) -> dict[int, list[str]]:  # noqa: ANN001 - Taxonomy
    hits: dict[int, list[str]] = {}
    for label in dict.fromkeys(labels):
        name = tax.resolve(label)
        if name is None:
            continue
        for cls in (name, *tax.ancestors([name])):
            for group in tax.exclusive_of.get(cls, ()):
                if label not in hits.setdefault(group, []):
                    hits[group].append(label)
    return hits


RULE = Rule("LS304", "exclusive-classes", Severity.ERROR, check, __doc__)
