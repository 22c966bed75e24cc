"""Walking a tree (never following directory symlinks, so loops are harmless)
and matching `**` globs relative to a root."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox"}
MANIFEST_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Regex for a glob with `**` (any number of directories), `*`, `?` and `[...]`."""
    out, i = [], 0
    pattern = pattern.removeprefix("./")
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (j := pattern.find("]", i + 1)) > i:
            out.append("[" + pattern[i + 1 : j].replace("!", "^", 1) + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(relative: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(relative) for p in patterns)


def walk(root: Path) -> Iterator[Path]:
    """Files under `root`, sorted, skipping hidden and tool directories and not following directory links."""
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            yield Path(directory) / name


def manifest_kind(path: Path) -> str:
    return MANIFEST_SUFFIXES.get(path.suffix.lower(), "jsonl")


def is_under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents
