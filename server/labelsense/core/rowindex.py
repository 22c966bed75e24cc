"""Where each key and each content value occurs in a dataset, so that an edit can
find the rows it concerns without scanning millions.

Rows are named by (manifest number, line), packed into one int; values are
normalised coarsely (numbers by their float value, other non-strings by their
repr) so that two values the rules group together are always found together,
and hashed as the groupings hash them (column.value_hashes: Arrow-backed columns
are not made into Python values to be indexed).

The rows as read are kept compactly: per kind (key, content), the packed rows
sorted by the hash of their value, in numpy arrays (16 bytes a row; a dict of a
million values took 80 MB and 0.25 s to build). A lookup takes the rows with the
value's hash and keeps those whose value it still is (an edit may have changed it);
the rows edits wrote are kept by value beside them.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from .column import ArrowColumn, value_hashes

LINE_BITS = 32
_NONE = -0x5A5A5A5A5A5A5A5A  # the hash of rows without a value
Column = tuple[list[Any], "list[int] | range"]  # one manifest's values and its rows' line numbers
ValueOf = Callable[[int], Any]  # a packed row's current value, or None when it is no row


def pack(manifest: int, line: int) -> int:
    return manifest << LINE_BITS | line


def unpack(packed: int) -> tuple[int, int]:
    return packed >> LINE_BITS, packed & ((1 << LINE_BITS) - 1)


def norm(value: Any) -> Any:
    """A hashable stand-in for a key or content value (None stays None)."""
    t = type(value)
    if t is str or value is None:
        return value
    if t in (int, float, bool):
        try:
            return repr(float(value))
        except OverflowError:
            return str(value)
    return repr(value)


class _Values:
    """The rows of one kind of value: sorted by hash as read, plus the rows edits wrote."""

    def __init__(self, columns: list[Column], value_of: ValueOf) -> None:
        hashes, rows = [], []
        for i, (column, lines) in enumerate(columns):
            if not isinstance(column, ArrowColumn) and not set(map(type, column)) <= {str, type(None)}:
                column = [norm(v) for v in column]
            hashed, present = value_hashes(column)
            if present is not None:  # no value: never asked for (nor among the rows of "")
                hashed[~present] = _NONE
            hashes.append(hashed)
            numbers = np.arange(lines.start, lines.stop, lines.step, dtype=np.int64) if isinstance(lines, range) else np.asarray(lines, dtype=np.int64)
            rows.append(numbers | (i << LINE_BITS))
        every = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.int64)
        order = np.argsort(every)
        self._hashes = every[order]
        self._rows = (np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64))[order]
        self._value_of = value_of
        self._added: dict[Any, list[int]] = {}  # rows edits wrote, by normalised value

    def rows(self, value: Any) -> list[int]:
        """Packed rows whose value normalises as `value` does (not None)."""
        key = norm(value)
        h = int(value_hashes([key])[0][0])
        lo, hi = int(np.searchsorted(self._hashes, h, "left")), int(np.searchsorted(self._hashes, h, "right"))
        found = [p for p in self._rows[lo:hi].tolist() if norm(self._value_of(p)) == key]
        return found + self._added.get(key, [])

    def remove(self, value: Any, packed: int) -> None:
        """An edit replaced the row `packed`, which had `value` (rows as read need nothing:
        their value is checked when they are found)."""
        added = self._added.get(norm(value)) if value is not None else None
        if added and packed in added:
            added.remove(packed)

    def add(self, value: Any, packed: int) -> None:
        if value is not None:
            self._added.setdefault(norm(value), []).append(packed)


class RowIndex:
    """Value → rows for the keys and the contents of every manifest of a dataset."""

    def __init__(self, keys: list[Column], contents: list[Column], key_of: ValueOf, content_of: ValueOf) -> None:
        """`keys[i]` and `contents[i]`: manifest i's columns; `key_of` / `content_of`: a packed
        row's current key / content (a lookup checks its candidates with them)."""
        self.by_key = _Values(keys, key_of)
        self.by_content = _Values(contents, content_of)

    def rows(self, keys: Iterable[Any], contents: Iterable[Any]) -> set[int]:
        """Packed rows having one of `keys` as key or one of `contents` as content."""
        out: set[int] = set()
        for values, wanted in ((self.by_key, keys), (self.by_content, contents)):
            for v in wanted:
                if v is not None:
                    out.update(values.rows(v))
        return out

    def move(self, manifest: int, old: list[tuple[int, Any, Any]], new: list[tuple[int, Any, Any]]) -> None:
        """Rows (line, key, content) of one manifest were replaced by `new`."""
        for line, key, content in old:
            self.by_key.remove(key, pack(manifest, line))
            self.by_content.remove(content, pack(manifest, line))
        for line, key, content in new:
            self.by_key.add(key, pack(manifest, line))
            self.by_content.add(content, pack(manifest, line))
