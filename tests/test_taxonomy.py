"""Suggestions for unknown labels (taxonomy.suggest_all): the class rapidfuzz's extractOne
picks for each label, scored many labels at a time."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from labelsense.core import taxonomy
from labelsense.core.taxonomy import load_taxonomy, suggest, suggest_all


def _one_by_one(tax: taxonomy.Taxonomy, label: str) -> str | None:
    """What suggest answered before it scored labels in batches."""
    folded = tax.folded_names
    target = taxonomy._folded(label)
    if target in folded:
        return tax.resolve(folded[target])
    match = process.extractOne(target, list(folded), scorer=fuzz.ratio, score_cutoff=75)
    return tax.resolve(folded[match[0]]) if match else None


def test_batched_suggestions_are_the_one_by_one_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    words = sorted({"".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 9))) for _ in range(400)})
    (tmp_path / "taxonomy.yaml").write_text("version: 1\nclasses:\n" + "".join(f"  {w}:\n    aliases: [{w}_alias]\n" for w in words))
    tax = load_taxonomy(tmp_path / "taxonomy.yaml")
    labels = [w[: len(w) // 2] + rng.choice("xyz") + w[len(w) // 2 :] for w in words[:150]]  # typos, near and far
    labels += [w.upper().replace("_", " ") for w in words[150:170]] + ["zzzzzz", "", words[3] + "_ALIAS"]
    monkeypatch.setattr(taxonomy, "SCORES_AT_ONCE", 1000)  # a few labels per batch
    expected = {label: _one_by_one(tax, label) for label in labels}
    assert suggest_all(tax, labels) == expected
    assert sum(v is None for v in expected.values()) and sum(v is not None for v in expected.values()) > 100  # both kinds tried
    assert suggest(tax, labels[0]) == expected[labels[0]]
