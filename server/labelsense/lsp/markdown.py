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


_PLAIN_TOKEN = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~>])|(`+)|\*\*|&(amp|lt|gt);|!\[[^\]\n]*\]\(data:[^)\s]*\)")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def plain(markdown: str) -> str:
    """The markdown of our hovers as plain text, for clients that render no markdown (their
    hover `contentFormat` lacks it): escapes and entities undone, `**` and code fences
    dropped (a code span's text kept as is), the thumbnail image dropped."""
    out: list[str] = []
    i = 0
    while (m := _PLAIN_TOKEN.search(markdown, i)) is not None:
        out.append(markdown[i:m.start()])
        i = m.end()
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:  # a code span: up to the next run of exactly as many backticks
            fence = m.group(2)
            close = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, i)
            if close is None:
                out.append(fence)
                continue
            inner = markdown[i:close.start()]
            if len(inner) > 1 and inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
                inner = inner[1:-1]
            out.append(inner)
            i = close.end()
        elif m.group(3) is not None:
            out.append(_ENTITIES[m.group(3)])
        # `**` and the data-URI image: nothing
    out.append(markdown[i:])
    text = "\n".join(line.rstrip() for line in "".join(out).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
