"""The rule reference (docs/rules.md) rendered from the rules' own docstrings."""
from __future__ import annotations

from .registry import RULES


def rules_markdown() -> str:
    parts = ["# labelsense rules\n", "Generated from the rules' docstrings (`labelsense rule CODE` prints the same).\n",
             "| code | name | default severity | fixable |", "|---|---|---|---|"]
    parts += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.severity.label} | {'yes' if r.fixable else ''} |" for r in RULES]
    for r in RULES:
        parts += ["", f"## {r.code} {r.name}", "", r.doc.strip()]
    return "\n".join(parts) + "\n"
