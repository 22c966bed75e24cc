"""Which lines differ between two versions of a big text file, fast.

`changed_lines(a, b)` returns the lines of `a` that are not in `b` and the
lines of `b` that are not in `a`, as a multiset difference: every line of
`a` is either matched by an equal line of `b` or listed as removed, and the
other way round. Any pairing of equal lines is correct; good pairings only
keep the lists short.

Versions of a manifest usually differ in a few scattered rows. Instead of
splitting 200 MB into a million lines per version, the walk compares the two
buffers with `memcmp` (`bytes.startswith` on a memoryview), jumps straight to
the next difference, and resynchronises after it by trying "one line
replaced", "lines inserted" and "lines deleted". When that stops working
(a reformat, a re-sort) the rest is compared line by line in bulk.
"""
from __future__ import annotations

from collections import Counter

GALLOP = 4096  # first step of the search for the next difference
PROBE = 4096  # bytes that must agree after a resync point
SEARCH = 1 << 16  # how far to look for the other side's line (inserted / deleted blocks)
MAX_STREAK = 48  # consecutive unsynchronised lines before switching to the bulk comparison
SAMPLE_FROM = 100_000  # above this many changed lines, look at a sample before cancelling moved lines


def _common(a: bytes, ma: memoryview, i: int, b: bytes, j: int) -> int:
    """Length of the common prefix of a[i:] and b[j:]."""
    limit = min(len(a) - i, len(b) - j)
    if limit <= 0:
        return 0
    k, step = 0, GALLOP
    while k < limit:  # gallop: grow the window while it matches
        n = min(step, limit - k)
        if not b.startswith(ma[i + k : i + k + n], j + k):
            break
        k += n
        step *= 2
    else:
        return limit
    lo, hi = k, k + min(step, limit - k)  # the first difference is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if b.startswith(ma[i + lo : i + mid], j + lo):
            lo = mid
        else:
            hi = mid
    return lo


def _line_end(data: bytes, i: int) -> int:
    end = data.find(b"\n", i)
    return len(data) if end < 0 else end + 1


def _agree(a: bytes, ma: memoryview, i: int, b: bytes, j: int) -> bool:
    """Whether a[i:] and b[j:] start alike for PROBE bytes (or both end)."""
    n = min(PROBE, len(a) - i, len(b) - j)
    if n == 0:
        return len(a) - i == len(b) - j
    return b.startswith(ma[i : i + n], j)


def _lines(data: bytes, start: int, end: int) -> list[bytes]:
    chunk = data if start == 0 and end == len(data) else data[start:end]
    out = chunk.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return out


def changed_lines(a: bytes, b: bytes) -> tuple[list[bytes], list[bytes]]:
    """(removed, added): lines (without their `\\n`) of `a` not matched in `b`, and of `b` not in `a`."""
    removed: list[bytes] = []
    added: list[bytes] = []
    ma = memoryview(a)
    la, lb = len(a), len(b)
    i = j = 0
    streak = 0
    while True:
        k = _common(a, ma, i, b, j)
        if i + k == la and j + k == lb:
            break
        nl = a.rfind(b"\n", i, i + k)  # back to the start of the line holding the difference
        if nl >= 0:
            j += nl + 1 - i
            i = nl + 1
            streak = 0
        if i >= la or j >= lb:
            removed += _lines(a, i, la)
            added += _lines(b, j, lb)
            break
        ea, eb = _line_end(a, i), _line_end(b, j)
        if _agree(a, ma, ea, b, eb):  # one line replaced
            removed.append(a[i:ea].rstrip(b"\n"))
            added.append(b[j:eb].rstrip(b"\n"))
            i, j, streak = ea, eb, 0
            continue
        line_a = a[i:ea]
        at = b.find(line_a, j, j + SEARCH) if line_a.endswith(b"\n") else -1
        if at > j and b[at - 1 : at] == b"\n" and _agree(a, ma, i, b, at):  # lines inserted in b
            added += _lines(b, j, at)
            j, streak = at, 0
            continue
        line_b = b[j:eb]
        at = a.find(line_b, i, i + SEARCH) if line_b.endswith(b"\n") else -1
        if at > i and a[at - 1 : at] == b"\n" and _agree(a, ma, at, b, j):  # lines deleted from a
            removed += _lines(a, i, at)
            i, streak = at, 0
            continue
        removed.append(a[i:ea].rstrip(b"\n"))  # no resync: pair the lines anyway and go on
        added.append(b[j:eb].rstrip(b"\n"))
        i, j = ea, eb
        streak += 1
        if streak >= MAX_STREAK:
            r, d = _bulk(_lines(a, i, la), _lines(b, j, lb))
            removed += r
            added += d
            break
    return _cancel(removed, added)


def _bulk(la: list[bytes], lb: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Line-by-line multiset difference of two line lists (the slow, general path)."""
    if len(la) == len(lb):
        removed, added = [], []
        for x, y in zip(la, lb):
            if x != y:
                removed.append(x)
                added.append(y)
        return removed, added
    p = 0
    while p < len(la) and p < len(lb) and la[p] == lb[p]:
        p += 1
    s = 0
    while s < len(la) - p and s < len(lb) - p and la[-1 - s] == lb[-1 - s]:
        s += 1
    return la[p : len(la) - s], lb[p : len(lb) - s]


def _cancel(removed: list[bytes], added: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Drop lines that were only moved: equal lines on both sides cancel (as a multiset)."""
    removed = [x.rstrip(b"\r") for x in removed]
    added = [x.rstrip(b"\r") for x in added]
    if not removed or not added:
        return removed, added
    if len(removed) > SAMPLE_FROM and len(added) > SAMPLE_FROM:  # a reformat changes every line: nothing to cancel
        present = set(removed)
        step = len(added) // 64
        if not any(added[i] in present for i in range(0, len(added), step)):
            return removed, added
    counts = Counter(removed)
    kept_added = []
    for line in added:
        if counts.get(line, 0) > 0:
            counts[line] -= 1
        else:
            kept_added.append(line)
    if len(kept_added) == len(added):
        return removed, added
    kept_removed = []
    for line in removed:
        if counts.get(line, 0) > 0:
            counts[line] -= 1
            kept_removed.append(line)
    return kept_removed, kept_added
