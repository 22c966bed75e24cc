"""The lines of a file read into memory, without a million small objects.

A JSONL manifest is kept as its bytes and the offsets of its line starts (one
numpy array): a line is sliced out when a span needs it. Reading walks the
bytes in pieces of a few megabytes, so the whole file never exists twice (as
bytes and as a list of lines). Lines replaced by an in-place edit are kept
aside and read first.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

PIECE = 8 << 20  # bytes split into lines at a time


class FileLines:
    """Line `i` of `data` (without its `\\n`), for lines split on `\\n` only; a final
    newline ends the last line rather than starting an empty one."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts = np.zeros(1, dtype=np.int64)  # line starts, then one past the last line's end + 1
        self._edited: dict[int, bytes] = {}

    def pieces(self) -> Iterator[list[bytes]]:
        """The lines, in consecutive lists covering the file, recording where each line starts."""
        data, size = self.data, len(self.data)
        starts = [np.zeros(0, dtype=np.int64)]
        pos = 0
        while pos < size:
            cut = data.find(b"\n", min(pos + PIECE, size) - 1)
            end = size if cut < 0 else cut + 1
            piece = data[pos:end]
            lines = piece.split(b"\n")
            newlines = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == 10)
            starts.append(np.concatenate(([pos], newlines + pos + 1)))
            if piece.endswith(b"\n"):
                lines.pop()
                starts[-1] = starts[-1][:-1]
            pos = end
            yield lines
        starts.append(np.array([size + (0 if data.endswith(b"\n") else 1)], dtype=np.int64))
        self._starts = np.concatenate(starts)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, line: int) -> bytes:
        edited = self._edited.get(line)
        if edited is not None:
            return edited
        return self.data[self._starts[line] : self._starts[line + 1] - 1]

    def text(self, line: int) -> str:
        return self[line].decode("utf-8", errors="replace")

    def replace(self, first: int, new_lines: list[bytes]) -> None:
        """Lines `first`… become `new_lines` (as many lines as before)."""
        for i, raw in enumerate(new_lines, first):
            self._edited[i] = raw

    def matches(self, encoded: Callable[[int, int], list[bytes]], count: int, final_newline: bool) -> bool:
        """Whether a buffer of `count` lines (`encoded(first, n)` gives them as UTF-8) holds
        exactly these lines, compared a few thousand lines at a time."""
        if count != len(self) or self._edited or final_newline != self.data.endswith(b"\n"):
            return False
        step = 65536
        for first in range(0, count, step):
            last = min(first + step, count)
            if b"\n".join(encoded(first, last - first)) != self.data[self._starts[first] : self._starts[last] - 1]:
                return False
        return True
