"""Rendering findings: text, json, sarif (2.1.0) and GitHub workflow commands.
Positions are printed 1-based; Parquet rows print as line = row number, column 1."""
from __future__ import annotations

import json
import os

import orjson
from functools import lru_cache
from collections import Counter
from pathlib import Path
from urllib.parse import quote
from typing import Any, Iterable, Iterator, Sequence

from .. import __version__
from ..core.rules.registry import BY_CODE, RULES
from ..core.types import Finding, Severity, Span

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def display_path(path: str) -> str:
    """A path relative to the working directory when it is below it."""
    return _display_path(path, os.getcwd())


@lru_cache(maxsize=4096)
def _display_path(path: str, cwd: str) -> str:  # cached per working directory: a caller may chdir between runs
    try:
        return os.path.relpath(path, cwd) if Path(path).resolve().is_relative_to(Path(cwd).resolve()) else path
    except ValueError:
        return path


PARQUET_SUFFIXES = (".parquet", ".pq")


def _pos(f: Finding) -> tuple[int, int, int, int]:
    return _position(f.span, f.path.endswith(PARQUET_SUFFIXES))


def _position(s: Span, parquet: bool) -> tuple[int, int, int, int]:
    """1-based line, column, end line and end column; a Parquet row is its line, column 1."""
    if parquet:
        return s.line + 1, 1, s.line + 1, 1
    return s.line + 1, s.col + 1, s.end_line + 1, s.end_col + 1


def as_text(findings: list[Finding], files: int, statistics: bool, failed: bool = False) -> str:
    lines = []
    for f in findings:
        line, col, _, _ = _pos(f)
        lines.append(f"{display_path(f.path)}:{line}:{col}: {f.code} {f.message}")
    if statistics:
        lines.append("")
        for code, n in sorted(Counter(f.code for f in findings).items()):
            lines.append(f"{n:>7}  {code}  {BY_CODE[code].name}")
    by_sev = Counter(f.severity for f in findings)
    if findings:
        parts = [f"{by_sev[s]} {s.label}{'s' if by_sev[s] != 1 and s != Severity.INFO else ''}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO) if by_sev[s]]
        lines.append(f"Found {len(findings)} problem{'s' if len(findings) != 1 else ''} ({', '.join(parts)}) in {files} manifest file{'s' if files != 1 else ''}.")
        fixable = sum(1 for f in findings if f.safe_fix)
        if fixable:
            lines.append(f"{fixable} fixable with `labelsense check --fix`.")
    elif not failed:
        lines.append(f"All checks passed ({files} manifest file{'s' if files != 1 else ''}).")
    return "\n".join(lines)


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding as the JSON output shows it."""
    return next(finding_dicts([f]))


def finding_dicts(findings: Iterable[Finding]) -> Iterator[dict[str, Any]]:
    """Findings as the JSON output shows them (paths shown relative to the working directory)."""
    cwd = os.getcwd()
    shown = lru_cache(maxsize=None)(lambda path: _display_path(path, cwd))
    names = {r.code: r.name for r in RULES}
    files: dict[str, tuple[str, bool]] = {}  # path → (as shown, whether its rows are Parquet rows)
    for f in findings:
        if (file := files.get(f.path)) is None:
            file = files[f.path] = shown(f.path), f.path.endswith(PARQUET_SUFFIXES)
        line, col, end_line, end_col = _position(f.span, file[1])
        out: dict[str, Any] = {
            "path": file[0], "line": line, "column": col, "end_line": end_line, "end_column": end_col,
            "code": f.code, "name": names[f.code], "severity": _LABEL[f.severity], "message": f.message,
            "related": [{"path": shown(r.path), "line": r.span.line + 1, "column": r.span.col + 1, "message": r.message} for r in f.related],
        }
        if f.fixes:
            fix = f.fixes[0]
            out["fix"] = {"title": fix.title, "safe": fix.safe, "edits": [
                {"path": shown(e.path), "line": e.span.line + 1, "column": e.span.col + 1, "end_line": e.span.end_line + 1, "end_column": e.span.end_col + 1, "text": e.text, **({"parquet_column": e.column} if e.column else {})}
                for e in fix.edits]}
        yield out


_LABEL = {s: s.label for s in Severity}


def json_fragments(findings: list[Finding]) -> list[bytes]:
    """Each finding as it stands in the JSON output's array (indented one level)."""
    dumps, indent = orjson.dumps, orjson.OPT_INDENT_2
    return [dumps([d], option=indent)[2:-2] for d in finding_dicts(findings)]  # `[\n  {…}\n]` less its brackets: a third faster than indenting by replace


def json_parts(fragments: Sequence[bytes | memoryview]) -> list[bytes | memoryview]:
    """The JSON output from `json_fragments` (of findings in output order), as pieces to
    write one after the other (joining them would copy the 60 MB of 100k findings again)."""
    if not fragments:
        return [b"[]"]
    parts = [b",\n"] * (2 * len(fragments) + 1)
    parts[0], parts[-1] = b"[\n", b"\n]"
    parts[1::2] = fragments
    return parts


def _location(path: str, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line, "startColumn": col}
    if end_line is not None and end_col is not None and (end_line, end_col) > (line, col):
        region.update(endLine=end_line, endColumn=end_col)
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path)}, "region": region}}


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative and percent-encoded, or a file: URI."""
    shown = Path(display_path(path))
    return shown.as_uri() if shown.is_absolute() else quote(shown.as_posix())


def as_sarif(findings: list[Finding]) -> str:
    index = {r.code: i for i, r in enumerate(RULES)}
    results = []
    for f in findings:
        line, col, end_line, end_col = _pos(f)
        result: dict[str, Any] = {
            "ruleId": f.code, "ruleIndex": index[f.code], "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message}, "locations": [_location(f.path, line, col, end_line, end_col)],
        }
        if f.related:
            result["relatedLocations"] = [
                {"id": i, **_location(r.path, r.span.line + 1, r.span.col + 1), "message": {"text": r.message}} for i, r in enumerate(f.related)
            ]
        results.append(result)
    rules = [{
        "id": r.code, "name": r.name,
        "shortDescription": {"text": r.summary}, "fullDescription": {"text": r.doc.strip()},
        "help": {"text": r.doc.strip()}, "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
    } for r in RULES]
    log = {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "labelsense", "version": __version__, "informationUri": "https://github.com/labelsense/labelsense", "rules": rules}},
                  "columnKind": "unicodeCodePoints", "results": results}],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def _escape_property(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def as_github(findings: list[Finding]) -> str:
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = []
    for f in findings:
        line, col, end_line, end_col = _pos(f)
        props = f"file={_escape_property(display_path(f.path))},line={line},col={col},endLine={end_line},endColumn={end_col},title={f.code}"
        out.append(f"::{kind[f.severity]} {props}::{_escape_data(f.message)}")
    return "\n".join(out)
