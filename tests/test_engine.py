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


@pytest.mark.parametrize("field", ["image", "bbox"])
def test_a_value_json_cannot_hold_is_invalid_whichever_rules_run(tmp_path: Path, field: str) -> None:
    """Fields read only for the media rules are still decoded when those rules do not run:
    `1e999` there is an invalid row (LS101) either way, and the other findings stay the same."""
    (tmp_path / "data").mkdir()
    (tmp_path / "labelsense.toml").write_text('[[dataset]]\nname = "d"\nmanifests = ["data/*.jsonl"]\ncontent = "sha256"\n')
    rows = ['{"id": "a", "label": "cat", "sha256": "x1", "image": "a.jpg", "bbox": [0, 0, 1, 1]}',
            '{"id": "b", "label": "dog", "sha256": "x2", "image": ' + ('1e999' if field == "image" else '"b.jpg"')
            + ', "bbox": ' + ('[1e999, 0, 1, 1]' if field == "bbox" else '[0, 0, 1, 1]') + '}',
            '{"id": "a", "label": "dog", "sha256": "x3", "image": "c.jpg", "bbox": [0, 0, 1, 1]}']
    (tmp_path / "data" / "train.jsonl").write_text("\n".join(rows) + "\n")
    everything = [f for f in engine.check([tmp_path]).findings if not f.code.startswith("LS5")]
    without_media_rules = engine.check([tmp_path], ignore=("LS5",)).findings
    assert [(f.code, f.span.line) for f in without_media_rules if f.code == "LS101"] == [("LS101", 1)]
    assert without_media_rules == everything


def test_every_dataset_checked_is_kept_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    shutil.copytree(SAMPLES / "pets", root)
    config = (root / "labelsense.toml").read_text()
    block = config[config.index("[[dataset]]"):config.index("[rules]")]
    copies = "".join(block.replace('name = "pets"', f'name = "pets-{i}"') for i in range(2))
    (root / "labelsense.toml").write_text(config.replace(block, block + copies))
    held: list = []
    engine.check([root / "data" / "train.jsonl"], keep=held)  # a target that leaves findings of other files out
    assert len(held) == 3


def _codes(tmp_path: Path, files: dict[str, str | bytes]) -> list[tuple[str, str, int]]:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    report = engine.check([tmp_path])
    assert not report.errors, report.errors
    return sorted((Path(f.path).name, f.code, f.span.line) for f in report.findings)


def test_an_unlabelled_first_row_does_not_hide_a_conflict(tmp_path: Path) -> None:
    """Labels numbered per manifest may skip a number (the unlabelled row's): groups are still compared right."""
    found = _codes(tmp_path, {"labelsense.toml": '[[dataset]]\nmanifests = ["data/*.jsonl"]\n',
                              "data/train.jsonl": '{"id": "z"}\n{"id": "k1", "label": "cat"}\n{"id": "k2", "label": "dog"}\n',
                              "data/test.jsonl": '{"id": "k1", "label": "dog"}\n'})
    assert [f for f in found if f[1] == "LS401"] == [("test.jsonl", "LS401", 0), ("train.jsonl", "LS401", 1)]


def test_a_dataset_without_manifests_has_no_groups_and_no_internal_errors(tmp_path: Path) -> None:
    assert _codes(tmp_path, {"labelsense.toml": '[[dataset]]\nmanifests = ["data/*.jsonl"]\n'}) == []
