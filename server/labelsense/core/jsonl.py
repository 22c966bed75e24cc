"""JSONL manifests: one JSON object per line, read tolerantly and fast.

A file of 1 MB or more is parsed whole by Arrow when that provably gives the same
rows (arrowjson.py), and its row schema checked by column (rowschema.py). Else each
line is decoded by msgspec into only the role fields (validating the row
schema at the same time when it translates, see rowtype.py); rejected lines are
re-read exactly with orjson and jsonschema-rs. Lines that cannot be read become
LS101–LS104 problems with exact columns. CRLF line ends, a BOM and a missing final newline are tolerated.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec
import orjson
import pyarrow.compute as pc

from . import arrowjson, arrowpool
from .config import DatasetConfig, ROLES
from .filelines import FileLines
from .gcpause import paused_gc
from .column import LazyColumn, NullColumn
from .manifest import ROLE_COLUMNS, SHARED_ATTRS, BoxColumn, Manifest, shared, split_from_name, table_column, unread_columns
from .rowschema import ErrorList, RowSchema
from .rowtype import RowDecoder, row_decoder
from .types import Problem, Span

BOM = b"\xef\xbb\xbf"
DETECT_ROWS = 200
CHUNK = 65536
ARROW_MIN = 1 << 20  # bytes from which a manifest is first offered to Arrow's reader (arrowjson.py)


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
               with_boxes: bool = True, text_of: Callable[[int], str] | None = None, with_media: bool = True) -> Manifest:
    """Read a JSONL manifest from disk (or from `data`, e.g. an editor buffer, whose lines
    `text_of` gives: then the manifest keeps no copy of them). `with_boxes` / `with_media`
    False: see `RowReader.of`."""
    manifest = Manifest(path=str(path), kind="jsonl", file_split=split_from_name(path.name))
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            manifest.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot read manifest: {exc.strerror or exc}"))
            return manifest
    base = 0
    if data.startswith(BOM):
        manifest.problems.append(Problem("LS104", FILE_SPAN, "file starts with a UTF-8 byte order mark (BOM); JSONL must not have one"))
        data, base = data[3:], 3
    if not data or data.isspace():
        manifest.problems.append(Problem("LS103", Span(0, 0, 0, 0), "empty manifest: the file has no rows"))
        return manifest
    if b"\x00" in data[:8192] and not data[:1] == b"{":
        manifest.problems.append(Problem("LS104", Span(0, 0, 0, 0), "binary file (NUL bytes), not JSONL text"))
        return manifest
    store = FileLines(data, base)
    valid_utf8 = _valid_utf8(data)
    if len(data) >= ARROW_MIN and valid_utf8 and _read_whole(manifest, data, store, dataset, schema, with_boxes, with_media):
        _keep_text(manifest, store, text_of)
        return manifest
    pieces = store.pieces()
    read: list[list[bytes]] = []  # pieces split before the fields are known
    head: list[bytes] = []
    for piece in pieces:
        read.append(piece)
        head += piece[: DETECT_ROWS - len(head)]
        if len(head) >= DETECT_ROWS:
            break
    fields = detect_fields(_sample(head), dataset)
    manifest.fields = fields
    reader = RowReader.of(dataset, fields, schema, with_boxes, exact=not valid_utf8, with_media=with_media)
    manifest.reader = reader
    columns: dict[str, Any] = {attr: BoxColumn() if attr == "bboxes" else [] for attr in reader.kept}
    lines: list[int] = []
    schema_failures: list[tuple[int, Any]] = []
    first = 0
    with paused_gc():
        for piece in itertools.chain(_drain(read), pieces):
            for at in range(0, len(piece), CHUNK):
                chunk = piece[at : at + CHUNK]
                block = reader.read(chunk, first, manifest.problems)
                first += len(chunk)
                base = len(lines)
                lines.extend(block.numbers)
                for attr, column in columns.items():
                    column.extend(block.columns[attr])
                schema_failures.extend((base + i, obj) for i, obj in block.failures)
    _keep_text(manifest, store, text_of)
    n = len(lines)
    manifest.lines = lines
    for attr in ROLE_ATTRS:
        setattr(manifest, attr, columns.get(attr) or NullColumn(n))
    manifest.schema_failures = [(row, schema.errors(obj)) for row, obj in schema_failures] if schema else []
    return manifest


def _keep_text(manifest: Manifest, store: FileLines, text_of: Callable[[int], str] | None) -> None:
    manifest.line_count = len(store)
    if text_of is not None:
        manifest.text_of = text_of
    else:
        manifest.raw_lines = store
        manifest.text_of = store.text


def _read_whole(manifest: Manifest, data: bytes, store: FileLines, dataset: DatasetConfig, schema: RowSchema | None,
                with_boxes: bool, with_media: bool) -> bool:
    """Read the rows with Arrow's JSON reader (arrowjson.py) when it can stand in for the line
    reader; False, with `manifest` untouched, when it cannot."""
    store.index()
    fields = detect_fields(_sample([store[i] for i in range(min(DETECT_ROWS, len(store)))]), dataset)
    reader = RowReader.of(dataset, fields, schema, with_boxes, exact=False, with_media=with_media)
    if reader.schema is not None and not reader.schema.columnar:
        return False  # rows are checked against it one by one: the line reader does that as it reads
    with paused_gc():
        table = arrowjson.read_table(data, store, set(reader.kept.values()))
        if table is None:
            return False
        screen = reader.schema.table_errors_later(table, columnar_only=True) if reader.schema is not None else None
        n = table.num_rows
        columns = {attr: table_column(table, reader.kept.get(attr), attr, reader.pools.setdefault(attr, {}) if attr in SHARED_ATTRS else {})
                   for attr in ROLE_ATTRS}
        failures: list[tuple[int, ErrorList]] = []
        if screen is not None:
            screened = screen.result()  # a screen: a null there is an absent field
            if screened is None:
                return False
            suspects = set(screened)
            nulls = [col for col in table.columns if col.null_count]
            if nulls and b"null" in data:  # a null written out is not an absent field: those rows are checked exactly
                for col in nulls:
                    suspects.update(pc.indices_nonzero(pc.is_null(col)).to_pylist())
            for row in sorted(suspects):
                if errors := reader.schema.errors(orjson.loads(store[row])):
                    failures.append((row, errors))
    del table
    arrowpool.release()
    for attr, values in columns.items():
        setattr(manifest, attr, values)
    manifest.fields, manifest.reader, manifest.lines = fields, reader, range(n)
    manifest.schema_failures = failures
    return True


def _drain(items: list[Any]) -> Iterator[Any]:
    """The items, each let go of as it is taken."""
    while items:
        yield items.pop(0)


def splice(manifest: Manifest, first: int, new_lines: list[bytes]) -> tuple[int, int, int] | None:
    """Replace lines `first`…`first + len(new_lines)` of a manifest read by `read_jsonl`
    with `new_lines` (as many lines as before), re-reading only those lines.

    Returns (first row, end of the old rows, end of the new rows), or None when the
    manifest cannot be updated in place (not read from JSONL text, or a problem with
    the whole file such as a BOM); the caller then reads the file again."""
    m = manifest
    end = first + len(new_lines)
    if m.reader is None or m.text_of is None or end > m.line_count or any(p.span == FILE_SPAN for p in m.problems):
        return None
    if first < DETECT_ROWS:
        if m.raw_lines is not None:
            head = [new_lines[i - first] if first <= i < end else m.raw_lines[i] for i in range(min(DETECT_ROWS, m.line_count))]
        else:  # text_of reads the buffer, which holds the edit already
            head = [m.text_of(i).encode("utf-8") for i in range(min(DETECT_ROWS, m.line_count))]
        if detect_fields(_sample(head), m.reader.dataset) != m.fields:
            return None  # the edit changes which fields play the roles: read the file again
    if not m.reader.exact and not all(map(_valid_utf8, new_lines)):
        return None  # invalid UTF-8 needs the exact reader for the whole file
    rows = m.rows_between(first, end)
    r0, r1 = rows.start, rows.stop
    problems = [p for p in m.problems if not first <= p.span.line < end]
    block = m.reader.read(new_lines, first, problems)
    count = len(block.numbers)
    for attr in ROLE_ATTRS:
        column = getattr(m, attr)
        values = block.columns.get(attr) or [None] * count
        if isinstance(column, BoxColumn):
            column.splice(r0, r1, values)
            continue
        if isinstance(column, LazyColumn):  # edited in place from now on
            column = column.tolist()
            setattr(m, attr, column)
        column[r0:r1] = values
    if not isinstance(m.lines, list):
        m.lines = list(m.lines)  # a range (every line a row) until the first edit
    m.lines[r0:r1] = block.numbers
    m.problems = problems
    if m.reader.schema is not None:
        shift = count - (r1 - r0)
        kept = [(r if r < r0 else r + shift, e) for r, e in m.schema_failures if not r0 <= r < r1]
        kept += [(r0 + i, m.reader.schema.errors(obj)) for i, obj in block.failures]
        m.schema_failures = sorted(kept, key=lambda item: item[0])
    if m.raw_lines is not None:
        m.raw_lines.replace(first, new_lines)
    for line in range(first, end):
        m._members.pop(line, None)
    return r0, r1, r0 + count


FILE_SPAN = Span(0, 0, 0, 1)  # where a problem with the whole file (a BOM) is reported


def _sample(raw_lines: list[bytes]) -> list[dict[str, Any]]:
    """The objects among the first lines, for detecting fields."""
    sample = []
    for raw in raw_lines[:DETECT_ROWS]:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if type(obj) is dict:
            sample.append(obj)
    return sample


ROLE_ATTRS = tuple(ROLE_COLUMNS.values())


@dataclass
class Block:
    """Rows read from consecutive lines: their line numbers, role values by column
    attribute, and the rows (block-relative) that broke the row schema, with their value."""

    numbers: range | list[int]
    columns: dict[str, list[Any]]
    failures: list[tuple[int, Any]]


@dataclass(frozen=True)
class RowReader:
    """How the lines of one JSONL manifest become rows: the field read for each column,
    the decoder, and the row schema. Kept on the manifest so an edit re-reads only its lines."""

    dataset: DatasetConfig
    roles: dict[str, str]  # column attribute (keys, labels, ...) -> JSON field name
    decoder: RowDecoder
    schema: RowSchema | None  # a usable row schema, else None
    exact: bool  # orjson + jsonschema-rs on whole rows instead of msgspec on role fields
    skipped: frozenset[str] = frozenset()  # role columns decoded (so a value is checked alike) but not kept
    pools: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)  # see manifest.shared

    @classmethod
    def of(cls, dataset: DatasetConfig, fields: dict[str, str | None], schema: RowSchema | None, with_boxes: bool, exact: bool,
           with_media: bool = True) -> "RowReader":
        """`with_boxes` False: bbox values are not kept (all None; only LS503 reads them);
        `with_media` False: nor media paths when a content field is the row's content (only
        the LS5 rules read them then). Their fields are still decoded: a number JSON cannot
        hold there is an invalid row (LS101) whichever rules run."""
        tf = fields["text"] if not (fields["content"] or fields["media"]) else None  # inline text: the content of last resort
        wanted = {attr: tf if role == "text" else fields[role] for role, attr in ROLE_COLUMNS.items()}
        roles = {attr: name for attr, name in wanted.items() if name}
        skipped = unread_columns(fields, with_boxes, with_media).intersection(roles)
        usable = schema if schema is not None and schema.usable else None
        decoder = row_decoder(roles, usable.schema if usable else None)
        # The exact path when the schema needs full rows, or when the file has invalid UTF-8:
        # msgspec does not check the bytes of the fields it skips.
        return cls(dataset, roles, decoder, usable, exact or (usable is not None and not decoder.validates), skipped)

    @property
    def kept(self) -> dict[str, str]:
        """The role columns a manifest keeps: attribute -> JSON field name."""
        return {attr: name for attr, name in self.roles.items() if attr not in self.skipped}

    def read(self, chunk: list[bytes], first: int, problems: list[Problem]) -> Block:
        """Rows of `chunk` (lines numbered from `first`); unreadable lines add to `problems`."""
        if self.exact:
            rows, numbers = _parse_dicts(chunk, first, problems)
            columns = {attr: [r.get(name) for r in rows] for attr, name in self.kept.items()}
            for attr in columns.keys() & set(SHARED_ATTRS):
                columns[attr] = shared(columns[attr], self.pools.setdefault(attr, {}))
            failures = [(i, r) for i, r in enumerate(rows) if not self.schema.is_valid(r)] if self.schema else []
            return Block(numbers, columns, failures)
        structs, numbers, failures = _decode_structs(chunk, first, self.decoder, self.schema, problems)
        unset = msgspec.UNSET
        columns = {}
        for attr in self.kept:
            values = list(map(self.decoder.getters[attr], structs))
            if attr in self.decoder.optional:
                values = [None if v is unset else v for v in values]
            columns[attr] = shared(values, self.pools.setdefault(attr, {})) if attr in SHARED_ATTRS else values
        return Block(numbers, columns, failures)


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
    except RecursionError:
        return Problem("LS101", Span(lineno, 0, lineno, len(text)), "invalid JSON: nested too deeply to read")
    except json.JSONDecodeError as exc:
        col = exc.pos
        detail = exc.msg
        if col >= len(text) or exc.msg.startswith("Unterminated string"):  # runs off the end of the line
            detail = f"unexpected end of line ({exc.msg.lower()}): truncated row?"
            col = len(text)
        return Problem("LS101", Span(lineno, col, lineno, min(col + 1, len(text))), f"invalid JSON: {detail}")
    return Problem("LS101", Span(lineno, 0, lineno, len(text)), "invalid JSON: NaN, Infinity or a number out of range")
