"""Exact spans inside one JSON line: where a key or a nested value is.

Only rows with findings are located, so this runs on a handful of lines, not
on the whole file. Columns are character indices into the line's text.
"""
from __future__ import annotations

import json
from json.decoder import scanstring
from typing import Sequence

_decoder = json.JSONDecoder()
_WS = " \t\r\n"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _members(text: str, start: int) -> list[tuple[str | int, int, int, int, int]]:
    """Children of the container at `start`: (name or index, key_start, key_end, value_start, value_end)."""
    out: list[tuple[str | int, int, int, int, int]] = []
    opener = text[start]
    i = _skip(text, start + 1)
    index = 0
    while i < len(text) and text[i] not in "]}":
        if opener == "{":
            if text[i] != '"':
                break
            name, key_end = scanstring(text, i + 1)
            key_start = i
            i = _skip(text, key_end)
            if i >= len(text) or text[i] != ":":
                break
            i = _skip(text, i + 1)
        else:
            name, key_start, key_end = index, i, i
        try:
            _, end = _decoder.raw_decode(text, i)
        except ValueError:
            break
        out.append((name, key_start, key_end, i, end))
        index += 1
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return out


def locate(text: str, path: Sequence[str | int], key: bool = False) -> tuple[int, int] | None:
    """Character range of the value at `path` (or of its key, with `key`) in `text`; None if absent."""
    start = _skip(text, 0)
    end = len(text.rstrip(_WS))
    key_range: tuple[int, int] | None = None
    for step in path:
        if start >= len(text) or text[start] not in "[{":
            return None
        for name, ks, ke, vs, ve in _members(text, start):
            if name == step:
                start, end, key_range = vs, ve, (ks, ke)
                break
        else:
            return None
    if key:
        return key_range
    return start, end


def member_names(text: str) -> list[tuple[str, int, int, int, int]]:
    """Top-level members of the object on a line (name, key_start, key_end, value_start, value_end)."""
    start = _skip(text, 0)
    if start >= len(text) or text[start] != "{":
        return []
    return [m for m in _members(text, start) if isinstance(m[0], str)]  # type: ignore[misc]
