"""`labelsense blame FILE [--key K | --line N] [--format text|json]`.

With a key or a line: the label history of that sample, newest first. Without:
one line per row, like `git blame` — short commit, author, date, line number,
key and labels — printed as it goes (JSON Lines with `--format json`).

Text output never carries raw control characters from the dataset or from git
(an author name or a label holding an ANSI escape): they are printed escaped.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import msgspec
import orjson

from ..core.blame import NOT_COMMITTED, BlameError, Change, History, LabelBlame, RowBlame, key_text, labels_text
from ..core.paths import MANIFEST_SUFFIXES

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")  # and lone surrogates


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        if not path.is_file():
            raise BlameError(path, "unreadable", "no such file")
        if path.suffix.lower() not in MANIFEST_SUFFIXES:
            raise BlameError(path, "not-a-manifest", "not a JSONL/Parquet manifest (label history is kept for "
                                                     f"{', '.join(sorted(MANIFEST_SUFFIXES))} files)")
        blame = LabelBlame(path)
        show = not args.no_progress and args.format == "text" and sys.stderr.isatty()
        with _progress(show) as progress:
            if args.key is None and args.line is None:
                return _rows(blame, args.format, progress)
            if args.line is not None:
                if args.line < 1:
                    raise BlameError(path, "line", f"--line must be 1 or more, got {args.line}")
                key = blame.key_at(args.line - 1)
                if key is None:
                    raise BlameError(path, "line", f"line {args.line} has no key (field '{_key_field(blame)}'), so it is no sample")
            else:
                key = _resolve_key(blame, args.key, progress)
            history = blame.full_history(key, progress=progress)
        if not history.changes and args.key is not None and not _key_exists(blame, key):
            raise BlameError(path, "key", f"no sample with key {args.key!r} in the file or its history")
        _print(_history_json(history) if args.format == "json" else _history_text(history))
        return 0
    except BlameError as exc:
        print(f"labelsense: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _key_field(blame: LabelBlame) -> str:
    return blame.spec.fields.get("key") or "id"


def _key_exists(blame: LabelBlame, key: Any) -> bool:
    return any(k == key for _, k, _ in blame.current_rows())


def _resolve_key(blame: LabelBlame, text: str, progress: Any) -> Any:
    """`--key 42` means the string "42" or the number 42, whichever the file uses."""
    candidates: list[Any] = [text]
    try:
        number = msgspec.json.decode(text.encode("utf-8", "surrogatepass"))  # as rows are read: 2**70 stays an integer
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            candidates.append(number)
    except msgspec.DecodeError:
        pass
    if len(candidates) == 1:
        return text
    present = {k for _, k, _ in blame.current_rows() if k in candidates or k == text}
    for c in candidates:
        if any(type(p) is type(c) and p == c for p in present):
            return c
    for c in candidates:  # gone from the file: whichever has a history
        if blame.full_history(c, progress=progress).changes:
            return c
    return text


def safe(text: str) -> str:
    """`text` with control characters (ANSI escapes, bidi overrides...) and lone surrogates shown as escapes, not sent to the terminal."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def dumps(obj: Any, indent: bool = False) -> str:
    """JSON text of `obj`, also for integers beyond 64 bits (which orjson refuses)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0, default=str).decode()
    except TypeError:
        return json.dumps(obj, indent=2 if indent else None, separators=None if indent else (",", ":"), default=str)  # \uXXXX escapes


def _print(text: str) -> None:
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    sys.stdout.flush()


def _when(change: Change) -> str:
    return change.date.replace("T", " ")


def _history_text(history: History) -> str:
    n = len(history.changes)
    head = f"{history.path}: key {key_text(history.key)} — {n} label change{'s' if n != 1 else ''}"
    if not history.complete:
        head += " (history still being indexed)"
    out = [head]
    for c in history.changes:
        who = c.author if not c.committed else f"{c.author} <{c.email}>"
        out.append(f"{c.short}  {_when(c)}  {who}  {c.summary}")
        note = {"added": "  (row added)", "removed": "  (row removed)"}.get(c.kind, "")
        moved = f"  [{c.path}]" if c.path != history.path else ""
        out.append(f"    {labels_text(c.previous)} → {labels_text(c.labels)}{note}{moved}")
    return "\n".join(safe(line) for line in out)


def _history_json(history: History) -> str:
    return dumps(history.to_json(), indent=True)


def _rows(blame: LabelBlame, fmt: str, progress: Any) -> int:
    rows = blame.rows(progress=progress)
    first = next(rows, None)  # index first (with the progress bar), then stream
    if first is None:
        return 0
    authors = {c.author for c in blame.snapshot().commits}
    width = max([len(safe(a)) for a in authors] + [len(NOT_COMMITTED)])
    digits = len(str(max(blame.line_count(), 1)))
    out = sys.stdout
    buffer: list[str] = []
    for row in _chain(first, rows):
        buffer.append(_row_json(row) if fmt == "json" else _row_text(row, width, digits))
        if len(buffer) >= 4096:
            out.write("\n".join(buffer) + "\n")
            out.flush()
            buffer.clear()
    if buffer:
        out.write("\n".join(buffer) + "\n")
        out.flush()
    return 0


def _chain(first: RowBlame, rest: Iterator[RowBlame]) -> Iterator[RowBlame]:
    yield first
    yield from rest


def _row_text(row: RowBlame, width: int, digits: int) -> str:
    labels = labels_text((row.labels,))
    key = key_text(row.key) if row.key is not None else "(no key)"
    if row.uncommitted:
        when = time.strftime("%Y-%m-%d")
        return safe(f"00000000 ({NOT_COMMITTED:<{width}} {when} {row.line + 1:>{digits}}) {key} {labels}")
    if row.commit is None:
        return safe(f"{'':8} ({'':<{width}} {'':10} {row.line + 1:>{digits}}) {key}" + (f" {labels}" if row.key is not None else ""))
    c = row.commit
    return safe(f"{c.sha[:8]} ({safe(c.author):<{width}} {c.date[:10]} {row.line + 1:>{digits}}) {key} {labels}")


def _row_json(row: RowBlame) -> str:
    c = row.commit
    return dumps({
        "line": row.line + 1, "key": row.key, "labels": list(row.labels) if row.labels is not None else None,
        "commit": c.sha if c else None, "committed": not row.uncommitted and c is not None,
        "author": c.author if c else (NOT_COMMITTED if row.uncommitted else None),
        "email": c.email if c else None, "date": c.date if c else None, "summary": c.summary if c else None,
    })


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    with RichProgress(TextColumn("[bold]indexing label history[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total, description=current)

        yield update
