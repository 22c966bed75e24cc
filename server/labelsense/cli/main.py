"""`labelsense` command line: check, blame, serve, rule, rules."""
from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..core import engine, heap
from ..core.fixer import apply_edits
from ..core.rules.registry import RULES, lookup, selector_matches_any, all_selector_words
from ..core.config import nearest
from ..core.types import Severity
from . import formats
from .progress import progress_bar


def _selectors(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return tuple(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labelsense", description="Lint dataset label files (JSONL / Parquet manifests, taxonomies) like code.")
    parser.add_argument("--version", action="version", version=f"labelsense {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check manifests, taxonomies and config")
    check.add_argument("paths", nargs="*", type=Path, default=[Path(".")], help="files or directories (default: .)")
    check.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    check.add_argument("--select", action="append", help="rules to run: ALL, a prefix (LS3), a code or a name; comma-separated")
    check.add_argument("--ignore", action="append", help="rules to skip, same forms as --select")
    check.add_argument("--fix", action="store_true", help="apply safe fixes (deprecated alias → canonical class), atomically")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--statistics", action="store_true", help="print the number of findings per rule")
    check.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    blame = sub.add_parser("blame", help="label history of one sample (--key/--line), or the last label change of every row")
    blame.add_argument("file", type=Path, help="a JSONL or Parquet manifest in a git repository")
    which = blame.add_mutually_exclusive_group()
    which.add_argument("--key", help="the sample's key (the value of its key field)")
    which.add_argument("--line", type=int, help="the sample's 1-based line (JSONL) or row number (Parquet)")
    blame.add_argument("--format", choices=("text", "json"), default="text")
    blame.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    rule = sub.add_parser("rule", help="show the documentation of one rule")
    rule.add_argument("code", help="a rule code (LS301) or name (unknown-class)")
    sub.add_parser("rules", help="list every rule")
    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    serve.add_argument("--tcp", action="store_true", help="listen on a TCP port instead")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=2087)
    return parser


def run() -> None:
    """The console entry point. After a check the process exits at once: freeing
    millions of row values one by one at interpreter shutdown takes up to a second."""
    raise SystemExit(main(exit_now=True))


def main(argv: Sequence[str] | None = None, exit_now: bool = False) -> int:
    """Run one command; `exit_now` ends the process right after a check's output."""
    args = build_parser().parse_args(argv)
    if args.command == "rule":
        return _rule(args.code)
    if args.command == "serve":
        from ..lsp.main import serve

        return serve(args.tcp, args.host, args.port)
    if args.command == "blame":
        from .blame import run as run_blame

        return run_blame(args)
    if args.command == "rules":
        for r in RULES:
            print(f"{r.code}  {r.name:<30} {r.severity.label:<8} {r.summary}")
        return 0
    held: list = []  # what the check built, freed with the process when it exits now
    if exit_now:
        heap.keep_freed()  # a process about to end: what it frees is for its own reuse
    code = _check(args, held if exit_now else None)
    if exit_now:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader that left, a closed stream
                pass
        os._exit(code)
    return code


def _write_parts(parts: list[bytes | memoryview]) -> None:
    """Bytes to standard output in a few large writes (to its file descriptor when it has one)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # a stream in memory (io.UnsupportedOperation is both)
        sys.stdout.buffer.writelines(parts)
        return
    with open(fd, "wb", buffering=1 << 20, closefd=False) as out:
        out.writelines(parts)


def _rule(word: str) -> int:
    r = lookup(word)
    if r is None:
        print(f"labelsense: unknown rule '{word}'{nearest(word, all_selector_words())}", file=sys.stderr)
        return 2
    print(f"{r.code} {r.name} (default severity: {r.severity.label}{', fixable' if r.fixable else ''})\n")
    print(r.doc.strip())
    return 0


def _check(args: argparse.Namespace, held: list | None = None) -> int:
    """Run `check`; with `held`, what it built (datasets, findings) is put there, not freed."""
    gc.disable()  # a short-lived process holding millions of row values: collections only rescan them
    select, ignore = _selectors(args.select), _selectors(args.ignore)
    for s in (*select, *ignore):
        if not selector_matches_any(s):
            print(f"labelsense: unknown rule selector '{s}'{nearest(s, all_selector_words())}", file=sys.stderr)
            return 2
    show_progress = not args.no_progress and args.format in ("text", "github") and sys.stderr.isatty()
    render = formats.json_fragments if args.format == "json" and not args.fix else None  # rendered on both cores
    with progress_bar(show_progress) as progress:
        report = engine.check(args.paths, select or None, ignore, progress, render, keep=held)
    findings = report.findings
    if args.fix:
        fixed = apply_edits(e for f in findings if (fix := f.safe_fix) for e in fix.edits)
        if fixed:
            print(f"Fixed {sum(fixed.values())} finding(s) in {len(fixed)} file(s).", file=sys.stderr)
            report = engine.check(args.paths, select or None, ignore)
            findings = report.findings
    output = {"text": lambda: formats.as_text(findings, len(report.files), args.statistics, bool(report.errors)), "json": lambda: formats.json_parts(report.rendered if report.rendered is not None else formats.json_fragments(findings)),
              "sarif": lambda: formats.as_sarif(findings), "github": lambda: formats.as_github(findings)}[args.format]
    text = output()  # a str, or (JSON) pieces of bytes
    if held is not None:
        held.append(report)
    if text:
        try:
            if isinstance(text, list) and hasattr(sys.stdout, "buffer"):
                sys.stdout.flush()
                _write_parts([*text, b"\n"])
            else:
                print(b"".join(text).decode() if isinstance(text, list) else text)
            sys.stdout.flush()
        except BrokenPipeError:  # `labelsense check | head`: the reader left; not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    for error in report.errors:
        print(f"labelsense: error: {error}", file=sys.stderr)
    if report.errors:
        return 2
    if args.exit_zero:
        return 0
    return 1 if any(f.severity >= Severity.WARNING for f in findings) else 0
