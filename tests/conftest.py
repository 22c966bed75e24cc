"""Shared test helpers: write a dataset tree from a mapping, run the engine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def write_tree(root: Path, files: dict[str, Any]) -> None:
    """Write files: text (str), raw bytes, or, for `.parquet` names, a list of row dicts."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet") and isinstance(content, list):
            pq.write_table(pa.Table.from_pylist(content), path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")


@pytest.fixture
def tree(tmp_path: Path):
    def make(files: dict[str, Any]) -> Path:
        write_tree(tmp_path, files)
        return tmp_path

    return make
