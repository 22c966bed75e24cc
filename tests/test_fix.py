"""`check --fix`: only safe fixes, only the bytes they change, atomically;
Parquet rewritten keeping its schema and metadata."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONFIG = """
[[dataset]]
name = "pets"
manifests = ["data/*.jsonl", "data/*.parquet"]
taxonomy = "taxonomy.yaml"
"""
TAXONOMY = "version: 1\nclasses:\n  cat: {aliases: [kitty, 'ké tty']}\n  dog: {}\n"


def check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labelsense", "check", str(root), "--format", "json", *args],
                          capture_output=True, text=True, timeout=120, cwd=root)


def test_fix_rewrites_only_the_alias_bytes(tree) -> None:
    original = ('{"id": "1",   "label": "kitty", "note": "🐱 spacing  kept"}\r\n'
                '{"id": "2", "label": "Dgo"}\n'
                '{"id": "3", "label": "ké tty"}\n'
                '{"id": "4", "label": "cat"}')  # no final newline
    root = tree({"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY, "data/train.jsonl": original})
    result = check(root, "--fix")
    fixed = (root / "data" / "train.jsonl").read_bytes().decode("utf-8")
    assert fixed == original.replace('"kitty"', '"cat"').replace('"ké tty"', '"cat"')
    codes = [f["code"] for f in json.loads(result.stdout)]
    assert "LS302" not in codes and "LS301" in codes  # the unknown class is not "safe": left alone
    assert "Fixed 2" in result.stderr
    assert not list(root.glob("data/.*.tmp"))  # no temporary file left behind


def test_without_fix_nothing_is_written(tree) -> None:
    root = tree({"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY, "data/train.jsonl": '{"id": "1", "label": "kitty"}\n'})
    before = (root / "data" / "train.jsonl").stat().st_mtime_ns
    assert check(root).returncode == 1
    assert (root / "data" / "train.jsonl").stat().st_mtime_ns == before


def test_fix_parquet_keeps_schema_and_metadata(tree) -> None:
    root = tree({"labelsense.toml": CONFIG, "taxonomy.yaml": TAXONOMY})
    (root / "data").mkdir()
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("label", pa.string()), pa.field("score", pa.float32())],
                       metadata={b"origin": b"labelling-tool v3"})
    table = pa.table({"id": ["1", "2", "3"], "label": ["kitty", "dog", "cat"], "score": [0.5, 0.25, 1.0]}, schema=schema)
    path = root / "data" / "train.parquet"
    pq.write_table(table, path, compression="zstd")
    check(root, "--fix")
    after = pq.read_table(path)
    assert after.schema == schema and after.schema.metadata == schema.metadata
    assert after.column("label").to_pylist() == ["cat", "dog", "cat"]
    assert after.column("score").to_pylist() == [0.5, 0.25, 1.0]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
