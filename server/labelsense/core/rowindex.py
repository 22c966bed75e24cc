"""Where each key and each content value occurs in a dataset, so that an edit can
find the rows it concerns without scanning millions.

Rows are named by (manifest number, line), packed into one int; values are
normalised coarsely (numbers by their float value, other non-strings by their
repr) so that two values the rules group together always share an entry.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

Entries = dict[Any, "int | list[int]"]
LINE_BITS = 32
SLICE = 16384


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


Column = tuple[list[Any], list[int]]  # one manifest's values and its rows' line numbers
Groups = list[list[Any]]  # (manifest, row) pairs of the rows sharing a value, per value seen twice or more


class RowIndex:
    """Value → rows for the keys and the contents of every manifest of a dataset."""

    def __init__(self, keys: list[Column], key_groups: Groups, contents: list[Column], content_groups: Groups) -> None:
        """`keys[i]` and `contents[i]`: manifest i's columns; the groups: rows sharing a value,
        as the dataset found them (they save a pass in Python over columns of strings)."""
        self.by_key = _entries(keys, key_groups)
        self.by_content = _entries(contents, content_groups)

    def rows(self, keys: Iterable[Any], contents: Iterable[Any]) -> set[int]:
        """Packed rows having one of `keys` as key or one of `contents` as content."""
        out: set[int] = set()
        for entries, values in ((self.by_key, keys), (self.by_content, contents)):
            for v in values:
                found = entries.get(norm(v)) if v is not None else None
                if type(found) is int:
                    out.add(found)
                elif found:
                    out.update(found)
        return out

    def move(self, manifest: int, old: list[tuple[int, Any, Any]], new: list[tuple[int, Any, Any]]) -> None:
        """Rows (line, key, content) of one manifest were replaced by `new`."""
        for line, key, content in old:
            _remove(self.by_key, norm(key), pack(manifest, line))
            _remove(self.by_content, norm(content), pack(manifest, line))
        for line, key, content in new:
            _add(self.by_key, norm(key), pack(manifest, line))
            _add(self.by_content, norm(content), pack(manifest, line))


def _entries(columns: list[Column], groups: Groups) -> Entries:
    entries: Entries = {}
    if not all(set(map(type, column)) <= {str, type(None)} for column, _ in columns):
        for i, (column, lines) in enumerate(columns):
            _add_column(entries, column, lines, i)
        return entries
    # Strings only: values seen once go in at C speed; the groups then set the values seen more often.
    # In slices, so that a background build lets other threads take the GIL every few milliseconds.
    for i, (column, lines) in enumerate(columns):
        numbers = np.arange(lines.start, lines.stop, lines.step, dtype=np.int64) if isinstance(lines, range) else np.asarray(lines, dtype=np.int64)
        packed = (numbers | (i << LINE_BITS)).tolist()
        for start in range(0, len(packed), SLICE):
            entries.update(zip(column[start : start + SLICE], packed[start : start + SLICE]))
    for group in groups:
        m, r = group[0]
        entries[columns[m][0][r]] = [pack(m, columns[m][1][row]) for m, row in group]
    entries.pop(None, None)
    return entries


def _add_column(entries: Entries, column: list[Any], lines: list[int], manifest: int) -> None:
    for value, line in zip(column, lines):
        _add(entries, norm(value), pack(manifest, line))


def _add(entries: Entries, value: Any, packed: int) -> None:
    if value is None:
        return
    found = entries.get(value)
    if found is None:
        entries[value] = packed
    elif type(found) is int:
        entries[value] = [found, packed]
    else:
        found.append(packed)


def _remove(entries: Entries, value: Any, packed: int) -> None:
    found = entries.get(value)
    if found is None:
        return
    if type(found) is int:
        if found == packed:
            del entries[value]
        return
    if packed in found:
        found.remove(packed)
    if len(found) == 1:
        entries[value] = found[0]
    elif not found:
        del entries[value]
