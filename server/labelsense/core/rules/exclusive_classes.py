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
from ..taxonomy import Taxonomy
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    tax = ds.taxonomy
    if tax is None or not tax.exclusive:
        return
    for mi, m in enumerate(ds.manifests):
        if ds.label_codes(mi) is not None:
            continue  # single labels only: nothing can hit two classes
        for row, value in enumerate(m.labels):
            if not isinstance(value, list) or len(value) < 2:
                continue
            hits = _groups_hit(tax, [v for v in value if isinstance(v, str)])
            for group, members in hits.items():
                names = " and ".join(f"'{v}'" for v in dict.fromkeys(members))
                yield RULE.at(m.path, m.span(row, "label"), f"{names} are exclusive (group [{', '.join(tax.exclusive[group])}]) but label the same sample")


def _groups_hit(tax: Taxonomy, labels: list[str]) -> dict[int, list[str]]:
    """Exclusive group → the labels that fall under it, for groups hit through two
    or more distinct members (a class and its own subclass or alias are one member)."""
    members: dict[int, dict[str, list[str]]] = {}
    for label in dict.fromkeys(labels):
        name = tax.resolve(label)
        if name is None:
            continue
        for cls in (name, *tax.ancestors([name])):
            for group in tax.exclusive_of.get(cls, ()):
                members.setdefault(group, {}).setdefault(cls, []).append(label)
    return {g: [label for ls in hit.values() for label in dict.fromkeys(ls)] for g, hit in members.items()
            if len(hit) > 1 and len({label for ls in hit.values() for label in ls}) > 1}


RULE = Rule("LS304", "exclusive-classes", Severity.ERROR, check, __doc__)
