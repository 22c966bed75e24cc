"""Bad input never crashes a run or writes a file: each gets a finding or an
error naming the file and the problem, and the other files are still checked."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONFIG = """
[[dataset]]
name = "pets"
manifests = ["data/**/*.jsonl", "data/**/*.parquet"]
taxonomy = "taxonomy.yaml"
schema = "row.schema.json"
"""
TAXONOMY = "version: 1\nclasses:\n  cat: {}\n  dog: {}\n"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labelsense", "check", str(root), "--format", "json", *args],
                          capture_output=True, text=True, timeout=120, cwd=root)


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_every_kind_of_bad_manifest_is_reported_and_nothing_is_written(tree) -> None:
    good_table = pa.table({"id": ["p1", "p2"], "label": ["cat", "dog"]})
    root = tree({
        "labelsense.toml": CONFIG,
        "taxonomy.yaml": TAXONOMY,
        "row.schema.json": json.dumps({"type": "object", "properties": {"label": {"type": "string"}}}),
        "data/good.jsonl": '{"id": "g1", "label": "cat"}\n{"id": "g2", "label": "Dog"}\n',
        "data/truncated.jsonl": '{"id": "t1", "label": "cat"}\n{"id": "t2", "lab',
        "data/huge.jsonl": '{"id": "h1", "label": "cat", "text": "' + "x" * 10_000_000 + '"}\n{"id": "h2", "label": "cat", "bad": }\n',
        "data/utf8.jsonl": b'{"id": "u1", "label": "caf\xe9"}\n{"id": "u2", "label": "cat"}\n',
        "data/bom.jsonl": b'\xef\xbb\xbf{"id": "b1", "label": "cat"}\n',
        "data/nul.jsonl": b'{"id": "n1", "label": "cat"}\n{"id": "n2",\x00 "label": "dog"}\n',
        "data/crlf.jsonl": b'{"id": "c1", "label": "cat"}\r\n{"id": "c2", "label": "dgo"}\r\n',
        "data/empty.jsonl": b"",
        "data/binary.jsonl": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "data/corrupt.parquet": b"PAR1 this is not really parquet PAR1",
    })
    pq.write_table(good_table, root / "data" / "ok.parquet")
    data = (root / "data" / "ok.parquet").read_bytes()
    (root / "data" / "truncated.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(pa.table({"id": ["x1"], "klass": ["cat"]}), root / "data" / "nolabel.parquet")
    os.symlink(root / "data", root / "data" / "loop")  # a symlink loop in the tree
    before = digest(root)

    result = run(root)

    assert result.returncode == 1, result.stderr
    assert digest(root) == before  # nothing written
    found = {(f["path"], f["code"]) for f in json.loads(result.stdout)}
    for path, code in [
        ("data/good.jsonl", "LS301"),  # the good file is still checked: 'Dog'
        ("data/truncated.jsonl", "LS101"),
        ("data/huge.jsonl", "LS101"),
        ("data/utf8.jsonl", "LS104"),
        ("data/bom.jsonl", "LS104"),
        ("data/nul.jsonl", "LS104"),
        ("data/crlf.jsonl", "LS301"),  # CRLF rows parse; the typo is still found
        ("data/empty.jsonl", "LS103"),
        ("data/binary.jsonl", "LS104"),
        ("data/corrupt.parquet", "LS105"),
        ("data/truncated.parquet", "LS105"),
        ("data/nolabel.parquet", "LS203"),
    ]:
        assert (path, code) in found, (path, code, sorted(found))
    messages = {f["path"]: f["message"] for f in json.loads(result.stdout) if f["code"] in ("LS104", "LS105")}
    assert "0xe9" in messages["data/utf8.jsonl"]
    assert "Parquet" in messages["data/corrupt.parquet"]
    assert not any("loop" in f["path"] for f in json.loads(result.stdout))  # the loop is not followed
    huge = [f for f in json.loads(result.stdout) if f["path"] == "data/huge.jsonl"]
    assert [(f["line"], f["code"]) for f in huge] == [(2, "LS101")]


def test_bad_taxonomies_are_findings_on_the_taxonomy(tree) -> None:
    root = tree({
        "labelsense.toml": CONFIG.replace('schema = "row.schema.json"\n', ""),
        "taxonomy.yaml": "version: 1\nclasses:\n  a: {parent: b}\n  b: {parent: a}\n  c: {parent: nope}\n  a: {}\n",
        "data/train.jsonl": '{"id": "1", "label": "a"}\n',
    })
    found = [(f["line"], f["code"]) for f in json.loads(run(root).stdout) if f["path"] == "taxonomy.yaml"]
    assert (6, "LS310") in found and (5, "LS311") in found
    assert sum(1 for _, c in found if c == "LS311") == 3  # a and b in the cycle, c's unknown parent


def test_invalid_row_schema_and_remote_ref_are_reported_never_fetched(tree) -> None:
    root = tree({
        "labelsense.toml": CONFIG,
        "taxonomy.yaml": TAXONOMY,
        "row.schema.json": json.dumps({"type": "object", "properties": {"label": {"$ref": "https://example.invalid/label.json"}}}),
        "data/train.jsonl": '{"id": "1", "label": "cat"}\n',
    })
    findings = [f for f in json.loads(run(root).stdout) if f["severity"] != "info"]
    assert [(f["path"], f["code"]) for f in findings] == [("row.schema.json", "LS201")]
    assert "remote $ref 'https://example.invalid/label.json'" in findings[0]["message"]
    (root / "row.schema.json").write_text(json.dumps({"type": "object", "properties": {"label": {"type": "strin"}}}))
    findings = [f for f in json.loads(run(root).stdout) if f["severity"] != "info"]
    assert [(f["path"], f["code"]) for f in findings] == [("row.schema.json", "LS201")]
    assert "not a valid JSON Schema" in findings[0]["message"]


def test_invalid_config_exits_2_naming_file_and_key_and_other_datasets_still_run(tree) -> None:
    root = tree({
        "a/labelsense.toml": CONFIG.replace("taxonomy =", "taxonomi =").replace('schema = "row.schema.json"\n', ""),
        "a/data/train.jsonl": '{"id": "1", "label": "cat"}\n',
        "b/labelsense.toml": CONFIG.replace('schema = "row.schema.json"\n', ""),
        "b/taxonomy.yaml": TAXONOMY,
        "b/data/train.jsonl": '{"id": "1", "label": "cta"}\n',
    })
    result = run(root)
    assert result.returncode == 2
    assert "a/labelsense.toml" in result.stderr and "unknown key 'dataset[0].taxonomi'" in result.stderr and "did you mean 'taxonomy'" in result.stderr
    assert [(f["path"], f["code"]) for f in json.loads(result.stdout) if f["severity"] != "info"] == [("b/data/train.jsonl", "LS301")]


def test_missing_path_and_unknown_selector_are_usage_errors(tree) -> None:
    root = tree({"data/train.jsonl": '{"id": "1", "label": "cat"}\n'})
    result = subprocess.run([sys.executable, "-m", "labelsense", "check", str(root / "nope")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no such file or directory" in result.stderr
    result = subprocess.run([sys.executable, "-m", "labelsense", "check", str(root), "--select", "LS9999"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown rule selector 'LS9999'" in result.stderr


def test_a_column_that_changes_type_deep_in_a_large_manifest_is_a_finding_not_a_crash(tree) -> None:
    """Two exports appended: single labels for 16 MiB, then label lists. pyarrow (26)
    segfaults when it reconciles a column whose type differs between the blocks it read
    whole (16 MiB blocks, as labelsense read them before); the manifest is read block by
    block, or as one block (arrowjson.py), and the run goes on with a finding."""
    width = 200  # every line this long, so the line across 16 MiB is known: the first of the second block
    row = lambda i, label: (line := json.dumps({"id": f"r{i:06d}", "label": label, "note": ""})[:-2]) + "x" * (width - len(line) - 2) + '"}'  # noqa: E731
    first_list = (16 << 20) // (width + 1)
    rows = [row(i, "cat") if i < first_list else row(i, ["cat"]) for i in range(first_list + 30_000)]
    rows[first_list + 5] = row(first_list + 5, ["cat", "dgo"])  # a finding past the change: the rows there were read
    assert {len(r) for r in rows} == {width}
    root = tree({"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY, "row.schema.json": json.dumps({"type": "object"}),
                 "data/big.jsonl": "\n".join(rows) + "\n"})
    result = run(root)
    assert result.returncode == 1, result.stderr
    assert [(d["line"], d["code"]) for d in json.loads(result.stdout) if d["path"].endswith("big.jsonl")] == [(first_list + 6, "LS301")]
