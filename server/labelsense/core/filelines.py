"""The lines of a file read into memory, without a million small objects.

A JSONL manifest is kept as its bytes and the offsets of its line starts (one
numpy array): a line is sliced out when a span needs it. Reading walks the
bytes in pieces of a few megabytes, so the whole file never exists twice (as
bytes and as a list of lines). Lines replaced by an in-place edit are kept
aside and read first.

A long-lived holder (the language server) can `release` the bytes of a file
that is on disk: lines are then read from the file, at the same offsets, when
asked (`os.pread`, with at most MAX_OPEN files kept open across all of them).
"""
from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

PIECE = 8 << 20  # bytes split into lines at a time
MAX_OPEN = 64  # files kept open for released FileLines


class _Handles:
    """The released FileLines that hold an open file, the least recently opened closed first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: OrderedDict[int, weakref.ref] = OrderedDict()

    def opened(self, lines: "FileLines") -> None:
        with self._lock:
            self._order[id(lines)] = weakref.ref(lines)
            self._order.move_to_end(id(lines))
            victims = [self._order.popitem(last=False)[1]() for _ in range(max(len(self._order) - MAX_OPEN, 0))]
        for victim in victims:  # closed outside our lock: each takes its own
            if victim is not None:
                victim._close()


_HANDLES = _Handles()


def _close(box: list[int | None]) -> None:
    if box[0] is not None:
        os.close(box[0])
        box[0] = None


def holds_text(path: Path, text: str, piece: int = PIECE) -> bool:
    """Whether the file at `path` is exactly `text` in UTF-8, compared a piece at a time
    (neither the file nor the text is ever whole a second time). Pieces are large: each
    read lets go of the interpreter lock, and getting it back can wait for another thread."""
    try:
        with open(path, "rb") as f:
            for at in range(0, len(text), piece):
                chunk = text[at : at + piece].encode("utf-8")
                if f.read(len(chunk)) != chunk:
                    return False
            return f.read(1) == b""
    except (OSError, UnicodeEncodeError):  # unreadable, or lone surrogates no file could hold
        return False


def _after_newlines(piece: bytes | memoryview, at: int) -> np.ndarray:
    """The offsets just past each newline of `piece`, which starts at offset `at`."""
    return np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == 10) + (at + 1)


class FileLines:
    """Line `i` of `data` (without its `\\n`), for lines split on `\\n` only; a final
    newline ends the last line rather than starting an empty one."""

    def __init__(self, data: bytes, base: int = 0) -> None:
        """`data`: the file's bytes from offset `base` on (after a byte order mark, say)."""
        self.data: bytes | None = data  # None once released: read from `_path`
        self._base = base
        self._starts = np.zeros(1, dtype=np.int64)  # line starts, then one past the last line's end + 1
        self._edited: dict[int, bytes] = {}
        self._path: str | None = None
        self._fd: list[int | None] = [None]  # the open file of a released store (a box, for the finalizer)
        self._lock = threading.Lock()
        weakref.finalize(self, _close, self._fd)

    def release(self, path: Path) -> None:
        """Let go of the bytes, which are those of the file at `path` (the caller knows it is
        unchanged): lines are read from the file when asked."""
        if not self._edited:
            self._path, self.data = str(path), None

    def _read(self, start: int, end: int) -> bytes:
        data = self.data  # once: another thread may release it meanwhile
        if data is not None:
            return data[start:end]
        assert self._path is not None
        opened = False
        with self._lock:
            try:
                if self._fd[0] is None:
                    self._fd[0] = os.open(self._path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                    opened = True
                data = os.pread(self._fd[0], end - start, start + self._base)
            except OSError:  # gone or unreadable since: the caller sees an empty line
                data = b""
        if opened:
            _HANDLES.opened(self)
        return data

    def _close(self) -> None:
        with self._lock:
            _close(self._fd)

    def pieces(self) -> Iterator[list[bytes]]:
        """The lines, in consecutive lists covering the file, recording where each line starts."""
        data, size = self.data, len(self.data)
        after: list[np.ndarray] = []  # offsets just past each newline
        pos = 0
        while pos < size:
            cut = data.find(b"\n", min(pos + PIECE, size) - 1)
            end = size if cut < 0 else cut + 1
            piece = data[pos:end]
            lines = piece.split(b"\n")
            after.append(_after_newlines(piece, pos))
            if piece.endswith(b"\n"):
                lines.pop()
            pos = end
            yield lines
        self._record(after)

    def index(self) -> None:
        """Record where each line starts (`starts`) without splitting the lines out, for a
        reader that parses the bytes whole."""
        view = memoryview(self.data)
        self._record([_after_newlines(view[at : at + PIECE], at) for at in range(0, len(view), PIECE)])

    def _record(self, after: list[np.ndarray]) -> None:
        """Line starts from the offsets just past each newline: 0, those offsets (less the
        end of the file, after a final newline), then one past the last line's end + 1."""
        data = self.data
        starts = np.concatenate([np.zeros(1, dtype=np.int64), *after])
        if data.endswith(b"\n"):
            starts = starts[:-1]
        self._starts = np.append(starts, len(data) + (0 if data.endswith(b"\n") else 1))

    @property
    def starts(self) -> np.ndarray:
        """Line starts, then one past the last line's end + 1 (as `pieces` or `index` recorded them)."""
        return self._starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    @property
    def edited(self) -> bool:
        """Whether an in-place edit replaced some lines (they no longer are the file's)."""
        return bool(self._edited)

    def __getitem__(self, line: int) -> bytes:
        edited = self._edited.get(line)
        if edited is not None:
            return edited
        return self._read(int(self._starts[line]), int(self._starts[line + 1]) - 1)

    def text(self, line: int) -> str:
        return self[line].decode("utf-8", errors="replace")

    def replace(self, first: int, new_lines: list[bytes]) -> None:
        """Lines `first`… become `new_lines` (as many lines as before)."""
        for i, raw in enumerate(new_lines, first):
            self._edited[i] = raw

    def matches(self, encoded: Callable[[int, int], list[bytes]], count: int, final_newline: bool) -> bool:
        """Whether a buffer of `count` lines (`encoded(first, n)` gives them as UTF-8) holds
        exactly these lines, compared 64k lines at a time."""
        size = int(self._starts[-1]) - 1  # the file's size, less its final newline if it has none
        if count != len(self) or self._edited or final_newline != (self._read(size, size + 1) == b"\n"):
            return False
        step = 65536
        for first in range(0, count, step):
            last = min(first + step, count)
            if b"\n".join(encoded(first, last - first)) != self._read(int(self._starts[first]), int(self._starts[last]) - 1):
                return False
        return True
