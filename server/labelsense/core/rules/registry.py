"""The one explicit list of rules, and rule selection (`ALL`, a prefix, a code, a name)."""
from __future__ import annotations

from . import (
    annotator_disagreement,
    bad_bbox,
    bad_encoding,
    blank_line,
    conflicting_labels,
    deprecated_class,
    duplicate_row,
    exclusive_classes,
    invalid_json,
    missing_key,
    missing_label,
    missing_media,
    non_leaf_class,
    rare_class,
    row_not_object,
    same_content_different_label,
    schema_violation,
    split_leakage,
    taxonomy_bad_parent,
    taxonomy_duplicate,
    unknown_class,
    unreadable_manifest,
    unreadable_media,
    unused_class,
)
from .base import Rule

RULES: tuple[Rule, ...] = tuple(
    m.RULE
    for m in (
        invalid_json,
        row_not_object,
        blank_line,
        bad_encoding,
        unreadable_manifest,
        schema_violation,
        missing_key,
        missing_label,
        unknown_class,
        deprecated_class,
        non_leaf_class,
        exclusive_classes,
        taxonomy_duplicate,
        taxonomy_bad_parent,
        unused_class,
        rare_class,
        conflicting_labels,
        duplicate_row,
        same_content_different_label,
        split_leakage,
        annotator_disagreement,
        missing_media,
        unreadable_media,
        bad_bbox,
    )
)
BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def lookup(word: str) -> Rule | None:
    """A rule by code (`LS301`, any case) or name (`unknown-class`)."""
    return BY_CODE.get(word.upper()) or BY_NAME.get(word.lower())


def matches(selector: str, rule: Rule) -> bool:
    s = selector.strip()
    return s.upper() == "ALL" or rule.code.startswith(s.upper()) or rule.name == s.lower()


def selector_matches_any(selector: str) -> bool:
    return any(matches(selector, r) for r in RULES)


def all_selector_words() -> list[str]:
    return ["ALL", *BY_CODE, *BY_NAME]


def selected(select: tuple[str, ...], ignore: tuple[str, ...]) -> list[Rule]:
    """Rules picked by `select` minus those picked by `ignore`; the more specific
    selector wins (`select = ["LS301"]` beats `ignore = ["LS3"]`), ignore wins ties."""

    def best(selectors: tuple[str, ...], rule: Rule) -> int:
        hits = [len(s) if s.upper() != "ALL" else 0 for s in selectors if matches(s, rule)]
        return max(hits, default=-1)

    return [r for r in RULES if best(select, r) > best(ignore, r)]
