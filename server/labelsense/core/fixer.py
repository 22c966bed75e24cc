"""Apply fixes to files: only the bytes of each edit change, written atomically
(a temporary file beside the original, then a rename). Parquet manifests are
rewritten with their schema and metadata kept."""
from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from .jsonl import BOM
from .types import Edit


def apply_edits(edits: Iterable[Edit]) -> dict[str, int]:
    """Apply edits grouped by file; returns the number of edits applied per path.
    Overlapping edits in one file: the first wins, the others are skipped."""
    by_file: dict[str, list[Edit]] = defaultdict(list)
    for e in edits:
        by_file[e.path].append(e)
    applied = {}
    for path, file_edits in by_file.items():
        if any(e.column for e in file_edits):
            applied[path] = _apply_parquet(Path(path), file_edits)
        else:
            applied[path] = _apply_text(Path(path), file_edits)
    return applied


def _atomic_write(path: Path, write) -> None:  # noqa: ANN001 - write(tmp_path)
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _apply_text(path: Path, edits: list[Edit]) -> int:
    data = path.read_bytes()
    base = len(BOM) if data.startswith(BOM) else 0
    line_starts: dict[int, int] = {}
    wanted = {e.span.line for e in edits} | {e.span.end_line for e in edits}
    pos, line = base, 0
    while line <= max(wanted):
        line_starts[line] = pos
        nxt = data.find(b"\n", pos)
        if nxt < 0:
            break
        pos, line = nxt + 1, line + 1
    if pos >= 0 and line not in line_starts:
        line_starts[line] = pos

    def offset(ln: int, col: int) -> int:
        start = line_starts.get(ln, len(data))
        end = data.find(b"\n", start)
        text = data[start : end if end >= 0 else len(data)].decode("utf-8", "replace")
        return start + len(text[:col].encode("utf-8"))

    ranges = sorted(((offset(e.span.line, e.span.col), offset(e.span.end_line, e.span.end_col), e.text) for e in edits), key=lambda r: r[0])
    kept, last_end = [], -1
    for start, end, text in ranges:
        if start >= last_end:
            kept.append((start, end, text))
            last_end = end
    out = bytearray(data)
    for start, end, text in reversed(kept):
        out[start:end] = text.encode("utf-8")
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(bytes(out)))
    return len(kept)


def _apply_parquet(path: Path, edits: list[Edit]) -> int:
    source = pq.ParquetFile(path)
    table = source.read()
    compression = source.metadata.row_group(0).column(0).compression.lower() if source.metadata.num_row_groups else "snappy"
    row_group = max(source.metadata.row_group(0).num_rows, 1) if source.metadata.num_row_groups else None
    by_column: dict[str, dict[int, str]] = defaultdict(dict)
    for e in edits:
        by_column[e.column or ""].setdefault(e.span.line, e.text)
    for column, values in by_column.items():
        i = table.column_names.index(column)
        current = table.column(i).to_pylist()
        for row, value in values.items():
            current[row] = value
        table = table.set_column(i, table.schema.field(i), pa.array(current, type=table.schema.field(i).type))
    table = table.replace_schema_metadata(source.schema_arrow.metadata)
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=compression if compression != "uncompressed" else "none", row_group_size=row_group))
    return sum(len(v) for v in by_column.values())
