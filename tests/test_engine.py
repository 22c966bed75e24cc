"""The order and uniqueness of `check`'s findings: sorted by file, line, column and code
(ties as found), each reported once even when two datasets check the same file."""
from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest

from labelsense.core import engine
from labelsense.core.types import Finding, Span

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def _reference(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if (ident := (f.path, f.span, f.code, f.message)) not in seen:
            seen.add(ident)
            out.append(f)
    return sorted(out, key=lambda f: (f.path, f.span.line, f.span.col, f.code))


def test_output_order_sorts_stably_and_drops_repeats() -> None:
    rng = random.Random(7)
    for _ in range(200):
        findings = [Finding(rng.choice(["LS401", "LS301", "LS1"]), rng.choice(["b.jsonl", "a.jsonl", "a/b.jsonl"]),
                            Span(rng.randrange(3), rng.randrange(3), 0, rng.randrange(2)), rng.choice(["x", "y"]))
                    for _ in range(rng.randrange(0, 40))]
        assert [findings[i] for i in engine._output_order(findings)] == _reference(findings)


def test_a_file_in_two_datasets_is_reported_once(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    shutil.copytree(SAMPLES / "pets", root)
    config = (root / "labelsense.toml").read_text()
    one = engine.check([root]).findings
    block = config[config.index("[[dataset]]"):config.index("[rules]")]
    (root / "labelsense.toml").write_text(config.replace(block, block + block.replace('name = "pets"', 'name = "pets-again"')))
    two = engine.check([root]).findings
    rows = lambda found: [f for f in found if f.path.endswith(".jsonl")]  # noqa: E731 - taxonomy findings name their dataset
    assert rows(one) and rows(two) == rows(one)
    assert len({(f.path, f.span, f.code, f.message) for f in two}) == len(two) > len(one)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_media_paths_are_skipped_only_when_no_rule_reads_them(tmp_path: Path, fmt: str) -> None:
    """Without the media rules (LS5) a manifest whose rows have a content field is read without
    its media paths; every other finding stays the same."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate

    root = tmp_path / "bench"
    generate.generate(3000, root, 0, fmt)
    config = root / "labelsense.toml"
    without: list = []
    skipped = engine.check([root], keep=without).findings
    assert all(v is None for m in without[0].manifests for v in m.media)  # the benchmark ignores LS5: not read
    config.write_text(config.read_text().replace('ignore = ["LS5"]', "ignore = []"))
    kept: list = []
    everything = engine.check([root], keep=kept).findings
    assert any(v is not None for m in kept[0].manifests for v in m.media)
    assert any(f.code.startswith("LS5") for f in everything)
    assert skipped == [f for f in everything if not f.code.startswith("LS5")]
