"""RowIndex: rows by key and by content value, as read and after edits, against a plain scan."""
from __future__ import annotations

import random
from typing import Any

import pytest

from labelsense.core import rowindex
from labelsense.core.rowindex import RowIndex, norm, pack, unpack


class Columns:
    """Manifests as (line → key, line → content) dicts: the truth a RowIndex must agree with."""

    def __init__(self, manifests: list[dict[int, tuple[Any, Any]]]) -> None:
        self.manifests = manifests

    def columns(self, which: int) -> list[tuple[list[Any], list[int]]]:
        return [([rows[line][which] for line in sorted(rows)], sorted(rows)) for rows in self.manifests]

    def value_of(self, which: int):  # noqa: ANN201
        def at(packed: int) -> Any:
            i, line = unpack(packed)
            row = self.manifests[i].get(line)
            return None if row is None else row[which]
        return at

    def scan(self, which: int, value: Any) -> set[int]:
        return {pack(i, line) for i, rows in enumerate(self.manifests) for line, row in rows.items()
                if row[which] is not None and norm(row[which]) == norm(value)}


MIXED = ["a", "b", "c", 1, 1.0, "1", True, None, [1, 2], "é", 2**70]
STRINGS = ["a", "b", "c", "1", None, "é", "a b"]


@pytest.mark.parametrize("collide", [False, True], ids=["hashes as they are", "every hash the same"])
@pytest.mark.parametrize("values", [MIXED, STRINGS], ids=["mixed types", "strings"])
def test_lookups_and_edits_agree_with_a_scan(values: list[Any], collide: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if collide:  # every value in one bucket: only checking each candidate's value tells them apart
        monkeypatch.setattr(rowindex, "hash", lambda value: 7, raising=False)
    VALUES = values  # noqa: N806
    rng = random.Random(3)
    truth = Columns([{line: (rng.choice(VALUES), rng.choice(VALUES)) for line in rng.sample(range(60), 40)} for _ in range(3)])
    index = RowIndex(truth.columns(0), truth.columns(1), truth.value_of(0), truth.value_of(1))
    for step in range(300):
        for v in MIXED:
            if v is not None:
                assert index.rows((v,), ()) == truth.scan(0, v), (step, v)
                assert index.rows((), (v,)) == truth.scan(1, v), (step, v)
        i = rng.randrange(3)
        rows = truth.manifests[i]
        lines = rng.sample(sorted(rows), 2)  # an edit replaces two rows, in place
        old = [(line, *rows[line]) for line in lines]
        for line in lines:
            rows[line] = (rng.choice(VALUES), rng.choice(VALUES))
        index.move(i, old, [(line, *rows[line]) for line in lines])


def test_numbers_group_by_value_and_strings_apart() -> None:
    truth = Columns([{0: (1, None), 1: (1.0, None), 2: ("1", None), 3: (True, None)}])
    index = RowIndex(truth.columns(0), truth.columns(1), truth.value_of(0), truth.value_of(1))
    assert index.rows((1,), ()) == {pack(0, 0), pack(0, 1), pack(0, 3)}  # True is 1.0 as a float, as the index always normalised
    assert index.rows(("1",), ()) == {pack(0, 2)}
    assert index.rows((None,), (None,)) == set()


def test_rows_without_a_value_are_not_among_those_of_the_empty_string() -> None:
    asked: list[int] = []
    values = [None, "", None, "x"]
    index = RowIndex([(values, [0, 1, 2, 3])], [([None] * 4, [0, 1, 2, 3])], lambda p: asked.append(p) or values[unpack(p)[1]], lambda p: None)
    assert index.rows([""], []) == {pack(0, 1)}
    assert sorted(unpack(p)[1] for p in asked) == [1]  # the rows without a key were never looked at
