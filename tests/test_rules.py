"""Every rule's data fixture: tests/fixtures/rules/<CODE>.yaml holds the files of a
small dataset (config, taxonomy, manifests; Parquet as row lists; media files
described under `media:` and made with Pillow) and the exact findings expected
from that rule alone, as [path, line, column, code] (1-based,
as the CLI prints them), with optional message fragments."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from labelsense.cli.formats import finding_dict
from labelsense.core import engine
from labelsense.core.rules.registry import BY_CODE, RULES

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def test_every_rule_has_a_fixture() -> None:
    assert {r.code for r in RULES} <= {p.stem for p in FIXTURES.glob("*.yaml")}


def test_every_rule_doc_has_its_sections() -> None:
    for r in RULES:
        for section in ("What it does:", "Why it matters:", "Example:", "Fix:"):
            assert section in r.doc, f"{r.code} doc lacks {section!r}"


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_rule_fixture(fixture: Path, tree, media_files, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = yaml.safe_load(fixture.read_text("utf-8"))
    root = tree({name: (content.encode("latin-1") if spec.get("binary", {}).get(name) else content) for name, content in spec["files"].items()})
    media_files(root, spec.get("media", {}))  # images, clips, links: made at test time (see conftest.write_media)
    monkeypatch.chdir(root)
    report = engine.check([root], select=(fixture.stem,))
    assert not report.errors
    got = sorted((d["path"], d["line"], d["column"], d["code"]) for d in map(finding_dict, report.findings))
    expected = sorted(tuple(e) for e in spec["expected"])
    assert got == expected
    messages = [f.message for f in report.findings]
    for fragment in spec.get("messages", []):
        assert any(fragment in m for m in messages), f"no message contains {fragment!r}: {messages}"


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("LS40*.yaml")), ids=lambda p: p.stem)
def test_rules_find_the_same_without_numbered_columns(fixture: Path, tree, media_files, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grouping rules pass over groups by their rows' label, split and annotator numbers
    (`base.picked`, `base.one_annotator`): numbered columns come from Arrow, so the fixture's
    JSONL is read by Arrow here however small. Without numbers the rules look at every group
    and every annotator, and must find exactly the same."""
    from labelsense.core import jsonl
    from labelsense.core.dataset import Dataset
    from labelsense.core.rules import base

    spec = yaml.safe_load(fixture.read_text("utf-8"))
    root = tree({name: (content.encode("latin-1") if spec.get("binary", {}).get(name) else content) for name, content in spec["files"].items()})
    media_files(root, spec.get("media", {}))
    monkeypatch.chdir(root)
    monkeypatch.setattr(jsonl, "ARROW_MIN", 0)
    spreads: list[bool] = []
    alike: list[bool] = []
    spread, rule = Dataset.spread, sys.modules[BY_CODE[fixture.stem].check.__module__]
    monkeypatch.setattr(Dataset, "spread", lambda self, *a, **k: spreads.append((found := spread(self, *a, **k)) is not None) or found)
    if hasattr(rule, "one_annotator"):
        monkeypatch.setattr(rule, "one_annotator", lambda ds, groups: alike.extend(found := base.one_annotator(ds, groups)) or found)
    numbered = engine.check([root], select=(fixture.stem,)).findings
    assert any(spreads), "no group was passed over by its numbers"
    if fixture.stem in ("LS401", "LS402"):
        assert True in alike and False in alike, "both ways of comparing annotators are tried"
    for name in ("label_numbers", "split_numbers", "annotator_numbers"):
        monkeypatch.setattr(Dataset, name, property(lambda self: None))
    assert numbered and engine.check([root], select=(fixture.stem,)).findings == numbered


def test_rule_reference_is_in_sync_with_the_docstrings() -> None:
    from labelsense.core.rules.docs import rules_markdown

    path = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    assert path.read_text("utf-8") == rules_markdown(), "regenerate: python -c 'from labelsense.core.rules.docs import rules_markdown; open(\"docs/rules.md\",\"w\").write(rules_markdown())'"
