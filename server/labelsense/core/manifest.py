"""A manifest read into columns: one entry per row for each role field.

Rows keep their line (JSONL) or row number (Parquet, as a line: row i is
line i). Raw line text is kept only as bytes plus offsets, and decoded on
demand for the few rows that need exact spans.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .locate import Member, locate, locate_field, top_members
from .types import Problem, Span

SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test", "testing": "test"}
_SPLIT_WORD = re.compile(r"(?<![a-z])(train|training|validation|valid|val|dev|test|testing)(?![a-z])")


def split_from_name(file_name: str) -> str | None:
    """`train`, `val` or `test` from a file name (`snli_1.0_dev.jsonl` → val), else None."""
    found = _SPLIT_WORD.findall(file_name.lower().rsplit(".", 1)[0])
    return SPLIT_NAMES[found[-1]] if found else None


def normalise_split(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return SPLIT_NAMES.get(text, text)


def label_tuple(value: Any) -> tuple[str, ...] | None:
    """A label field's value as a tuple of class names (a list means multi-label)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(v if isinstance(v, str) else _scalar_text(v) for v in value)
    return (_scalar_text(value),)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Manifest:
    """The rows of one manifest file, by role, plus what could not be read."""

    path: str
    kind: str  # "jsonl" | "parquet"
    fields: dict[str, str | None] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    keys: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    splits: list[Any] = field(default_factory=list)
    annotators: list[Any] = field(default_factory=list)
    contents: list[Any] = field(default_factory=list)
    media: list[Any] = field(default_factory=list)
    texts: list[Any] = field(default_factory=list)
    votes: list[Any] = field(default_factory=list)
    file_split: str | None = None
    problems: list[Problem] = field(default_factory=list)
    schema_failures: list[tuple[int, Any]] = field(default_factory=list)  # (row, value) that broke the row schema
    line_count: int = 0
    text_of: Any = None  # callable(line) -> str, for spans; None for Parquet
    column_names: tuple[str, ...] = ()
    _members: dict[int, list[Member]] = field(default_factory=dict, repr=False)  # span cache by line

    @property
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

    def split_of(self, row: int) -> str | None:
        value = self.splits[row] if self.fields.get("split") else None
        return normalise_split(value) if value is not None else self.file_split

    def label_of(self, row: int) -> tuple[str, ...] | None:
        return label_tuple(self.labels[row])
