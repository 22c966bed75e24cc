"""Check paths: find configs, load each dataset, run the selected rules, filter.

`check()` is what `labelsense check` runs; the language server uses the same
pieces (`load_dataset`, `run_rules`) on its own documents.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import paths
from .config import Config, DatasetConfig, default_config, find_config, load_config
from .dataset import Dataset
from .gcpause import paused_gc
from .jsonl import read_jsonl
from .manifest import Manifest
from .parquet import read_parquet
from .rowschema import RowSchema
from .rulefork import run_each, run_forked, trace_of
from .rules.base import Rule
from .rules.registry import matches, selected
from .taxonomy import find_taxonomy, load_taxonomy
from .types import ConfigError, Finding, Severity

Progress = Callable[[int, int, str], None]  # (bytes done, bytes total, current file)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    rendered: list[bytes] | None = None  # with `check(render=...)`: each finding rendered, in the same order
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # config and internal errors: exit 2


def dataset_files(config: Config, spec: DatasetConfig, owned_elsewhere: Iterable[Path] = ()) -> list[Path]:
    """The manifests of a dataset: its globs under the config root, minus excludes
    and minus files that belong to a nested config."""
    nested = [p for p in owned_elsewhere if p != config.root and paths.is_under(p, config.root)]
    out = []
    for f in paths.walk(config.root):
        rel = f.relative_to(config.root).as_posix()
        if paths.matches(rel, spec.manifests) and not paths.matches(rel, config.exclude) and not any(paths.is_under(f, n) for n in nested):
            out.append(f)
    return out


def load_dataset(config: Config, spec: DatasetConfig, files: list[Path], progress: Progress | None = None,
                 buffers: dict[Path, bytes] | None = None, with_boxes: bool = True) -> Dataset:
    """Read a dataset's taxonomy, row schema and manifests (`buffers` override file contents)."""
    ds = Dataset(config=config, spec=spec)
    tax_path = config.root / spec.taxonomy if spec.taxonomy else find_taxonomy(config.root)
    if spec.taxonomy and tax_path is not None and not tax_path.is_file():
        raise ConfigError(config.display_path, f"dataset '{spec.name}': taxonomy file '{spec.taxonomy}' not found")
    if tax_path is not None:
        ds.taxonomy = load_taxonomy(tax_path)
    if spec.schema:
        schema_path = config.root / spec.schema
        if not schema_path.is_file():
            raise ConfigError(config.display_path, f"dataset '{spec.name}': row schema '{spec.schema}' not found")
        ds.schema = RowSchema.load(schema_path)
    total = sum(_size(f) for f in files) or 1
    done = 0
    for f in files:
        if progress:
            progress(done, total, str(f))
        ds.manifests.append(read_manifest(f, spec, ds.schema, (buffers or {}).get(f), with_boxes))
        done += _size(f)
    if progress:
        progress(total, total, "")
    return ds


def read_manifest(path: Path, spec: DatasetConfig, schema: RowSchema | None, data: bytes | None = None, with_boxes: bool = True,
                  text_of: Callable[[int], str] | None = None) -> Manifest:
    """Read one manifest; `with_boxes=False` skips the bbox column when no rule needs it;
    `text_of` gives the text of `data`'s lines (an editor buffer) so they need not be kept."""
    if paths.manifest_kind(path) == "parquet":
        return read_parquet(path, spec, schema, with_boxes)
    return read_jsonl(path, spec, schema, data, with_boxes, text_of)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_rules(ds: Dataset, rules: list[Rule], on_error: Callable[[Rule, BaseException], None], fork: bool = False) -> list[Finding]:
    """Run each rule on the dataset; a rule that fails is reported through `on_error`, the rest go on.
    With `fork`, a large dataset's rules share two processes (rulefork.py)."""
    if fork:
        return run_forked(ds, rules, on_error, lambda found: apply_config(ds.config, found))[0]
    return apply_config(ds.config, run_each(ds, rules, on_error))


def apply_config(config: Config, findings: list[Finding]) -> list[Finding]:
    """Severity overrides and per-file-ignores of the config."""
    if not config.rules.per_file_ignores and not config.rules.severity:
        return findings
    out = []
    ignored: dict[tuple[str, str], bool] = {}
    for f in findings:
        skip = ignored.get((f.path, f.code))
        if skip is None:
            rel = _relative(Path(f.path), config.root)
            skip = ignored[f.path, f.code] = rel is not None and any(
                paths.matches(rel, [glob]) and any(matches(s, _rule(f.code)) for s in codes) for glob, codes in config.rules.per_file_ignores.items())
        if skip:
            continue
        override = next((sev for sel, sev in config.rules.severity.items() if matches(sel, _rule(f.code))), None)
        if override is not None and override != f.severity:
            f = Finding(f.code, f.path, f.span, f.message, override, f.related, f.fixes, f.deprecated)
        out.append(f)
    return out


def _rule(code: str) -> Rule:
    from .rules.registry import BY_CODE

    return BY_CODE[code]


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def discover(targets: list[Path]) -> tuple[list[Config], dict[Path, str]]:
    """Configs governing `targets` (above or below each), plus zero-config roots; and the
    config files that failed to load, with their errors."""
    configs: dict[Path, Config] = {}
    errors: dict[Path, str] = {}

    def add(config_path: Path) -> None:
        key = config_path.resolve()
        if key in configs or key in errors:
            return
        try:
            configs[key] = load_config(key)
        except ConfigError as exc:
            errors[key] = str(exc)

    for target in targets:
        above = find_config(target)
        if above:
            add(above)
        if target.is_dir():
            for f in paths.walk(target):
                if f.name == "labelsense.toml" or (f.name == "pyproject.toml" and find_config(f) == f):
                    add(f)
        if not above:
            root = target if target.is_dir() else target.parent
            configs.setdefault(root / "(defaults)", default_config(root))
    return list(configs.values()), errors


def check(targets: list[Path], select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), progress: Progress | None = None,
          render: Callable[[list[Finding]], list[bytes]] | None = None) -> Report:
    """Check the manifests under `targets`; findings only for files under a target. The rules
    of a large dataset share two processes (rulefork.py), and so does `render`, which turns
    findings into output fragments (`Report.rendered`)."""
    with paused_gc():  # millions of long-lived row values: collection passes would only rescan them
        return _check(targets, select, ignore, progress, render)


def _check(targets: list[Path], select: tuple[str, ...] | None, ignore: tuple[str, ...], progress: Progress | None,
           render: Callable[[list[Finding]], list[bytes]] | None) -> Report:
    report = Report()
    rendered: list[bytes] | None = [] if render else None
    targets = [t.resolve() for t in targets]
    for t in targets:
        if not t.exists():
            report.errors.append(f"{t}: no such file or directory")
    targets = [t for t in targets if t.exists()]
    configs, config_errors = discover(targets)
    report.errors.extend(config_errors.values())
    # files under a broken config are not checked with defaults: its error is the finding
    config_roots = [c.root for c in configs if c.path is not None] + [p.parent for p in config_errors]
    seen: set[tuple] = set()
    for config in configs:
        rules = selected(select if select is not None else config.rules.select, tuple(config.rules.ignore) + tuple(ignore))
        for spec in config.datasets:
            try:
                files = dataset_files(config, spec, config_roots)
                if not files and config.path is None:
                    continue
                ds = load_dataset(config, spec, files, progress, with_boxes=any(r.code == "LS503" for r in rules))
            except ConfigError as exc:
                report.errors.append(str(exc))
                continue

            def failed(rule: Rule, exc: BaseException) -> None:
                report.errors.append(f"internal error: rule {rule.code} failed on dataset '{spec.name}': {exc!r}\n{trace_of(exc)}")

            report.files.extend(str(f) for f in files if any(paths.is_under(f, t) for t in targets))
            wanted: dict[str, bool] = {}
            found, fragments = run_forked(ds, rules, failed, lambda out: apply_config(config, out), render)
            if fragments is None and rendered is not None:
                fragments = render(found)
            for i, f in enumerate(found):
                ident = (f.path, f.span, f.code, f.message)
                if (ok := wanted.get(f.path)) is None:
                    ok = wanted[f.path] = any(paths.is_under(Path(f.path), t) for t in targets)
                if ok and ident not in seen:
                    seen.add(ident)
                    report.findings.append(f)
                    if rendered is not None and fragments is not None:
                        rendered.append(fragments[i])
    keys = [(f.path, f.span.line, f.span.col, f.code) for f in report.findings]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    report.findings = [report.findings[i] for i in order]
    if rendered is not None:
        report.rendered = [rendered[i] for i in order]
    return report


def worst(findings: Iterable[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)
