"""Exact spans inside one JSON line: where a key or a nested value is.

Only rows with findings are located, so this runs on a handful of lines, not
on the whole file. Columns are character indices into the line's text.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Sequence

_WS = " \t\r\n"


def _back(text: str, i: int) -> int:
    """The end of the text before `i`, without trailing white space."""
    while i > 0 and text[i - 1] in _WS:
        i -= 1
    return i


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _members(text: str, start: int) -> list["Member"]:
    """Children of the container at `start`: (name or index, key_start, key_end, value_start, value_end).
    One regex pass over strings and punctuation; scalars are skipped over, not decoded."""
    out: list[Member] = []
    is_object = text[start] == "{"
    depth = 0
    name: str | int | None = None if is_object else 0
    key_start = key_end = value_start = -1
    if not is_object:
        value_start = _skip(text, start + 1)
    index = 0
    for m in _TOKEN.finditer(text, start + 1):
        tok = m.group()
        if depth == 0:
            if tok[0] == '"' and is_object and name is None:
                name = json.loads(tok) if "\\" in tok else tok[1:-1]
                key_start, key_end = m.start(), m.end()
                continue
            if tok == ":":
                value_start = _skip(text, m.end())
                continue
            if tok in ",]}":
                end = _back(text, m.start())
                if name is not None and end > value_start >= 0:
                    out.append((name, key_start if is_object else value_start, key_end if is_object else value_start, value_start, end))
                if tok != ",":
                    return out
                index += 1
                name = None if is_object else index
                key_start, key_end, value_start = -1, m.end(), -1
                if not is_object:
                    value_start = _skip(text, m.end())
                continue
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            depth -= 1
    return out


Member = tuple[str | int, int, int, int, int]


def top_members(text: str) -> list[Member]:
    """Members of the top-level container of a line (name or index, key_start, key_end, value_start, value_end)."""
    start = _skip(text, 0)
    return _members(text, start) if start < len(text) and text[start] in "[{" else []


def locate(text: str, path: Sequence[str | int], key: bool = False, top: list[Member] | None = None) -> tuple[int, int] | None:
    """Character range of the value at `path` (or of its key, with `key`) in `text`; None if absent.
    `top` is the line's `top_members`, when the caller has it cached."""
    start = _skip(text, 0)
    end = len(text.rstrip(_WS))
    key_range: tuple[int, int] | None = None
    for depth, step in enumerate(path):
        if start >= len(text) or text[start] not in "[{":
            return None
        for name, ks, ke, vs, ve in (top if depth == 0 and top is not None else _members(text, start)):
            if name == step:
                start, end, key_range = vs, ve, (ks, ke)
                break
        else:
            return None
    if key:
        return key_range
    return start, end


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCALAR = re.compile(r'[^,}\]\s]+')
_COLON = re.compile(r'\s*:\s*')


@lru_cache(maxsize=256)
def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def locate_field(text: str, name: str) -> tuple[int, int] | None | bool:
    """Fast path for a top-level field whose quoted name occurs once in the line:
    its value's range, None if absent, or False when only the full scan can tell."""
    quoted = _quoted(name)
    at = text.find(quoted)
    if at < 0:
        return None if "\\" not in text else False
    if text.find(quoted, at + 1) >= 0 or text.count("{", 0, at) != 1:
        return False  # ambiguous, or possibly inside a nested object
    colon = _COLON.match(text, at + len(quoted))
    if colon is None:
        return False  # the text occurs, but as a value
    start = colon.end()
    if start >= len(text):
        return False
    if text[start] == '"':
        m = _STRING.match(text, start)
    elif text[start] in "[{":
        return False
    else:
        m = _SCALAR.match(text, start)
    return (m.start(), m.end()) if m else False
