"""The samples/ datasets give exactly the findings planted in them
(samples/expected-findings.json, the table in samples/README.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from labelsense.cli.formats import finding_dict
from labelsense.core import engine

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_samples_give_exactly_the_planted_findings(monkeypatch) -> None:
    monkeypatch.chdir(SAMPLES)
    got = [finding_dict(f) for f in engine.check([SAMPLES]).findings]
    expected = json.loads((SAMPLES / "expected-findings.json").read_text())
    assert Counter((f["path"], f["line"], f["code"]) for f in got) == Counter((e["path"], e["line"], e["code"]) for e in expected)
    columns = {(f["path"], f["line"], f["code"]): f["column"] for f in got}
    for e in expected:
        if e["column"] is not None:
            assert columns[e["path"], e["line"], e["code"]] == e["column"], e


def test_readme_demo_command_exit_codes() -> None:
    demo = subprocess.run([sys.executable, "-m", "labelsense", "check", str(SAMPLES)], capture_output=True, text=True, timeout=120)
    assert demo.returncode == 1 and "Found 53 problems" in demo.stdout, demo.stdout + demo.stderr
    clean = subprocess.run([sys.executable, "-m", "labelsense", "check", str(SAMPLES / "clean")], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "All checks passed" in clean.stdout
