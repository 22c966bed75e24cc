"""Annotators' votes that agree less than `min-agreement`.

What it does: for a votes field (`annotator_labels`, `votes`: a list of
individual labels in one row, SNLI-style) and for a key repeated on rows with
distinct `annotator` values, computes the share of the most common label and
reports it when below `min-agreement` (in `[rules]`, default 0.6), naming the
majority label — or the tie. Rows whose votes are below the threshold point
at each other.

Why it matters: a label with weak agreement is ambiguous or wrong; it should
be reviewed, relabelled or dropped rather than trained on as if certain.

Example: `"annotator_labels": ["neutral", "contradiction", "entailment"]`.

Fix: review the sample; the quick fix sets the label to the majority vote.
"""
from collections import Counter
from typing import Iterator

import numpy as np

from ..dataset import Dataset
from ..manifest import label_tuple
from ..types import Finding, Fix, Severity
from .base import Rows, Rule, by_annotator, label_edit, picked


def check(ds: Dataset) -> Iterator[Finding]:
    least = ds.rules.min_agreement
    for m in ds.manifests:
        if not m.fields.get("votes"):
            continue
        for row, value in enumerate(m.votes):
            if not isinstance(value, list) or len(value) < 2:
                continue
            verdict = _verdict([label_tuple(v) for v in value], least)
            if verdict:
                message, majority = verdict
                current = m.labels[row]
                fixes = (Fix(f"Set the label to the majority '{majority}'", (label_edit(m, m.span(row, "label"), majority),)),) if majority and current != majority and m.fields.get("label") else ()
                yield RULE.at(m.path, m.span(row, "votes"), message, fixes=fixes)
    for group in picked(ds, ds.key_groups, ds.annotator_numbers, np.less, absent=False):  # fewer than two annotators: no vote
        buckets = by_annotator(ds, group)
        named = {who: rows for who, rows in buckets.items() if who is not None}
        if len(named) < 2:
            continue
        firsts = [rows[0] for rows in named.values()]
        verdict = _verdict([ds.labels(r) for r in firsts], least)
        if not verdict:
            continue
        message, majority = verdict
        rows = Rows(ds, firsts)
        votes = [f"{ds.labels(r)} by annotator '{m.annotators[r.row]}'" for m, r in zip(rows.manifests, firsts)]
        for i, ref in enumerate(firsts):
            m = rows.manifests[i]
            fixes = (Fix(f"Set the label to the majority '{majority}'", (label_edit(m, rows.span(i, "label"), majority),)),) if majority and ds.labels(ref) != (majority,) else ()
            yield RULE.at(m.path, rows.span(i, "label"), message, related=rows.related([j for j in range(len(firsts)) if j != i], "vote ", votes), fixes=fixes)


def _verdict(votes: list[tuple[str, ...] | None], least: float) -> tuple[str, str | None] | None:
    """(message, majority label or None on a tie) when agreement is below `least`."""
    counted = Counter(" + ".join(v) for v in votes if v)
    total = sum(counted.values())
    if total < 2:
        return None
    ranked = counted.most_common()
    top = ranked[0][1]
    share = top / total
    if share >= least:
        return None
    leaders = [label for label, n in ranked if n == top]
    if len(leaders) > 1:
        who = "no majority: " + " and ".join(f"'{x}'" for x in leaders) + f" tie at {top} of {total}"
        return f"annotators agree {share:.0%} ({top} of {total}), below min-agreement {least:.0%}; {who}", None
    return f"annotators agree {share:.0%} ({top} of {total}), below min-agreement {least:.0%}; majority '{leaders[0]}'", leaders[0]


RULE = Rule("LS405", "annotator-disagreement", Severity.WARNING, check, __doc__)
