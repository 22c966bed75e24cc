"""Rules shared with a forked child (rulefork.py): the same findings as one process, the
key groups' slices taken by whichever side is free, a rule failing in the child reported,
a child that dies replaced by running its share here."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import msgspec
import pytest

from labelsense.core import engine, rulefork
from labelsense.core.rules.registry import BY_CODE, RULES
from labelsense.core.types import Finding, Span

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OURS = "LS403"  # a rule that runs on this side (not in CHILD_CODES), with findings in samples/pets
THEIRS = "LS405"  # the child's alone


@pytest.fixture
def dataset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(rulefork, "MIN_ROWS", 0)
    config = engine.discover([SAMPLES / "pets"])[0][0]
    spec = config.datasets[0]
    return engine.load_dataset(config, spec, engine.dataset_files(config, spec))


def _key(f: Finding) -> tuple:
    return f.path, f.span.line, f.span.col, f.code, f.message, f.related, f.fixes, f.severity


def test_forked_run_finds_what_one_process_finds(dataset) -> None:
    rules = [r for r in RULES if not r.code.startswith("LS5")]
    serial = rulefork.run_each(dataset, rules, lambda r, e: pytest.fail(f"{r.code}: {e!r}"))
    parent = os.getpid()
    forked, _ = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(f"{r.code}: {e!r}"))
    assert os.getpid() == parent
    assert sorted(map(_key, forked)) == sorted(map(_key, serial))
    assert {f.code for f in serial} & rulefork.SHARED_CODES and {f.code for f in serial} - rulefork.SHARED_CODES


def _slow_here(rule_code: str, seconds: float):  # noqa: ANN202
    """`rule_code`'s rule, taking `seconds` longer in this process (so the child takes every slice)."""
    parent, rule = os.getpid(), BY_CODE[rule_code]

    def check(ds):  # noqa: ANN001, ANN202
        if os.getpid() == parent:
            time.sleep(seconds)
        return rule.check(ds)

    return dataclasses.replace(rule, check=check)


def test_rendered_findings_come_back_rendered_as_here(dataset) -> None:
    """With a renderer each side renders its own findings; the child's come back with their
    fragments, and without related locations and fixes (the fragments hold those)."""
    rules = [_slow_here(r.code, 0.5) if r.code == OURS else r for r in RULES if not r.code.startswith("LS5")]
    render = lambda found: [repr(_key(f)).encode() for f in found]  # noqa: E731 - related and fixes included
    serial = rulefork.run_each(dataset, rules, lambda r, e: pytest.fail(f"{r.code}: {e!r}"))
    forked, fragments = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(f"{r.code}: {e!r}"), render=render)
    assert fragments is not None and sorted(map(bytes, fragments)) == sorted(render(serial))
    child = [f for f in forked if f.code in rulefork.SHARED_CODES]  # this side was busy: the child took every slice
    assert child and all(f.related == () and f.fixes == () for f in child)
    assert any(f.related for f in serial if f.code in rulefork.SHARED_CODES)  # so the line above says something
    order = lambda f: (f.path, msgspec.structs.astuple(f.span), f.code, f.message)  # noqa: E731
    assert sorted(map(order, forked)) == sorted(map(order, serial))


def _broken(code: str):  # noqa: ANN202
    def broken(ds):  # noqa: ANN001, ANN202
        raise ValueError("boom")

    return dataclasses.replace(BY_CODE[code], check=broken)


def test_a_rule_failing_in_the_child_is_reported(dataset) -> None:
    failed: list[tuple[str, BaseException]] = []
    found, _ = rulefork.run_forked(dataset, [_broken(THEIRS), BY_CODE[OURS]], lambda r, e: failed.append((r.code, e)))
    assert [(code, repr(e)) for code, e in failed] == [(THEIRS, "ValueError('boom')")]
    assert isinstance(failed[0][1], rulefork.ChildRuleError) and "raise ValueError" in failed[0][1].trace
    assert found and {f.code for f in found} == {OURS}


def test_a_shared_rule_that_fails_on_every_slice_is_reported_once(dataset) -> None:
    failed: list[tuple[str, BaseException]] = []
    found, _ = rulefork.run_forked(dataset, [_broken("LS401"), BY_CODE[OURS]], lambda r, e: failed.append((r.code, e)))
    assert [(code, repr(e)) for code, e in failed] == [("LS401", "ValueError('boom')")]
    assert found and {f.code for f in found} == {OURS}


def _ran_where(code: str, parent: int, child: str = "live", seconds: float = 0.0):  # noqa: ANN202
    """`code`'s rule replaced by one finding per key group it is given, saying which process
    made it; in the child it lives, dies or hangs."""
    def check(ds):  # noqa: ANN001, ANN202
        here = os.getpid() == parent
        if not here and child == "die":
            os._exit(3)
        if not here and child == "hang":
            time.sleep(120)  # a lock another thread held at the fork, say
        time.sleep(seconds)
        return [BY_CODE[code].at("x.jsonl", Span(g[0].row, 0, g[0].row, 1), f"{g[0]} in the {'parent' if here else 'child'}") for g in ds.key_groups]

    return dataclasses.replace(BY_CODE[code], check=check)


def test_a_child_that_dies_is_replaced_by_running_its_share_here(dataset) -> None:
    parent = os.getpid()
    rules = [_ran_where(THEIRS, parent, "die"), _ran_where("LS401", parent, "die"), BY_CODE[OURS]]
    found, _ = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(repr(e)))
    for code in (THEIRS, "LS401"):
        assert sorted(f.message for f in found if f.code == code) == sorted(f"{g[0]} in the parent" for g in dataset.key_groups)
    assert any(f.code == OURS for f in found)


def test_a_child_that_hangs_is_killed_and_its_share_run_here(dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rulefork, "MIN_WAIT", 0.5)
    parent = os.getpid()
    rules = [_ran_where(THEIRS, parent, "hang"), _ran_where("LS401", parent, "hang"), BY_CODE[OURS]]
    started = time.monotonic()
    found, _ = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(repr(e)))
    assert time.monotonic() - started < 30
    for code in (THEIRS, "LS401"):
        assert sorted(f.message for f in found if f.code == code) == sorted(f"{g[0]} in the parent" for g in dataset.key_groups)


def test_both_sides_take_slices_of_the_key_groups_and_each_slice_is_checked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rulefork, "MIN_ROWS", 0)
    monkeypatch.setattr(rulefork, "SLICES", 8)
    rows = [f'{{"id": "k{i % 40}", "label": "{"cat" if i < 40 else "dog"}"}}' for i in range(80)]
    (tmp_path / "train.jsonl").write_text("\n".join(rows) + "\n")
    config = engine.discover([tmp_path])[0][0]
    ds = engine.load_dataset(config, config.datasets[0], engine.dataset_files(config, config.datasets[0]))
    assert len(ds.key_groups) == 40
    shared = _ran_where("LS401", os.getpid(), seconds=0.2)  # each slice takes a while on either side
    found, _ = rulefork.run_forked(ds, [shared, BY_CODE[OURS]], lambda r, e: pytest.fail(repr(e)))
    made = [f.message for f in found if f.code == "LS401"]
    assert sorted(m.split(" in the ")[0] for m in made) == sorted(str(g[0]) for g in ds.key_groups)  # each group once
    assert {m.split(" in the ")[1] for m in made} == {"parent", "child"}


def test_no_child_to_be_had_means_every_rule_runs_here(dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    rules = [BY_CODE["LS401"], BY_CODE[OURS]]
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    found, _ = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(repr(e)))
    assert {f.code for f in found} == {f.code for f in rulefork.run_each(dataset, rules, lambda r, e: None)}
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before  # the pipe was closed


@pytest.mark.parametrize("memfd", [True, False], ids=["in memory", "temporary file"])
def test_the_payload_comes_back_in_memory_or_through_a_file(dataset, monkeypatch: pytest.MonkeyPatch, memfd: bool) -> None:
    if not memfd:
        def no_memfd(*args):  # noqa: ANN002, ANN202 - a kernel or platform without it
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(os, "memfd_create", no_memfd, raising=False)
    rules = [BY_CODE["LS401"], BY_CODE[OURS]]
    found, _ = rulefork.run_forked(dataset, rules, lambda r, e: pytest.fail(repr(e)))
    assert sorted(map(_key, found)) == sorted(map(_key, rulefork.run_each(dataset, rules, lambda r, e: None)))
    assert {f.code for f in found} == {"LS401", OURS}
