"""Open documents, stored as lists of lines so that an incremental change costs
time proportional to the lines it touches, not to the file (pygls' own store
re-splits the whole text on every edit: 424 ms per keystroke at 77 MB)."""
from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field

from lsprotocol import types

from .positions import UTF16, from_lsp_col


BIG = 100_000  # lines: a document this long is set aside from the garbage collector


class EditError(ValueError):
    """A change that does not fit the document (out of range)."""


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    lines: list[str]
    final_newline: bool = True
    view_of: str | None = None  # a read-only JSONL view of this Parquet path
    view_start: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_text(cls, uri: str, language_id: str, version: int, text: str) -> "Document":
        lines = text.split("\n")
        final = len(lines) > 1 and lines[-1] == ""
        if final:
            lines.pop()
        if len(lines) >= BIG:
            # Out of the collector's sight: every full collection would walk the list's million
            # items (40 ms at 1M lines, seen as a periodic stall on edits). Lists of strings make no cycles.
            gc.freeze()
        return cls(uri, language_id, version, lines, final)

    def line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    def text(self) -> str:
        with self._lock:  # one join: `body + "\n"` would copy the whole text once more
            return "\n".join([*self.lines, ""] if self.final_newline else self.lines)

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str = UTF16) -> tuple[int, int, int] | None:
        """Apply one change event: a full replacement, or a range edit touching only its lines.
        Returns (first line, lines replaced, lines now there) for a range edit, None for a full one."""
        with self._lock:
            if not isinstance(change, types.TextDocumentContentChangePartial) or change.range is None:
                fresh = Document.from_text(self.uri, self.language_id, self.version, change.text)
                self.lines, self.final_newline = fresh.lines, fresh.final_newline
                return None
            start, end = change.range.start, change.range.end
            n = len(self.lines)
            if (start.line, start.character) > (end.line, end.character):
                raise EditError(f"change range ends before it starts: {start} > {end}")
            if start.line > n or end.line > n:
                raise EditError(f"change range {start.line}..{end.line} outside document of {n} lines")
            if end.line == n:  # the position just after the last line (its newline)
                if not self.final_newline and end.character > 0:
                    raise EditError(f"change range {end.line}:{end.character} outside document")
            first = self.line(start.line)
            last = self.line(end.line)
            head = first[: from_lsp_col(first, start.character, encoding)]
            tail = last[from_lsp_col(last, end.character, encoding):]
            replaced = (head + change.text + tail).split("\n")
            if end.line >= n:  # the edit reached past the last line: the final newline is part of it
                if replaced and replaced[-1] == "" and len(replaced) > 1:
                    replaced.pop()
                    self.final_newline = True
                else:
                    self.final_newline = False
            stop = min(end.line, n - 1) + 1 if n else 0
            self.lines[start.line : stop] = replaced
            return start.line, max(stop - start.line, 0), len(replaced)

    def data(self) -> bytes:
        """The whole text as UTF-8."""
        return self.text().encode("utf-8")

    def encoded(self, first: int, count: int) -> list[bytes]:
        """Lines `first`… (`count` of them) as UTF-8."""
        with self._lock:
            return [line.encode("utf-8") for line in self.lines[first : first + count]]


class DocumentStore:
    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, doc: Document) -> None:
        self._docs[doc.uri] = doc

    def close(self, uri: str) -> Document | None:
        return self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def __iter__(self):
        return iter(list(self._docs.values()))
