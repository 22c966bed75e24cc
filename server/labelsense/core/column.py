"""Manifest columns kept as Arrow read them, and the hashes that group rows by value
without making Python strings.

A million keys as Python strings take 70 MB and 0.06 s to make; the rules need only
the few rows that share a key or a content. `ArrowColumn` (keys, contents, media
paths, texts) makes a row's value when it is asked for, in batches for the rows a
grouping picks; `CodedColumn` (labels, splits, annotators: few distinct values) keeps
a number per row into its distinct values, which is what class counts and label lookups
want. Either becomes a plain list on the first full pass (`LazyColumn.tolist`).

`value_hashes` hashes a column's strings with numpy over Arrow's buffers (0.03 s for a
million SHA-256 digests, against 0.16 s to make and hash them in Python), and Python
lists' strings the same way, so equal strings hash equal in JSONL and Parquet manifests
alike; other values take Python's hash. Equal hashes only make candidates: rows are
grouped by their values afterwards.
"""
from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

_MIX = np.uint64(0x9E3779B97F4A7C15)
_LENGTH = np.uint64(0xC2B2AE3D27D4EB4F)
_SHIFT = np.uint64(29)
_MASKS = np.array([0] + [(1 << (8 * i)) - 1 for i in range(1, 8)] + [2**64 - 1], dtype=np.uint64)  # the low i bytes


_UNKNOWN = object()


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def is_coded_text(t: pa.DataType) -> bool:
    """Strings, or strings numbered into a dictionary."""
    return is_text(t) or (pa.types.is_dictionary(t) and is_text(t.value_type))


class LazyColumn(Sequence):
    """A manifest column whose Python values are made on demand; iterating it (or `tolist`)
    turns it into a list, kept, from which it serves from then on."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._all: list[Any] | None = None
        self._making = threading.Lock()  # a server's threads may all want the list at once

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if self._all is not None or isinstance(i, slice):
            return self.tolist()[i]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("column index out of range")
        return self._value(i)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def __contains__(self, value: object) -> bool:
        if value is None and self._all is None:
            return self._has_nulls()
        return value in self.tolist()

    def __eq__(self, other: object) -> bool:
        return self.tolist() == (other.tolist() if isinstance(other, LazyColumn) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._n} rows)"

    def tolist(self) -> list[Any]:
        """All values as a list (made once; the column then serves from it)."""
        if self._all is None:
            with self._making:
                if self._all is None:
                    self._all = self._make_all()
                    self._made()
        return self._all

    def _made(self) -> None:
        """The list is there: let go of what stood for it."""

    def _value(self, i: int) -> Any:
        raise NotImplementedError

    def _has_nulls(self) -> bool:
        raise NotImplementedError

    def _make_all(self) -> list[Any]:
        raise NotImplementedError


class NullColumn(LazyColumn):
    """A column the manifest does not have: None in every row, without a list of them
    (8 MB of fresh memory a million rows) unless one is asked for."""

    def _value(self, i: int) -> Any:
        return None

    def _has_nulls(self) -> bool:
        return self._n > 0

    def _make_all(self) -> list[Any]:
        return [None] * self._n


class CodedColumn(LazyColumn):
    """A string column of few distinct values (labels, splits, annotators): a number per
    row into its distinct values (-1: null), as Arrow's dictionary encoding gives them (or
    as a Parquet file holds them: a dictionary-encoded column). It never changes (an edit
    puts a list in its place), so `codes` and `words` hold whether or not it became a list."""

    def __init__(self, column: pa.ChunkedArray, pool: dict[str, str]) -> None:
        super().__init__(len(column))
        # one dictionary for all chunks (not joined first): grown in order of first use, or as read
        chunks = (column.unify_dictionaries() if pa.types.is_dictionary(column.type) else column.dictionary_encode()).chunks
        self.words: list[str] = [pool.setdefault(w, w) for w in chunks[-1].dictionary.to_pylist()] if chunks else []
        self.codes: np.ndarray = dictionary_codes(chunks)
        self._words_or_none = [*self.words, None]  # code -1 → None
        self._numbers = memoryview(self.codes)  # indexed twice as fast as the array, for one row at a time

    def __getitem__(self, i: Any) -> Any:
        if self._all is None and i.__class__ is int:  # the common case, first (the view checks the range)
            return self._words_or_none[self._numbers[i]]
        return super().__getitem__(i)

    def _value(self, i: int) -> Any:
        return self._words_or_none[self._numbers[i]]

    def _has_nulls(self) -> bool:
        return bool((self.codes < 0).any())

    def _make_all(self) -> list[Any]:
        return np.array(self._words_or_none, dtype=object)[self.codes].tolist()  # (the numbers stay: they still stand for the values)


class ArrowColumn(LazyColumn):
    """A string column of many distinct values, as Arrow read it; values are made per row
    when asked for, or in batches (`values_at`), and kept."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        super().__init__(len(column))
        self._column: pa.ChunkedArray | None = column
        self._ends: list[int] = np.cumsum([len(c) for c in column.chunks]).tolist()
        self._known: dict[int, Any] = {}  # values made so far, by row

    def __getitem__(self, i: Any) -> Any:
        if i.__class__ is int and (value := self._known.get(i, _UNKNOWN)) is not _UNKNOWN:  # made before: the common case
            return value
        return super().__getitem__(i)

    def _value(self, i: int) -> Any:
        column = self._column  # once: another thread may be making the list
        if column is None:
            return self.tolist()[i]
        if i in self._known:
            return self._known[i]
        c = bisect.bisect_right(self._ends, i)
        value = self._known[i] = column.chunk(c)[i - (self._ends[c - 1] if c else 0)].as_py()
        return value

    def _has_nulls(self) -> bool:
        column = self._column
        return column.null_count > 0 if column is not None else None in self.tolist()

    def _make_all(self) -> list[Any]:
        column = self._column
        assert column is not None
        values: list[Any] = []
        for chunk in column.chunks:
            values += chunk.to_pylist()
        return values

    def _made(self) -> None:
        self._column, self._known = None, {}

    def values_at(self, rows: np.ndarray) -> list[Any]:
        """The values at `rows` (ascending), made in one batch per Arrow chunk and kept."""
        column = self._column
        if column is None:
            return [self.tolist()[r] for r in rows.tolist()]
        out = take(column, rows)
        self._known.update(zip(rows.tolist(), out))
        return out

    def hashes(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """`value_hashes` from the Arrow data; None once the column is a list."""
        column = self._column
        if column is None:
            return None
        chunks = [c for c in column.chunks if len(c)]
        hashed = np.concatenate([string_hashes(c) for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
        present = None if not column.null_count else np.concatenate([c.is_valid().to_numpy(zero_copy_only=False) for c in chunks])
        return hashed, present


def take(column: pa.ChunkedArray, rows: np.ndarray | list[int]) -> list[Any]:
    """The values at `rows` (ascending) as Python values, taken chunk by chunk: a chunked
    array's own `take` first joins its chunks (0.18 s for 667 rows of a 1M-row column)."""
    if not len(rows):
        return []
    starts = np.cumsum([0] + [len(c) for c in column.chunks])
    at = np.asarray(rows, dtype=np.int64)
    which = np.searchsorted(starts, at, side="right") - 1
    out: list[Any] = []
    for k in np.unique(which).tolist():
        out += column.chunk(k).take(pa.array(at[which == k] - starts[k])).to_pylist()
    return out


def value_hashes(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """A 64-bit hash of each value of a column (int64), and which rows hold a value (None:
    all of them). Strings hash by their UTF-8 bytes (`string_hashes`), anything else by
    Python's hash (lists and other unhashable values by their repr)."""
    if isinstance(column, ArrowColumn) and (found := column.hashes()) is not None:
        return found
    values = column.tolist() if isinstance(column, LazyColumn) else column
    n = len(values)
    kinds = set(map(type, values))
    present = None if type(None) not in kinds else np.fromiter((v is not None for v in values), dtype=bool, count=n)
    if kinds <= {str, type(None)}:
        return string_hashes(pa.array(values, type=pa.large_string())), present  # (large: past 2 GiB still one array)
    out = np.fromiter(map(_python_hash, values), dtype=np.int64, count=n)
    if str in kinds:
        texts = np.fromiter((type(v) is str for v in values), dtype=bool, count=n)
        out[texts] = string_hashes(pa.array([v for v in values if type(v) is str], type=pa.large_string()))
    return out, present


def dictionary_codes(chunks: list[pa.DictionaryArray]) -> np.ndarray:
    """The indices of dictionary chunks that share one dictionary, as one signed array (-1:
    null; a file may hold unsigned indices)."""
    parts = [(c.indices if pa.types.is_signed_integer(c.indices.type) else c.indices.cast(pa.int64())).fill_null(-1).to_numpy(zero_copy_only=False)
             for c in chunks]
    return np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, dtype=np.int32)


def _python_hash(value: Any) -> int:
    try:
        return hash(value)
    except TypeError:  # a list or an object
        return hash(repr(value))


def string_hashes(array: pa.Array) -> np.ndarray:
    """A 64-bit hash (int64) of each string of a string array from its UTF-8 bytes, 8 bytes
    at a time with numpy; nulls hash as the empty string."""
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    wide = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if wide else np.int32, count=n + 1, offset=array.offset * (8 if wide else 4)).astype(np.int64)
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if array.buffers()[2] is not None else np.zeros(0, dtype=np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    hashed = lengths.astype(np.uint64) * _LENGTH
    width = int(lengths[0])
    if (lengths == width).all():  # all one length (digests, padded ids): no gathering
        table = data[offsets[0] : offsets[-1]].reshape(n, width)
        if width % 8 == 0:  # 8-byte words in place
            words = table.view(np.uint64)
            for j in range(width // 8):
                _mix(hashed, words[:, j])
            return hashed.view(np.int64)
        for at in range(0, width, 8):  # words put together byte by byte, as the gathering reads them
            word = np.zeros(n, dtype=np.uint64)
            for j in range(at, min(at + 8, width)):
                word |= table[:, j].astype(np.uint64) << np.uint64(8 * (j - at))
            _mix(hashed, word)
        return hashed.view(np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(data, 8) if len(data) >= 8 else None
    rows = np.arange(n)
    for at in range(0, int(lengths.max()), 8):
        if at:
            rows = rows[lengths[rows] > at]
        where = starts[rows] + at
        word = np.zeros(len(rows), dtype=np.uint64)
        inside = where <= len(data) - 8  # a whole 8-byte window in the buffer (not the last few bytes)
        if windows is not None:
            word[inside] = windows[where[inside]].view(np.uint64).ravel()
        for i in np.flatnonzero(~inside).tolist():
            word[i] = int.from_bytes(data[where[i] : where[i] + 8].tobytes(), "little")
        word &= _MASKS[np.minimum(lengths[rows] - at, 8)]
        part = hashed[rows]
        _mix(part, word)
        hashed[rows] = part
    return hashed.view(np.int64)


def _mix(hashed: np.ndarray, word: np.ndarray) -> None:
    hashed ^= word
    hashed *= _MIX
    hashed ^= hashed >> _SHIFT
