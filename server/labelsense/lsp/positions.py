"""The one place where core positions (character columns) and LSP positions
(UTF-16 code units by default, or the negotiated encoding) are converted."""
from __future__ import annotations

from lsprotocol import types

from ..core.types import Span

UTF16 = types.PositionEncodingKind.Utf16
UTF8 = types.PositionEncodingKind.Utf8
UTF32 = types.PositionEncodingKind.Utf32


def units(text: str, encoding: str = UTF16) -> int:
    """Length of `text` in the encoding's code units."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def to_lsp_col(line_text: str, col: int, encoding: str = UTF16) -> int:
    return units(line_text[:col], encoding)


def from_lsp_col(line_text: str, units_col: int, encoding: str = UTF16) -> int:
    """Character index for an LSP column (clamped to the line; a column inside a
    surrogate pair or a UTF-8 sequence rounds down to the character)."""
    if encoding == UTF32 or line_text.isascii():
        return min(units_col, len(line_text))
    count = 0
    for i, ch in enumerate(line_text):
        width = (2 if ord(ch) > 0xFFFF else 1) if encoding != UTF8 else len(ch.encode("utf-8"))
        if count + width > units_col:
            return i
        count += width
    return len(line_text)


def to_range(span: Span, line_text: "LineSource", encoding: str = UTF16) -> types.Range:
    """An LSP range for a core span; `line_text(n)` gives the text of line n."""
    start = types.Position(span.line, to_lsp_col(line_text(span.line), span.col, encoding))
    end_text = line_text(span.end_line) if span.end_line != span.line else None
    end_col = to_lsp_col(end_text if end_text is not None else line_text(span.line), span.end_col, encoding)
    return types.Range(start, types.Position(span.end_line, end_col))


def range_json(span: Span, line_text: "LineSource", encoding: str = UTF16) -> dict[str, dict[str, int]]:
    """`to_range` in JSON form, for results of many thousand ranges (references, rename)."""
    text = line_text(span.line)
    end_text = line_text(span.end_line) if span.end_line != span.line else text
    return {"start": {"line": span.line, "character": to_lsp_col(text, span.col, encoding)},
            "end": {"line": span.end_line, "character": to_lsp_col(end_text, span.end_col, encoding)}}


def from_position(position: types.Position, line_text: "LineSource", encoding: str = UTF16) -> tuple[int, int]:
    """(line, character column) for an LSP position."""
    return position.line, from_lsp_col(line_text(position.line), position.character, encoding)


class LineSource:  # typing helper: a callable line number -> text ('' past the end)
    def __call__(self, line: int) -> str: ...
