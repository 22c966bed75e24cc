"""Markdown for hovers: everything that comes from a dataset is escaped, so a
label or a text field can never inject HTML, images or links (`command:`)."""
from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape(text: object, limit: int = 500) -> str:
    """Plain text safe to embed in markdown: HTML entities, markdown punctuation escaped."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    return s.replace("\r", " ").replace("\n", " ")


def code(text: object, limit: int = 200) -> str:
    """Inline code for untrusted text: a fence longer than any backtick run inside."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    s = s.replace("\n", " ").replace("\r", " ")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"
