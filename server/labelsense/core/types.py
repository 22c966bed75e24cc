"""Plain value types shared by the core and its front ends. The ones made by the
hundred thousand (spans, findings) are immutable msgspec structs: cheap to build
and to pass between processes.

Positions are 0-based lines and 0-based columns counted in characters (Python
string indices). Front ends convert: the CLI adds 1, the language server
converts to UTF-16 in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import msgspec


class Severity(IntEnum):
    """Diagnostic severity, ordered so that `>=` means "at least as bad"."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class Span(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A range in a file: 0-based lines, 0-based character columns, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def row(cls, line: int, length: int = 0) -> "Span":
        """The whole of one line (or its start when the length is unknown)."""
        return cls(line, 0, line, length)


class Related(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """Another place involved in a finding."""

    path: str
    span: Span
    message: str


class Edit(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """Replace the text of `span` in `path` with `text` (a JSONL/taxonomy edit),
    or, for a Parquet manifest, set `column` of row `span.line` to `text`."""

    path: str
    span: Span
    text: str
    column: str | None = None


class Fix(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A fix offered with a finding; `safe` fixes are applied by `--fix`."""

    title: str
    edits: tuple[Edit, ...]
    safe: bool = False


class Finding(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One diagnostic: a rule code at a span of a file, with its message."""

    code: str
    path: str
    span: Span
    message: str
    severity: Severity = Severity.ERROR
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = ()
    deprecated: bool = False

    @property
    def order(self) -> tuple[int, int, str]:
        """Sort key within a file: line, column, code."""
        return self.span.line, self.span.col, self.code

    @property
    def safe_fix(self) -> Fix | None:
        return next((f for f in self.fixes if f.safe), None)


@dataclass(frozen=True, slots=True)
class Problem:
    """What a parser could not read: a finding without rule metadata yet."""

    code: str
    span: Span
    message: str
    severity: Severity | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


class ConfigError(Exception):
    """A configuration problem that stops a run (exit 2): names the file and the key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
