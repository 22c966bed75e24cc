"""JSONL manifests: one JSON object per line, read tolerantly and fast.

Each line is decoded by msgspec into only the role fields (validating the row
schema at the same time when it translates, see rowtype.py); rejected lines are
re-read exactly with orjson and jsonschema-rs. Lines that cannot be read become
LS101–LS104 problems with exact columns. CRLF line ends, a BOM and a missing final newline are tolerated.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import orjson

from .config import DatasetConfig, ROLES
from .gcpause import paused_gc
from .manifest import BoxColumn, Manifest, split_from_name
from .rowschema import RowSchema
from .rowtype import RowDecoder, row_decoder
from .types import Problem, Span

BOM = b"\xef\xbb\xbf"
DETECT_ROWS = 200
CHUNK = 65536


def detect_fields(rows: list[dict[str, Any]], dataset: DatasetConfig) -> dict[str, str | None]:
    """Which field plays each role: the configured one, else the first default seen in `rows`."""
    fields: dict[str, str | None] = {}
    for role in ROLES:
        candidates = dataset.field_candidates(role)
        if role in dataset.fields:
            fields[role] = candidates[0]
            continue
        present = next((c for c in candidates if any(c in r for r in rows)), None)
        fields[role] = present if present is not None or role not in ("key", "label") else candidates[0]
    return fields


def read_jsonl(path: Path, dataset: DatasetConfig, schema: RowSchema | None = None, data: bytes | None = None,
               with_boxes: bool = True) -> Manifest:
    """Read a JSONL manifest from disk (or from `data`, e.g. an editor buffer)."""
    manifest = Manifest(path=str(path), kind="jsonl", file_split=split_from_name(path.name))
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            manifest.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot read manifest: {exc.strerror or exc}"))
            return manifest
    if data.startswith(BOM):
        manifest.problems.append(Problem("LS104", Span(0, 0, 0, 1), "file starts with a UTF-8 byte order mark (BOM); JSONL must not have one"))
        data = data[3:]
    if not data or data.isspace():
        manifest.problems.append(Problem("LS103", Span(0, 0, 0, 0), "empty manifest: the file has no rows"))
        return manifest
    if b"\x00" in data[:8192] and not data[:1] == b"{":
        manifest.problems.append(Problem("LS104", Span(0, 0, 0, 0), "binary file (NUL bytes), not JSONL text"))
        return manifest
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    manifest.line_count = len(raw_lines)
    manifest.text_of = lambda line: raw_lines[line].decode("utf-8", errors="replace")

    loads = orjson.loads
    sample: list[dict[str, Any]] = []
    for raw in raw_lines[:DETECT_ROWS]:
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            continue
        if type(obj) is dict:
            sample.append(obj)
    fields = detect_fields(sample, dataset)
    manifest.fields = fields
    tf = fields["text"] if not (fields["content"] or fields["media"]) else None  # inline text: the content of last resort
    roles = {"keys": fields["key"], "labels": fields["label"], "splits": fields["split"], "annotators": fields["annotator"],
             "contents": fields["content"], "media": fields["media"], "votes": fields["votes"], "texts": tf,
             "bboxes": fields["bbox"] if with_boxes else None}
    columns: dict[str, Any] = {attr: BoxColumn() if attr == "bboxes" else [] for attr, name in roles.items() if name}
    lines: list[int] = []
    schema_failures: list[tuple[int, Any]] = []
    usable = schema is not None and schema.usable
    decoder = row_decoder({attr: name for attr, name in roles.items() if name}, schema.schema if usable and schema else None)
    # The exact path (orjson, full rows) when the schema needs full rows, or when the file has invalid
    # UTF-8: msgspec does not check the bytes of the fields it skips.
    exact = (usable and not decoder.validates) or not _valid_utf8(data)
    with paused_gc():
        for first in range(0, len(raw_lines), CHUNK):
            chunk = raw_lines[first : first + CHUNK]
            base = len(lines)
            if exact:
                rows, numbers = _parse_dicts(chunk, first, manifest.problems)
                lines.extend(numbers)
                for attr, column in columns.items():
                    name = roles[attr]
                    column.extend([r.get(name) for r in rows])
                if usable:
                    schema_failures.extend((base + i, r) for i, r in enumerate(rows) if not schema.is_valid(r))  # type: ignore[union-attr]
                continue
            structs, numbers, failed = _decode_structs(chunk, first, decoder, schema if usable else None, manifest.problems)
            lines.extend(numbers)
            for attr, column in columns.items():
                values = map(decoder.getters[attr], structs)
                if attr == "bboxes":  # compact: one float array per chunk when every row holds 4 numbers
                    column.extend([None if v is msgspec.UNSET else v for v in values] if attr in decoder.optional else list(values))
                else:
                    column.extend(values)
            schema_failures.extend((base + i, obj) for i, obj in failed)
    n = len(lines)
    manifest.lines = lines
    unset = msgspec.UNSET
    for attr in roles:
        column = columns.get(attr)
        if column is not None and attr in decoder.optional and attr != "bboxes":
            column = [None if v is unset else v for v in column]
        setattr(manifest, attr, column or [None] * n)
    manifest.schema_failures = [(row, schema.errors(obj)) for row, obj in schema_failures] if schema else []
    return manifest


def _valid_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_structs(chunk: list[bytes], first: int, decoder: RowDecoder, schema: RowSchema | None,
                    problems: list[Problem]) -> tuple[list[Any], range | list[int], list[tuple[int, Any]]]:
    """Decode lines into role structs. A chunk decodes in one go when every line is fine;
    otherwise line by line, re-reading each rejected line exactly (orjson, jsonschema-rs)."""
    decode = decoder.decode
    try:
        return [decode(raw) for raw in chunk], range(first, first + len(chunk)), []
    except Exception:  # noqa: BLE001 - any rejection (bad JSON, schema, UTF-8, depth): redo line by line
        pass
    structs: list[Any] = []
    numbers: list[int] = []
    failed: list[tuple[int, Any]] = []
    for lineno, raw in enumerate(chunk, first):
        try:
            structs.append(decode(raw))
            numbers.append(lineno)
            continue
        except Exception:  # noqa: BLE001 - the exact path below decides what is wrong
            pass
        obj = _exact(raw, lineno, problems)
        if obj is None:
            continue
        if schema is not None and not schema.is_valid(obj):
            failed.append((len(structs), obj))
        structs.append(decoder.from_dict(obj))
        numbers.append(lineno)
    return structs, numbers, failed


def _parse_dicts(chunk: list[bytes], first: int, problems: list[Problem]) -> tuple[list[dict[str, Any]], range | list[int]]:
    """Parse lines as whole objects (for schemas the fast path cannot check)."""
    loads = orjson.loads
    try:
        rows = [loads(raw) for raw in chunk]
        if all(type(r) is dict for r in rows):
            return rows, range(first, first + len(chunk))
    except orjson.JSONDecodeError:
        pass
    rows, numbers = [], []
    for lineno, raw in enumerate(chunk, first):
        if (obj := _exact(raw, lineno, problems)) is not None:
            rows.append(obj)
            numbers.append(lineno)
    return rows, numbers


def _exact(raw: bytes, lineno: int, problems: list[Problem]) -> dict[str, Any] | None:
    """One line read exactly with orjson: the row object, or None with its problem recorded."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        problems.append(_unreadable(raw, lineno))
        return None
    if type(obj) is not dict:
        problems.append(Problem("LS102", Span(lineno, 0, lineno, len(raw.rstrip(b"\r").decode("utf-8", "replace"))), f"row is {_json_kind(obj)}, not a JSON object"))
        return None
    return obj


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}.get(type(value), "not an object")


def _unreadable(raw: bytes, lineno: int) -> Problem:
    """LS101/LS103/LS104 for a line orjson rejected, with the exact column."""
    body = raw.rstrip(b"\r")
    if not body.strip():
        return Problem("LS103", Span(lineno, 0, lineno, len(body)), "blank line inside a JSONL file")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        col = len(body[: exc.start].decode("utf-8", "replace"))
        return Problem("LS104", Span(lineno, col, lineno, col + 1), f"invalid UTF-8 byte 0x{body[exc.start]:02x} at column {col + 1}")
    if "\x00" in text:
        col = text.index("\x00")
        return Problem("LS104", Span(lineno, col, lineno, col + 1), f"NUL byte at column {col + 1}")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        col = exc.pos
        detail = exc.msg
        if col >= len(text) or exc.msg.startswith("Unterminated string"):  # runs off the end of the line
            detail = f"unexpected end of line ({exc.msg.lower()}): truncated row?"
            col = len(text)
        return Problem("LS101", Span(lineno, col, lineno, min(col + 1, len(text))), f"invalid JSON: {detail}")
    return Problem("LS101", Span(lineno, 0, lineno, len(text)), "invalid JSON: NaN, Infinity or a number out of range")
