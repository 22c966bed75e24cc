"""A long-lived view of a workspace for interactive front ends (the language server).

Holds the configs found under the workspace roots, unsaved buffers that
override files on disk, and per-dataset analyses cached until one of the
dataset's files changes. Manifests are re-read only when their own content
changed. Thread-safe: analyses run off the editor's event loop.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from . import paths
from .config import Config, DatasetConfig, load_config
from .dataset import Dataset
from .engine import Progress, dataset_files, discover, file_size, read_manifest, run_rules
from .filelines import holds_text
from .gcpause import paused_gc
from .manifest import Manifest
from .recheck import recheck
from .rulefork import trace_of
from .rowschema import RowSchema
from .rules.base import Rule, reads
from .rules.registry import selected
from .taxonomy import Taxonomy, find_taxonomy, load_taxonomy
from .turns import TURNS
from .types import ConfigError, Finding

log = logging.getLogger("labelsense")
CONFIG_FILES = ("labelsense.toml", "pyproject.toml")
LATE_KEPT = 16  # buffers opened during analyses, remembered for adopting when the analysis ends
TURN_WAIT = 60.0  # seconds a large manifest read waits for its turn at most (see turns.py)


class Buffer(Protocol):
    """An unsaved editor buffer: its whole text on demand, one line's text, and lines as UTF-8."""

    lines: list[str]
    final_newline: bool

    def data(self) -> bytes: ...

    def line(self, n: int) -> str: ...

    def encoded(self, first: int, count: int) -> list[bytes]: ...


Source = Buffer | bytes  # an unsaved buffer, or its contents


def _disk_stamp(path: Path) -> object:
    try:
        st = path.stat()
        return ("disk", st.st_mtime_ns, st.st_size)
    except OSError:
        return ("missing",)


def _data(source: Source) -> bytes:
    return source if isinstance(source, bytes) else source.data()


def _recorder(spec: DatasetConfig, errors: list[str]) -> Callable[[Rule, BaseException], None]:
    """A rule-failure callback that records the failure, with its traceback, in `errors`."""
    def record(rule: Rule, exc: BaseException) -> None:
        errors.append(f"rule {rule.code} failed on dataset '{spec.name}': {exc!r}\n{trace_of(exc)}")
    return record


@dataclass
class Analysis:
    """The result of checking one dataset: the loaded data and its findings by file."""

    config: Config
    spec: DatasetConfig
    dataset: Dataset
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def paths(self) -> set[str]:
        """Every file this analysis speaks for: manifests, taxonomy, row schema."""
        out = {str(f) for f in self.files}
        if self.dataset.taxonomy is not None:
            out.add(self.dataset.taxonomy.path)
        if self.dataset.schema is not None:
            out.add(self.dataset.schema.path)
        return out


class Session:
    def __init__(self, roots: list[Path], select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (),
                 on_analyzed: Callable[[Analysis], None] | None = None) -> None:
        self.roots = [r.resolve() for r in roots]
        self.on_analyzed = on_analyzed  # called after each fresh analysis (in the analysing thread)
        self.select, self.ignore = select, ignore
        self._lock = threading.RLock()
        self._overlays: dict[Path, tuple[int, Source]] = {}
        self._configs: list[Config] | None = None
        self.config_errors: dict[Path, str] = {}
        self._analyses: dict[tuple[Path, str], Analysis] = {}
        self._manifests: dict[Path, tuple[object, Manifest]] = {}
        self._taxonomies: dict[Path, tuple[object, Taxonomy]] = {}
        self._schemas: dict[Path, tuple[object, RowSchema]] = {}
        self._stamp = 0
        self._generation = 0  # bumped by every change; an analysis started before one is not cached
        self._running: dict[tuple[Path, str], threading.Event] = {}  # analyses under way, shared by waiters
        self._late: dict[int, tuple[Path, Buffer]] = {}  # generation -> the buffer whose opening made it (see _adopt_late)
        self._verbatim: dict[Path, tuple[Buffer, object]] = {}  # buffers opened with their file's text, and its disk stamp then

    # -- inputs ------------------------------------------------------------
    def verbatim_stamp(self, path: Path, text: str) -> object | None:
        """The file's disk stamp (for `set_overlay`) when `text`, a buffer's whole text as it
        opens, is exactly the file's, else None. When it is, the file's bytes that a manifest
        read from it holds are let go now (its lines are read from the file meanwhile), before
        the buffer makes a third copy."""
        with self._lock:  # nothing read from the file, nor reading it: nothing to adopt, no need to compare
            if path not in self._manifests and not self._running:
                return None
        stamp = _disk_stamp(path)
        if (stamp[0] != "disk" or not path.is_file() or text.startswith("\ufeff")  # a BOM is not a line's text
                or not holds_text(path, text) or _disk_stamp(path) != stamp):
            return None
        self.release_file_bytes(path)
        return stamp

    def set_overlay(self, path: Path, data: Source | None, same_as: object | None = None) -> None:
        """Use `data` (an unsaved buffer, or its bytes) instead of the file's contents; None drops it.
        `same_as`: the disk stamp `verbatim_stamp` gave for the buffer's text; the buffer is then
        adopted (see `_adopt`) without comparing its lines."""
        with self._lock:
            self._verbatim.pop(path, None)
            if same_as is not None and data is not None and not isinstance(data, bytes):
                self._verbatim[path] = (data, same_as)
            self._stamp += 1
            if data is None:
                self._overlays.pop(path, None)
                for g in [g for g, (p, _) in self._late.items() if p == path]:
                    del self._late[g]
            else:
                self._overlays[path] = (self._stamp, data)
                if not isinstance(data, bytes) and self._adopt(path, data):
                    return
            self.changed(path)
            if data is not None and not isinstance(data, bytes) and self._running:  # its file may be being read now
                self._late[self._generation] = (path, data)
                for old in sorted(self._late)[:-LATE_KEPT]:
                    del self._late[old]

    def _adopt_late(self, since: int) -> bool:
        """Whether every change since generation `since` was a buffer opened with the text of its
        file while an analysis was reading it: then, the buffers adopted, that analysis is current."""
        changes = range(since + 1, self._generation + 1)
        if not changes or any(g not in self._late for g in changes):
            return False
        for g in changes:
            path, buffer = self._late[g]
            overlay = self._overlays.get(path)
            if overlay is None or overlay[1] is not buffer:
                return False
            cached = self._manifests.get(path)
            read_the_buffer = cached is not None and cached[0][0] == ("buffer", overlay[0])
            if not read_the_buffer and not self._adopt(path, buffer):
                return False
        return True

    def release_file_bytes(self, only: Path | None = None) -> None:
        """Let go of the bytes of manifests (or the one of `only`) read from disk and still
        unchanged there: their lines are read from the files when a span needs them (a
        long-lived server need not hold a second copy of every file)."""
        with self._lock:
            held = [(path, stamp, m.raw_lines) for path, (stamp, m) in self._manifests.items()
                    if stamp[0][0] == "disk" and m.raw_lines is not None and m.raw_lines.data is not None and only in (None, path)]
        for path, stamp, store in held:
            if stamp[0] == _disk_stamp(path):
                store.release(path)

    def _adopt(self, path: Path, buffer: Buffer) -> bool:
        """When a buffer opens with the very text of the file as last read, its manifest and
        the analyses using it stay (nothing to check again); spans read the buffer from now on."""
        cached = self._manifests.get(path)
        if cached is None:
            return False
        stamp, manifest = cached
        store, disk = manifest.raw_lines, _disk_stamp(path)
        if store is None or stamp[0] != disk:
            return False
        verbatim = self._verbatim.get(path)
        if not (verbatim is not None and verbatim[0] is buffer and verbatim[1] == disk and not store.edited) \
                and not store.matches(buffer.encoded, len(buffer.lines), buffer.final_newline):
            return False
        manifest.text_of, manifest.raw_lines = buffer.line, None
        self._manifests[path] = ((("buffer", self._stamp), *stamp[1:]), manifest)
        return True

    def edit(self, path: Path, first: int, replaced: int, new_lines: list[bytes], source: Source) -> bool:
        """An unsaved buffer of `path` changed: its `replaced` lines from line `first` on are
        now `new_lines`; `source` is the buffer. When the edit keeps the line count and the
        dataset's analysis is current, the analysis is updated in place (recheck.py); returns
        whether it was. Otherwise the dataset is checked afresh when next asked."""
        with self._lock:
            previous = self._overlays.get(path)
            self._verbatim.pop(path, None)
            self._stamp += 1
            self._overlays[path] = (self._stamp, source)
            self._generation += 1
            try:
                if previous is not None and replaced == len(new_lines) and self._recheck(path, previous[0], first, new_lines):
                    return True
            except Exception:  # noqa: BLE001 - a bug here must not lose the edit: check afresh instead
                log.exception("re-checking an edit of %s in place failed; checking afresh", path)
            self.changed(path)
            return False

    def _recheck(self, path: Path, previous: int, first: int, new_lines: list[bytes]) -> bool:
        cached = self._manifests.get(path)
        if cached is None or cached[0][0] != ("buffer", previous):
            return False
        stamp, manifest = cached
        for key, analysis in self._analyses.items():
            ds = analysis.dataset
            if not any(m is manifest for m in ds.manifests):
                continue
            errors: list[str] = []
            findings = recheck(ds, analysis.findings, str(path), first, new_lines, self._rules(analysis.config), _recorder(ds.spec, errors))
            if findings is None:
                return False
            self._analyses[key] = Analysis(analysis.config, analysis.spec, ds, findings, analysis.files, analysis.errors + errors)
            self._manifests[path] = ((("buffer", self._stamp), *stamp[1:]), manifest)
            return True
        return False

    def _rules(self, config: Config) -> list[Rule]:
        return selected(self.select if self.select is not None else config.rules.select, tuple(config.rules.ignore) + self.ignore)

    def changed(self, path: Path) -> None:
        """A file changed (buffer or disk): drop what depends on it."""
        with self._lock:
            self._generation += 1
            self._manifests.pop(path, None)  # stale: let it go before the file is read again
            if path.name in CONFIG_FILES or path.suffix == ".toml":
                self._configs = None
                self._analyses.clear()
                return
            for key, analysis in list(self._analyses.items()):
                if str(path) in analysis.paths() or self._owns(analysis, path):
                    del self._analyses[key]

    def set_rules(self, select: tuple[str, ...] | None, ignore: tuple[str, ...]) -> None:
        with self._lock:
            self.select, self.ignore = select, ignore
            self._generation += 1
            self._analyses.clear()

    def _owns(self, analysis: Analysis, path: Path) -> bool:
        """Whether `path` would be a manifest of the analysed dataset (a new file)."""
        try:
            rel = path.relative_to(analysis.config.root).as_posix()
        except ValueError:
            return False
        return paths.matches(rel, analysis.spec.manifests)

    def read_bytes(self, path: Path) -> bytes:
        with self._lock:
            overlay = self._overlays.get(path)
        return _data(overlay[1]) if overlay is not None else path.read_bytes()

    def _stamp_of(self, path: Path) -> object:
        with self._lock:
            if path in self._overlays:
                return ("buffer", self._overlays[path][0])
        return _disk_stamp(path)

    # -- configs and datasets ---------------------------------------------
    def configs(self) -> list[Config]:
        """Configs under the roots; an unsaved config buffer counts instead of its file."""
        with self._lock:
            if self._configs is None:
                configs, errors = discover(self.roots)
                by_path = {c.path: c for c in configs if c.path is not None}
                for path, (_, source) in self._overlays.items():
                    if path.name not in CONFIG_FILES or not any(paths.is_under(path, r) for r in self.roots):
                        continue
                    by_path.pop(path, None)
                    errors.pop(path, None)
                    try:
                        by_path[path] = load_config(path, _data(source).decode("utf-8", "replace"))
                    except ConfigError as exc:
                        errors[path] = str(exc)
                self._configs = [c for c in configs if c.path is None] + list(by_path.values())
                self.config_errors = errors
            return self._configs

    def datasets(self) -> list[tuple[Config, DatasetConfig]]:
        return [(c, d) for c in self.configs() for d in c.datasets]

    def _nested_roots(self) -> list[Path]:
        return [c.root for c in self.configs() if c.path is not None] + [p.parent for p in self.config_errors]

    def dataset_for(self, path: Path) -> tuple[Config, DatasetConfig] | None:
        """The dataset a manifest, taxonomy or row schema belongs to (the innermost config wins)."""
        best: tuple[Config, DatasetConfig] | None = None
        for config, spec in self.datasets():
            if not paths.is_under(path, config.root):
                continue
            rel = path.relative_to(config.root).as_posix()
            nested = [n for n in self._nested_roots() if n != config.root and paths.is_under(n, config.root) and paths.is_under(path, n)]
            if nested:
                continue
            taxonomy = config.root / spec.taxonomy if spec.taxonomy else find_taxonomy(config.root)
            schema = config.root / spec.schema if spec.schema else None
            if paths.matches(rel, spec.manifests) or path in (taxonomy, schema):
                if best is None or len(config.root.parts) > len(best[0].root.parts):
                    best = (config, spec)
        return best

    def analyze(self, config: Config, spec: DatasetConfig, progress: Progress | None = None,
                on_error: Callable[[Rule, BaseException], None] | None = None) -> Analysis:
        """Check one dataset from buffers and disk, reusing unchanged manifests."""
        key = (config.root, spec.name)
        while True:
            with self._lock:
                cached = self._analyses.get(key)
                if cached is not None:
                    return cached
                running = self._running.get(key)
                if running is None:  # nobody is analysing this dataset: we do
                    running = self._running[key] = threading.Event()
                    generation = self._generation
                    break
            running.wait()  # the same analysis is under way in another thread: share its result
        try:
            with paused_gc():
                analysis = self._analyze(config, spec, progress, on_error)
            with self._lock:
                current = self._configs is not None and any(c is config for c in self._configs)  # (not a config read before a change)
                if current and (generation == self._generation or self._adopt_late(generation)):  # nothing changed meanwhile: current
                    self._analyses[key] = analysis
        finally:
            with self._lock:
                self._running.pop(key, None)
                if not self._running:
                    self._late.clear()  # no analysis left to adopt buffers for: let them go
            running.set()
        if self.on_analyzed is not None:
            self.on_analyzed(analysis)
        return analysis

    def _analyze(self, config: Config, spec: DatasetConfig, progress: Progress | None,
                 on_error: Callable[[Rule, BaseException], None] | None) -> Analysis:
        files = dataset_files(config, spec, self._nested_roots())
        with self._lock:
            files += [p for p in self._overlays if p not in files and paths.is_under(p, config.root)
                      and paths.matches(p.relative_to(config.root).as_posix(), spec.manifests)
                      and not any(n != config.root and paths.is_under(p, n) for n in self._nested_roots())]
        ds = Dataset(config=config, spec=spec)
        analysis = Analysis(config, spec, ds, files=files)
        try:
            ds.taxonomy = self._taxonomy(config, spec)
            ds.schema = self._schema(config, spec)
        except ConfigError as exc:
            analysis.errors.append(str(exc))
            return analysis
        total = max(len(files), 1)
        with_boxes = reads(self._rules(config), "bboxes")  # media are always read: hover previews show them
        for i, f in enumerate(files):
            if progress:
                progress(i, total, str(f))
            ds.manifests.append(self._manifest(f, spec, ds.schema, with_boxes))
        record = _recorder(spec, analysis.errors)

        def failed(rule: Rule, exc: BaseException) -> None:
            record(rule, exc)
            if on_error:
                on_error(rule, exc)

        for f in run_rules(ds, self._rules(config), failed, fork=True):
            analysis.findings.setdefault(f.path, []).append(f)
        for items in analysis.findings.values():
            items.sort(key=lambda f: f.order)
        return analysis

    def _taxonomy(self, config: Config, spec: DatasetConfig) -> Taxonomy | None:
        path = config.root / spec.taxonomy if spec.taxonomy else find_taxonomy(config.root)
        if path is None:
            return None
        if spec.taxonomy and not path.is_file() and path not in self._overlays:
            raise ConfigError(config.display_path, f"dataset '{spec.name}': taxonomy file '{spec.taxonomy}' not found")
        stamp = self._stamp_of(path)
        with self._lock:
            cached = self._taxonomies.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
            overlay = self._overlays.get(path)
        text = _data(overlay[1]).decode("utf-8", "replace") if overlay else None
        tax = load_taxonomy(path, text)
        with self._lock:
            self._taxonomies[path] = (stamp, tax)
        return tax

    def _schema(self, config: Config, spec: DatasetConfig) -> RowSchema | None:
        if not spec.schema:
            return None
        path = config.root / spec.schema
        if not path.is_file():
            raise ConfigError(config.display_path, f"dataset '{spec.name}': row schema '{spec.schema}' not found")
        stamp = self._stamp_of(path)
        with self._lock:
            cached = self._schemas.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
        schema = RowSchema.load(path)
        with self._lock:
            self._schemas[path] = (stamp, schema)
        return schema

    def _manifest(self, path: Path, spec: DatasetConfig, schema: RowSchema | None, with_boxes: bool = True) -> Manifest:
        stamp = (self._stamp_of(path), id(spec), id(schema), with_boxes)
        with self._lock:
            cached = self._manifests.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
            overlay = self._overlays.get(path)
        source = overlay[1] if overlay else None
        size = len(source) if isinstance(source, bytes) else file_size(path) if source is None else sum(map(len, source.lines))
        with TURNS.turn(size, TURN_WAIT):  # the buffer's bytes too are built in the turn
            data = _data(source) if source is not None else None
            manifest = read_manifest(path, spec, schema, data, with_boxes, text_of=None if source is None or isinstance(source, bytes) else source.line)
        with self._lock:
            self._manifests[path] = (stamp, manifest)
        return manifest

    def lines(self, path: Path) -> Callable[[int], str] | None:
        """Line text of a manifest as last read, while that is still its current text."""
        with self._lock:
            cached = self._manifests.get(path)
        if cached is None or cached[1].text_of is None or cached[0][0] != self._stamp_of(path):
            return None
        m = cached[1]
        return lambda n: m.text_of(n) if 0 <= n < m.line_count else ""

    def cached_analyses(self) -> list[Analysis]:
        with self._lock:
            return list(self._analyses.values())

    def analysis_for(self, path: Path) -> Analysis | None:
        """The (cached or fresh) analysis of the dataset `path` belongs to."""
        found = self.dataset_for(path)
        return self.analyze(*found) if found else None

    def schema_for(self, path: Path) -> RowSchema | None:
        found = self.dataset_for(path)
        if not found:
            return None
        try:
            return self._schema(*found)
        except ConfigError:
            return None

    def taxonomy_for(self, path: Path) -> Taxonomy | None:
        found = self.dataset_for(path)
        if not found:
            return None
        try:
            return self._taxonomy(*found)
        except ConfigError:
            return None
