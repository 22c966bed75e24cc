"""What is under the cursor in a manifest line or a taxonomy file, and where a
label is being typed — the core of hover, definition, rename and completion."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .locate import top_members
from .types import Span


@dataclass(frozen=True)
class Target:
    """A thing in a file: `kind` is a role (`label`, `key`, `media`, …), `field`
    (a member name), or a taxonomy occurrence (`class`, `parent`, `alias`, `exclusive`)."""

    kind: str
    value: object
    span: Span
    field: str | None = None
    index: int | None = None


def manifest_target(text: str, line: int, col: int, fields: dict[str, str | None]) -> Target | None:
    """The member name or role value at character `col` of a JSONL row."""
    roles = {name: role for role, name in fields.items() if name}
    for name, ks, ke, vs, ve in top_members(text):
        if ks <= col <= ke and ke > ks:
            return Target("field", name, Span(line, ks, line, ke), field=str(name))
        if not vs <= col <= ve:
            continue
        try:
            value = json.loads(text[vs:ve])
        except ValueError:
            return None
        role = roles.get(str(name), "value")
        if isinstance(value, list) and text[vs] == "[":
            for item_name, _, _, ivs, ive in top_members(text[vs:ve]):
                if ivs <= col - vs <= ive:
                    item = json.loads(text[vs + ivs : vs + ive])
                    return Target(role, item, Span(line, vs + ivs, line, vs + ive), field=str(name), index=int(item_name))
        return Target(role, value, Span(line, vs, line, ve), field=str(name))
    return None


def label_typing_at(text: str, col: int, label_field: str | None) -> tuple[int, int] | None:
    """When the cursor is inside a label string being typed (the line may be incomplete
    JSON), the character range of that string's contents; else None."""
    if not label_field:
        return None
    before = text[:col]
    pattern = re.compile(r'"' + re.escape(label_field) + r'"\s*:\s*(?:\[(?:\s*"(?:[^"\\]|\\.)*"\s*,)*\s*)?"((?:[^"\\]|\\.)*)$')
    m = pattern.search(before)
    if not m:
        return None
    start = m.start(1)
    rest = re.match(r'(?:[^"\\]|\\.)*', text[col:])
    end = col + (rest.end() if rest else 0)
    return start, end


def key_typing_at(text: str, col: int) -> tuple[int, int] | None:
    """When the cursor is inside a member name being typed (`{"id": 1, "la|`), its range."""
    before = text[:col]
    m = re.search(r'[{,]\s*"((?:[^"\\]|\\.)*)$', before)
    if not m or before.count('"') % 2 == 0:
        return None
    rest = re.match(r'(?:[^"\\]|\\.)*', text[col:])
    return m.start(1), col + (rest.end() if rest else 0)
