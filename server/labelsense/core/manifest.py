"""A manifest read into columns: one entry per row for each role field.

Rows keep their line (JSONL) or row number (Parquet, as a line: row i is
line i). Raw line text is kept only as bytes plus offsets, and decoded on
demand for the few rows that need exact spans.
"""
from __future__ import annotations

import bisect
import re
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import arrowpool  # noqa: F401 - sets Arrow's memory pool before anything is read
from .column import ArrowColumn, CodedColumn, NullColumn, is_coded_text, is_text
from .filelines import FileLines
from .locate import Member, locate, locate_field, top_members
from .types import Problem, Span

_SETTLING = threading.Lock()
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test", "testing": "test"}
_SPLIT_WORD = re.compile(r"(?<![a-z])(train|training|validation|valid|val|dev|test|testing)(?![a-z])")


def split_from_name(file_name: str) -> str | None:
    """`train`, `val` or `test` from a file name (`snli_1.0_dev.jsonl` → val), else None."""
    found = _SPLIT_WORD.findall(file_name.lower().rsplit(".", 1)[0])
    return SPLIT_NAMES[found[-1]] if found else None


def normalise_split(value: Any) -> str | None:
    if value is None:
        return None
    if value.__class__ is str and (known := _SPLITS_SEEN.get(value)) is not None:
        return known
    text = str(value).strip().lower()
    found = SPLIT_NAMES.get(text, text)
    if value.__class__ is str and len(_SPLITS_SEEN) < 4096:  # a split column has a few distinct values
        _SPLITS_SEEN[value] = found
    return found


_SPLITS_SEEN: dict[str, str] = {}


def label_tuple(value: Any) -> tuple[str, ...] | None:
    """A label field's value as a tuple of class names (a list means multi-label)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(v if isinstance(v, str) else _scalar_text(v) for v in value)
    return (_scalar_text(value),)


ROLE_COLUMNS = {"key": "keys", "label": "labels", "split": "splits", "annotator": "annotators", "content": "contents", "media": "media",
                "votes": "votes", "text": "texts", "bbox": "bboxes"}  # role → the manifest column holding its values
SHARED_ATTRS = ("labels", "annotators", "splits")  # columns of few distinct values (a string each: CodedColumn)
DISTINCT_ATTRS = ("keys", "contents", "media", "texts")  # columns of many: kept as Arrow read them (column.py)


def shared(values: list[Any], pool: dict[str, str]) -> list[Any]:
    """`values` with equal strings as one object: a million labels of a thousand classes
    then cost a thousand strings, not a million. `pool` holds the strings seen so far."""
    return [pool.setdefault(v, v) if v.__class__ is str else v for v in values]


def unread_columns(fields: dict[str, str | None], with_boxes: bool, with_media: bool) -> frozenset[str]:
    """The role columns a manifest leaves all None because no selected rule reads them: the
    bounding boxes without `with_boxes`; the media paths without `with_media`, when a content
    field (not the media) is the rows' content."""
    return frozenset(attr for attr, unread in (("bboxes", not with_boxes), ("media", not with_media and bool(fields.get("content")))) if unread)


def table_column(table: pa.Table, name: str | None, attr: str, pool: dict[str, str]) -> Any:
    """The manifest column `attr` from the table's column `name` (all None when it has none):
    bounding boxes compact; string columns kept as Arrow read them (column.py): SHARED_ATTRS
    numbered into their distinct values (shared through `pool`), DISTINCT_ATTRS as they are."""
    if name not in table.column_names:
        return NullColumn(table.num_rows)
    col = table.column(name)
    if attr == "bboxes":
        boxes = BoxColumn()
        for chunk in col.chunks:
            boxes.extend_arrow(chunk)
        return boxes
    if is_text(col.type) and attr in DISTINCT_ATTRS:
        return ArrowColumn(col)
    if is_coded_text(col.type) and attr in SHARED_ATTRS:
        return CodedColumn(col, pool)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col.to_pylist()


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BoxColumn:
    """A manifest's bbox values, stored compactly: the rows of a block that hold a list of
    exactly 4 numbers live in one float array (32 bytes a row instead of a list of 4 Python
    numbers, ~190 bytes); the block's other values (3 numbers, a string, …) are kept as they
    are, and a block with lists of boxes is kept as a plain list. Reads give the values back
    as Python lists (numbers as floats) or the value as written, or None."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._blocks: list[_Block | list[Any]] = []
        self._n = 0

    def extend(self, values: list[Any]) -> None:
        if not values:
            return
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):  # mixed: e.g. a string among lists
            good = [i for i, v in enumerate(values) if type(v) is list and len(v) == 4 and all(type(x) in (int, float) for x in v)]
            if not good:
                return self._add(list(values), len(values))
            block = _box_block(pa.array([values[i] for i in good]))
            if block is None:
                return self._add(list(values), len(values))
            keep = np.zeros(len(values), dtype=bool)
            keep[good] = True
            rows = np.full((len(values), 4), np.nan)
            rows[keep] = block.values
            others = {i: v for i, v in enumerate(values) if not keep[i] and v is not None}
            return self._add(_Block(rows, keep, others), len(values))
        self.extend_arrow(arr, values)

    def extend_arrow(self, arr: pa.Array, values: list[Any] | None = None) -> None:
        """Add an Arrow array of bbox values (a Parquet column chunk, or inferred from JSON values)."""
        block = _box_block(arr, values)
        self._add(block if block is not None else (values if values is not None else arr.to_pylist()), len(arr))

    def _add(self, block: _Block | list[Any], n: int) -> None:
        self._starts.append(self._n)
        self._blocks.append(block)
        self._n += n

    def __len__(self) -> int:
        return self._n

    def splice(self, start: int, stop: int, values: list[Any]) -> None:
        """Replace rows `start`…`stop` with `values` (rows an edit re-read)."""
        if stop - start == len(values):
            for i, v in enumerate(values, start):
                self._set(i, v)
            return
        b = max(bisect.bisect_right(self._starts, start) - 1, 0)
        block_end = self._starts[b + 1] if b + 1 < len(self._starts) else self._n
        if not self._blocks or stop > block_end:  # spans blocks: rebuild as one plain list
            rows = list(self)
            rows[start:stop] = values
            self._starts, self._blocks, self._n = [], [], 0
            self._add(rows, len(rows))
            return
        rows = self._blocks[b] if isinstance(self._blocks[b], list) else list(self._rows(self._blocks[b]))
        base = self._starts[b]
        rows[start - base : stop - base] = values
        self._blocks[b] = rows
        shift = len(values) - (stop - start)
        self._starts[b + 1 :] = [s + shift for s in self._starts[b + 1 :]]
        self._n += shift

    def _set(self, i: int, value: Any) -> None:
        b = bisect.bisect_right(self._starts, i) - 1
        block, j = self._blocks[b], i - self._starts[b]
        if isinstance(block, list):
            block[j] = value
        elif type(value) is list and len(value) == 4 and all(type(x) in (int, float) for x in value):
            block.values[j] = value
            block.four[j] = True
            block.others.pop(j, None)
        else:
            block.values[j] = np.nan
            block.four[j] = False
            if value is None:
                block.others.pop(j, None)
            else:
                block.others[j] = value

    def __getitem__(self, i: int) -> Any:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        b = bisect.bisect_right(self._starts, i) - 1
        block, j = self._blocks[b], i - self._starts[b]
        if isinstance(block, list):
            return block[j]
        if j in block.others:
            return block.others[j]
        return block.values[j].tolist() if block.four[j] else None

    def __iter__(self) -> Iterator[Any]:
        for block in self._blocks:
            yield from block if isinstance(block, list) else self._rows(block)

    @staticmethod
    def _rows(block: "_Block") -> Iterator[Any]:
        others = block.others
        for j, (row, ok) in enumerate(zip(block.values.tolist(), block.four.tolist())):
            yield row if ok else others.get(j)


@dataclass(frozen=True, slots=True)
class _Block:
    values: np.ndarray  # n × 4 floats (NaN where not a 4-number row)
    four: np.ndarray  # rows that are 4 numbers
    others: dict[int, Any]  # the other non-null values, as written


def _box_block(arr: pa.Array, values: list[Any] | None = None) -> _Block | None:
    """The compact form of an Arrow array of bbox values, or None when it is not a list of numbers per row."""
    t = arr.type
    if not ((pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))
            and (pa.types.is_integer(t.value_type) or pa.types.is_floating(t.value_type))):
        return None
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    four = valid & (lengths == 4)
    flat = pc.list_flatten(arr.filter(pa.array(four)))
    if flat.null_count:
        return None
    rows = np.full((len(arr), 4), np.nan)
    rows[four] = flat.to_numpy(zero_copy_only=False).astype(np.float64, copy=False).reshape(-1, 4)
    odd = np.flatnonzero(valid & ~four).tolist()
    others = {i: (values[i] if values is not None else arr[i].as_py()) for i in odd}
    return _Block(rows, four, others)


@dataclass
class Manifest:
    """The rows of one manifest file, by role, plus what could not be read."""

    path: str
    kind: str  # "jsonl" | "parquet"
    fields: dict[str, str | None] = field(default_factory=dict)
    lines: list[int] | range = field(default_factory=list)  # a row's line; a range while every line holds a row, in order
    keys: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    splits: list[Any] = field(default_factory=list)
    annotators: list[Any] = field(default_factory=list)
    contents: list[Any] = field(default_factory=list)
    media: list[Any] = field(default_factory=list)
    texts: list[Any] = field(default_factory=list)
    votes: list[Any] = field(default_factory=list)
    bboxes: BoxColumn | list[Any] = field(default_factory=list)
    file_split: str | None = None
    problems: list[Problem] = field(default_factory=list)
    schema_failures: list[tuple[int, Any]] = field(default_factory=list)  # (row, errors) that broke the row schema
    screen: Future | None = None  # a row-schema screen still running (a worker thread's): see `settle`
    line_count: int = 0
    text_of: Any = None  # callable(line) -> str, for spans; None for Parquet
    column_names: tuple[str, ...] = ()
    reader: Any = None  # jsonl.RowReader: how lines become rows (JSONL only)
    raw_lines: FileLines | None = None  # the file's lines (JSONL read from bytes, not from an editor's buffer)
    _members: dict[int, list[Member]] = field(default_factory=dict, repr=False)  # span cache by line

    @cached_property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def __len__(self) -> int:
        return len(self.lines)

    def span(self, row: int, role: str | None = None, path: list[str | int] | None = None, key: bool = False) -> Span:
        """The span of a role's value (or of `path`) in row `row`; the whole row if not found."""
        line = self.lines[row]
        if self.text_of is None:
            return Span(line, 0, line, 0)
        text = self.text_of(line)
        where = path if path is not None else ([self.fields[role]] if role and self.fields.get(role) else None)
        found = None
        if where is not None and len(where) == 1 and not key and isinstance(where[0], str) and line not in self._members:
            quick = locate_field(text, where[0])
            if quick is not False:
                found, where = quick, None
        if where is not None:
            top = self._members.get(line)
            if top is None:
                top = self._members[line] = top_members(text)
            found = locate(text, where, key=key, top=top)
        if found is None:
            stripped = text.rstrip("\r")
            return Span(line, 0, line, len(stripped))
        return Span(line, found[0], line, found[1])

    def settle(self) -> None:
        """Wait for a row-schema screen still running, and add its failures to `schema_failures`
        (the rules do first; a process forks only once every screen is done)."""
        if self.screen is None:
            return
        with _SETTLING:  # two threads of a server may both want them
            screen, self.screen = self.screen, None  # taken once, even if it failed
            if screen is None:
                return
            try:
                found = screen.result()
            except Exception as exc:  # noqa: BLE001 - reported, not raised: the other rules go on
                self.problems.append(Problem("LS201", Span(0, 0, 0, 0), f"cannot check the rows against the row schema: {exc!r}"))
                return
            self.schema_failures = sorted([*self.schema_failures, *found.items()], key=lambda item: item[0])

    def subset(self, rows: list[int], lines: set[int]) -> "Manifest":
        """Only `rows` (in order) and the reader problems on `lines`, with the same path,
        fields, line numbers and text: rules run on it see those rows alone."""
        def pick(column: Any) -> list[Any]:
            return [column[r] for r in rows]

        self.settle()
        where = {r: i for i, r in enumerate(rows)}
        return replace(self, lines=pick(self.lines), keys=pick(self.keys), labels=pick(self.labels), splits=pick(self.splits),
                       annotators=pick(self.annotators), contents=pick(self.contents), media=pick(self.media), texts=pick(self.texts),
                       votes=pick(self.votes), bboxes=pick(self.bboxes), problems=[p for p in self.problems if p.span.line in lines],
                       schema_failures=[(where[r], e) for r, e in self.schema_failures if r in where], reader=None, raw_lines=None)

    def rows_between(self, first: int, end: int) -> range:
        """The rows on lines `first`…`end` (exclusive)."""
        return range(bisect.bisect_left(self.lines, first), bisect.bisect_left(self.lines, end))

    def row_at(self, line: int) -> int | None:
        """The row on `line`, if that line holds one."""
        r = bisect.bisect_left(self.lines, line)
        return r if r < len(self.lines) and self.lines[r] == line else None

    def split_of(self, row: int) -> str | None:
        value = self.splits[row] if self.fields.get("split") else None
        return normalise_split(value) if value is not None else self.file_split

    def label_of(self, row: int) -> tuple[str, ...] | None:
        return label_tuple(self.labels[row])
