"""A JSONL manifest parsed by Arrow's multithreaded JSON reader, block by block (or, when
a later block does not fit the first one's types, in one block or two) — only when that
provably gives the same rows as reading it line by line (jsonl.py).

Arrow is more lenient than JSON in places and less exact in others, so the table
is used only when: the file is valid UTF-8; every line starts with `{` and ends
with `}` (so, given a strict parse and as many rows as lines, each line holds
exactly one object); every column is null, boolean, integer, number, string or a
list of those (at most MAX_DEPTH deep) — never a nested object; no role column
(key, label, …) is a float and no float is as large as 2**53 (an integer Arrow
had to widen). Strings that Arrow took for timestamps are read again as
text. Anything else returns None and the caller reads line by line.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .filelines import FileLines

BLOCK = 4 << 20  # bytes per parse block, at least twice the longest line (Arrow needs a whole line in one block)
_INT32 = 2**31 - 1  # a block's size is an int32: a file this large is never read as one block
MAX_DEPTH = 32  # lists nested deeper are left to the line reader (orjson stops at 1024 levels, Arrow does not)
_WIDE = float(2**53)  # from here on a float need not be the integer that was written


def read_table(data: bytes, lines: FileLines, roles: set[str]) -> pa.Table | None:
    """The rows of `data` (the bytes `lines` has indexed) as a table, or None
    when the line-by-line reader must decide."""
    starts = lines.starts
    if not _one_object_per_line(data, starts):
        return None
    table = _parse(data, starts, {})
    if table is None:
        return None
    stamps = {f.name: pa.string() for f in table.schema if pa.types.is_temporal(_unlist(f.type)[0])}
    if stamps:
        table = _parse(data, starts, stamps)
    if table is None or table.num_rows != len(lines):
        return None
    for f in table.schema:
        item, depth = _unlist(f.type)
        if depth > MAX_DEPTH or not _plain(item) or (pa.types.is_floating(item) and (f.name in roles or not _exact_floats(table.column(f.name)))):
            return None
    return table


def _parse(data: bytes, starts: np.ndarray, strings: dict[str, pa.DataType]) -> pa.Table | None:
    """The table, read block by block with the types of the first block when every block
    fits them (the streaming reader); else in two halves, each one block, on two threads
    when they infer the same types (a field first written after the first block, say);
    else as one block, its types inferred from all rows. Never as several blocks read
    whole: pyarrow (26) then reconciles each column's types across blocks, and crashes (a
    segfault) where a column is, say, a string in one block and a list in another. Block by
    block holds less at once, too (1M rows: 180 MB less fresh memory, 0.03-0.1 s here)."""
    options = pj.ParseOptions(explicit_schema=pa.schema(list(strings.items())), unexpected_field_behavior="infer") if strings else None
    longest = int(np.diff(starts).max(initial=0))
    try:
        reader = pj.open_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=max(BLOCK, 2 * longest)), parse_options=options)
        try:
            return reader.read_all()
        finally:
            reader.close()  # its threads joined now, not at the interpreter's exit
    except (pa.ArrowException, ValueError, OverflowError):  # a later block does not fit the first one's types
        pass
    whole = pa.py_buffer(data)
    middle = int(starts[len(starts) // 2])  # a line's start
    if 0 < middle < len(data):
        with ThreadPoolExecutor(2, thread_name_prefix="labelsense-json") as pool:
            halves = list(pool.map(lambda part: _one_block(part, options), (whole[:middle], whole[middle:])))
        if any(half is None for half in halves):
            return None  # a half breaks the types of its own rows (or is too large to be one block): so does the whole
        if halves[0].schema == halves[1].schema:  # (so all rows infer these types, in this column order)
            return pa.concat_tables(halves)
    return _one_block(whole, options)


def _one_block(data: pa.Buffer, options: pj.ParseOptions | None) -> pa.Table | None:
    """`data` read as one block: types inferred from all its rows (None when they conflict)."""
    if len(data) >= _INT32:
        return None
    try:
        return pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=len(data) + 1), parse_options=options)
    except (pa.ArrowException, ValueError, OverflowError):
        return None


def _one_object_per_line(data: bytes, starts: np.ndarray) -> bool:
    """Every line's first byte is `{` and its last (before a `\\r`) is `}`. (Few temporaries
    of a row's size: on this kind of machine fresh memory costs more than the work.)"""
    if len(starts) < 2 or np.diff(starts).min() < 3:  # (a line, its newline included, of 2 bytes or fewer)
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    if not (raw[starts[:-1]] == 123).all():
        return False
    before = starts[1:] - 2  # each line's last byte, before its `\n`
    last = raw[before]
    np.subtract(before, 1, out=before)
    return bool((np.where(last == 13, raw[before], last) == 125).all())


def _plain(t: pa.DataType) -> bool:
    """A JSON scalar type (temporal ones were read again as text)."""
    return (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t))


def _unlist(t: pa.DataType) -> tuple[pa.DataType, int]:
    """The item type under any depth of lists, and that depth (a loop: Arrow takes a thousand levels)."""
    depth = 0
    while pa.types.is_list(t) or pa.types.is_large_list(t):
        t, depth = t.value_type, depth + 1
    return t, depth


def _exact_floats(col: pa.ChunkedArray) -> bool:
    """No NaN or infinity (not JSON), and every value below 2**53 in size (not a widened integer)."""
    while pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        col = pc.list_flatten(col)
    finite = pc.all(pc.is_finite(col)).as_py()
    top = pc.max(pc.abs(col)).as_py()
    return finite is not False and (top is None or top < _WIDE)
