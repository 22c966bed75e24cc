"""A loaded dataset — manifests, taxonomy, row schema — and the groupings the
cross-row rules share (rows by key, rows by content, samples per class).

Groupings are computed once, lazily, on all manifests together (JSONL and
Parquet mixed): values are bucketed by hash with numpy, and only the rows whose
hash repeats are made into Python values and grouped by value.
"""
from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from . import media
from .column import ArrowColumn, CodedColumn, LazyColumn, value_hashes
from .config import Config, DatasetConfig
from .manifest import DISTINCT_ATTRS, SHARED_ATTRS, Manifest, label_tuple, normalise_split
from .rowindex import RowIndex, unpack
from .rowschema import RowSchema
from .taxonomy import Taxonomy
from .types import Span


def label_sets(values: Sequence[Any]) -> Counter[tuple[str, ...]]:
    """Rows per distinct label set among label field values (a multi-label list as a sorted set)."""
    if isinstance(values, CodedColumn):
        counts = np.bincount(values.codes[values.codes >= 0], minlength=len(values.words)).tolist()
        return Counter({(label,): n for label, n in zip(values.words, counts) if n})
    singles = [v for v in values if type(v) is str]
    counts: Counter[tuple[str, ...]] = Counter({(label,): n for label, n in Counter(singles).items()})
    if len(singles) != len(values):
        for v in values:
            if type(v) is not str and (t := label_tuple(v)):
                counts[tuple(sorted(set(t)))] += 1
    return counts


def _apply(counts: Counter[Any], removed: Counter[Any], added: Counter[Any]) -> None:
    counts.subtract(removed)
    counts.update(added)
    for value in [k for k in removed if counts[k] <= 0]:
        del counts[value]


RELATED = 20  # related locations listed with a finding, at most


# Per manifest: each row's code (None: every row the same) and each code's number, the
# numbers shared across manifests; the last number is for code -1 (a row without a value).
Numbering = list[tuple["np.ndarray | None", np.ndarray]]


def _string_runs(candidates: np.ndarray, hashes: np.ndarray, values: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of `candidates` (ascending, with their hashes and values) grouped by value,
    groups in order of their first row, as (rows one group after the other, group sizes),
    when every value is a string and rows of one hash all hold one string (else None: the
    caller groups by value in Python). The common case, without a dict of a million keys."""
    if not values or set(map(type, values)) != {str}:
        return None
    order = np.lexsort((candidates, hashes))  # by hash, then row
    ranked = hashes[order]
    firsts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[firsts, len(order)])
    sorted_values = [values[i] for i in order.tolist()]
    if any(v != sorted_values[f] for v, f in zip(sorted_values, np.repeat(firsts, sizes).tolist())) or (sizes < 2).any():
        return None  # two strings of one hash
    by_first = np.argsort(candidates[order[firsts]], kind="stable")  # groups in order of their first row
    sizes = sizes[by_first]
    starts = firsts[by_first]
    picks = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
    return candidates[order[picks]], sizes


class Groups(list):
    """Groups of rows (lists of RowRef), with their rows as numbers of the dataset's rows
    (`rows`, group after group) and where each group starts there (`starts`)."""

    def __init__(self, rows: np.ndarray | None = None, starts: np.ndarray | None = None) -> None:
        super().__init__()
        self.rows = rows if rows is not None else np.zeros(0, dtype=np.int64)
        self.starts = starts if starts is not None else np.zeros(0, dtype=np.int64)

    def sizes(self) -> np.ndarray:
        return np.diff(np.append(self.starts, len(self.rows)))

    def __getitem__(self, i: Any) -> Any:
        if not isinstance(i, slice):
            return super().__getitem__(i)
        first, stop, step = i.indices(len(self))
        if step != 1 or len(self.starts) != len(self):
            return list(super().__getitem__(i))  # (no rows kept: a rule then looks at every group)
        return self.take(np.arange(first, max(first, stop)))

    def take(self, which: np.ndarray) -> Groups:
        """The groups at the indices `which` (ascending), with their rows and starts (which
        these groups must have: see `Dataset.spread`)."""
        sizes = self.sizes()[which]
        starts = np.cumsum(sizes) - sizes
        picked = Groups(self.rows[np.repeat(self.starts[which] - starts, sizes) + np.arange(int(sizes.sum()))], starts)
        picked.extend(map(super().__getitem__, which.tolist()))
        return picked


class RowRef(NamedTuple):
    """Row `row` of manifest number `manifest` in a dataset."""

    manifest: int
    row: int


@dataclass
class Dataset:
    config: Config
    spec: DatasetConfig
    manifests: list[Manifest] = field(default_factory=list)
    taxonomy: Taxonomy | None = None
    schema: RowSchema | None = None
    _per_object: dict[int, bool] = field(default_factory=dict, repr=False)
    _hashed: dict[int, list[Any]] = field(default_factory=dict, repr=False)
    _media_counts: dict[int, Counter[str]] = field(default_factory=dict, repr=False)  # per manifest, for per_object
    _label_codes: dict[int, tuple[np.ndarray, dict[str, int]] | None] = field(default_factory=dict, repr=False)  # see label_codes
    _edits: int = field(default=0, repr=False)  # rows replaced so far (see rows_replaced)
    edit_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # prepare_for_edits / recheck

    @property
    def rules(self):  # noqa: ANN201 - RuleConfig
        return self.config.rules

    # -- rows ------------------------------------------------------------
    def refs(self) -> Iterator[RowRef]:
        for m, manifest in enumerate(self.manifests):
            for r in range(len(manifest)):
                yield RowRef(m, r)

    def manifest(self, ref: RowRef) -> Manifest:
        return self.manifests[ref.manifest]

    def labels(self, ref: RowRef) -> tuple[str, ...] | None:
        return label_tuple(self.manifests[ref.manifest].labels[ref.row])

    def span(self, ref: RowRef, role: str | None = None) -> Span:
        return self.manifests[ref.manifest].span(ref.row, role)

    # -- groupings -------------------------------------------------------
    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.cumsum([0] + [len(m) for m in self.manifests])

    def _groups(self, columns: list[Sequence[Any]]) -> Groups:
        """Rows whose value (non-null) occurs more than once, grouped, in file order.

        Values are bucketed by hash with numpy first (`column.value_hashes`); only the rows
        whose hash repeats are made into Python values and grouped by value (1 and 1.0
        together; 1 and "1", or 1 and true, apart)."""
        if not columns:
            return Groups()
        hashed = [value_hashes(c) for c in columns]
        hashes = every = np.concatenate([h for h, _ in hashed]) if len(hashed) != 1 else hashed[0][0]
        rows = None  # the rows holding a value, when some do not
        if any(present is not None for _, present in hashed):
            rows = np.flatnonzero(np.concatenate([np.ones(len(h), dtype=bool) if present is None else present for h, present in hashed]))
            hashes = hashes[rows]
        order = np.argsort(hashes)
        ranked = hashes[order]
        same = ranked[1:] == ranked[:-1]  # neighbours in hash order
        if not same.any():
            return Groups()
        repeated = np.zeros(len(order), dtype=bool)
        repeated[1:] |= same
        repeated[:-1] |= same
        candidates = np.sort(order[repeated] if rows is None else rows[order[repeated]])
        which = np.searchsorted(self._offsets, candidates, side="right") - 1
        values: list[Any] = []
        for m in np.unique(which).tolist():
            local = candidates[which == m] - self._offsets[m]
            column = columns[m]
            values += column.values_at(local) if isinstance(column, ArrowColumn) else [column[i] for i in local.tolist()]
        found = _string_runs(candidates, every[candidates], values)
        if found is not None:
            return self._grouped(*found)
        by_value: dict[tuple[type, Any], list[int]] = {}
        for i, v in zip(candidates.tolist(), values):
            if v is not None:
                try:
                    by_value.setdefault(("number", v) if v.__class__ in (int, float) else (v.__class__, v), []).append(i)
                except TypeError:  # a list or an object as the value
                    by_value.setdefault((v.__class__, repr(v)), []).append(i)
        rows_of = [rows for rows in by_value.values() if len(rows) > 1]  # by first row: dicts keep insertion order
        if not rows_of:
            return Groups()
        flat = np.fromiter((i for rows in rows_of for i in rows), dtype=np.int64)
        return self._grouped(flat, np.array([len(rows) for rows in rows_of], dtype=np.int64))

    def _grouped(self, flat: np.ndarray, sizes: np.ndarray) -> Groups:
        """Groups of `sizes[i]` rows each, one after the other in `flat` (rows of the dataset)."""
        which = np.searchsorted(self._offsets, flat, side="right") - 1
        refs = list(map(tuple.__new__, itertools.repeat(RowRef), zip(which.tolist(), (flat - self._offsets[which]).tolist())))  # RowRefs, made in C
        starts = np.cumsum(sizes) - sizes
        groups = Groups(flat, starts)
        groups.extend(refs[a:b] for a, b in zip(starts.tolist(), (starts + sizes).tolist()))
        return groups

    def spread(self, groups: list[list[RowRef]], numbering: Numbering | None, absent: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
        """The lowest and the highest number (`numbering`; -1: none) in each group (without
        `absent`: of its numbers other than -1; a group without any gets a lowest above its
        highest), so a rule can pass over the groups whose rows all agree without looking at
        them. None without a numbering or `Groups`."""
        if numbering is None or not isinstance(groups, Groups) or len(groups.starts) != len(groups):
            return None
        if not groups:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        values = self.numbers(numbering, groups.rows)
        if absent:
            return np.minimum.reduceat(values, groups.starts), np.maximum.reduceat(values, groups.starts)
        lowest = np.minimum.reduceat(np.where(values < 0, np.iinfo(values.dtype).max, values), groups.starts)
        return lowest, np.maximum.reduceat(values, groups.starts)

    def numbers(self, numbering: Numbering, rows: np.ndarray) -> np.ndarray:
        """The numbers of `rows` (rows of the dataset, counted across its manifests)."""
        which = np.searchsorted(self._offsets, rows, side="right") - 1
        values = np.empty(len(rows), dtype=np.int64)
        for m, (codes, table) in enumerate(numbering):
            picked = which == m
            values[picked] = table[codes[rows[picked] - self._offsets[m]]] if codes is not None else table[-1]
        return values

    @cached_property
    def label_numbers(self) -> Numbering | None:
        """Each row's label numbered (the same label, the same number; -1: none), as a
        `Numbering`; None when a manifest has rows of several labels (multi-label)."""
        numbers: dict[str, int] = {}
        out: Numbering = []
        for i in range(len(self.manifests)):
            coded = self.label_codes(i)
            if coded is None:
                return None
            codes, of_label = coded
            table = np.full(max(of_label.values(), default=-1) + 2, -1, dtype=np.int64)  # (a manifest's codes may skip numbers; the last is -1's)
            for label, code in of_label.items():
                table[code] = numbers.setdefault(label, len(numbers))
            out.append((codes, table))
        return out

    @cached_property
    def split_numbers(self) -> Numbering | None:
        """Each row's split (`Manifest.split_of`; -1: none) numbered, as a `Numbering`;
        None when a manifest's split values are not numbered by their distinct values."""
        return self._numbers("split", "splits", normalise_split, lambda m: m.file_split)

    @cached_property
    def annotator_numbers(self) -> Numbering | None:
        """Each row's annotator (-1: none named) numbered; None as for splits."""
        return self._numbers("annotator", "annotators", lambda who: who, lambda m: None)

    def _numbers(self, role: str, attr: str, normalise: Callable[[str], Any], otherwise: Callable[[Manifest], Any]) -> Numbering | None:
        numbers: dict[Any, int] = {}
        out: Numbering = []
        for m in self.manifests:
            fallback = otherwise(m)  # the value of a row without one
            absent = numbers.setdefault(fallback, len(numbers)) if fallback is not None else -1
            column = getattr(m, attr)
            if not m.fields.get(role):
                out.append((None, np.array([absent], dtype=np.int64)))
            elif isinstance(column, CodedColumn):
                out.append((column.codes, np.array([numbers.setdefault(normalise(w), len(numbers)) for w in column.words] + [absent], dtype=np.int64)))
            else:
                return None
        return out

    @cached_property
    def key_groups(self) -> Groups:
        """Rows sharing a key (a sample described more than once)."""
        return self._groups([m.keys for m in self.manifests])

    @cached_property
    def content_groups(self) -> Groups:
        """Rows sharing a content: the hash field, else the media path, else the inline text."""
        return self._groups([self.content_column(m) for m in self.manifests])

    @cached_property
    def row_index(self) -> RowIndex:
        """Key and content value → rows, for re-checking only the rows an edit concerns."""
        return RowIndex([(m.keys, m.lines) for m in self.manifests], [(self.content_column(m), m.lines) for m in self.manifests],
                        lambda packed: self.row_values(packed)[0], lambda packed: self.row_values(packed)[1])

    def row_values(self, packed: int) -> tuple[Any, Any]:
        """The key and the content of the row on a packed (manifest, line) (rowindex.pack);
        Nones when that line holds no row."""
        i, line = unpack(packed)
        m = self.manifests[i]
        row = m.row_at(line)
        if row is None:
            return None, None
        return m.keys[row], self.content_column(m)[row]

    def content_column(self, m: Manifest) -> list[Any]:
        if m.fields.get("content"):
            return m.contents
        if m.fields.get("media"):
            return self._hashed_media(m) if self.spec.hash_media else m.media
        return m.texts

    def _hashed_media(self, m: Manifest) -> list[Any]:
        """`hash-media = true`: each row's media as `sha256:<hex>` of the file's contents
        (the path as written when the file cannot be read)."""
        key = id(m)
        if key not in self._hashed:
            located = [self.resolver.locate(v) for v in m.media]
            digests = media.sha256_all(loc for loc in located if loc is not None)
            self._hashed[key] = [f"sha256:{digests[loc]}" if loc is not None and digests.get(loc) else v
                                 for v, loc in zip(m.media, located)]
        return self._hashed[key]

    # -- media -------------------------------------------------------------
    @cached_property
    def resolver(self) -> media.Resolver:
        """Media paths of this dataset, resolved against `media_root` inside the project root."""
        return media.Resolver(self.config.root, self.spec.media_root)

    def media_rows(self) -> Iterator[tuple[RowRef, media.Located]]:
        """Every row whose media field holds a path, with where that path leads."""
        locate = self.resolver.locate
        for mi, m in enumerate(self.manifests):
            if not m.fields.get("media"):
                continue
            for r, value in enumerate(m.media):
                if value is not None and (loc := locate(value)) is not None:
                    yield RowRef(mi, r), loc

    def media_infos(self, located: list[media.Located]) -> dict[media.Located, media.MediaInfo]:
        """Header facts of media files (each read once per run, cached across runs by path, size, mtime)."""
        return media.probe_all(located, decode=self.spec.decode_media)

    def content_of(self, ref: RowRef) -> Any:
        return self.content_column(self.manifests[ref.manifest])[ref.row]

    def per_object(self, manifest: int) -> bool:
        """Whether a manifest lists objects (detection: a bbox per row, 1.5+ rows per media file)."""
        if manifest not in self._per_object:
            m = self.manifests[manifest]
            if not (m.fields.get("bbox") and m.fields.get("media")):
                self._per_object[manifest] = False
            else:
                media = self._media_counts.get(manifest)
                if media is None:
                    media = self._media_counts[manifest] = Counter(v for v in m.media if isinstance(v, str))
                self._per_object[manifest] = bool(media) and len(m) >= 1.5 * len(media)
        return self._per_object[manifest]

    def content_role(self, ref: RowRef) -> str:
        m = self.manifests[ref.manifest]
        return next((role for role in ("content", "media", "text") if m.fields.get(role)), "key")

    @cached_property
    def manifest_label_sets(self) -> list[Counter[tuple[str, ...]]]:
        """Per manifest: rows per distinct label set (labels as written, aliases not resolved)."""
        return [label_sets(m.labels) for m in self.manifests]

    @cached_property
    def label_set_counts(self) -> Counter[tuple[str, ...]]:
        """Rows per distinct label set in the whole dataset."""
        counts: Counter[tuple[str, ...]] = Counter()
        for per_manifest in self.manifest_label_sets:
            counts.update(per_manifest)
        return counts

    @cached_property
    def class_counts(self) -> Counter[str]:
        """Rows per label value (as written; aliases not resolved)."""
        counts: Counter[str] = Counter()
        for labels, n in self.label_set_counts.items():
            for label in labels:
                counts[label] += n
        return counts

    @cached_property
    def class_samples(self) -> Counter[str]:
        """Taxonomy class → rows labelled with it, an alias of it or a subclass (a row counts
        once per class). Empty without a taxonomy."""
        return self._class_tally(self.label_set_counts)

    def _class_tally(self, label_sets: Counter[tuple[str, ...]]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for labels, n in label_sets.items():
            for cls in self._classes_of(labels):
                counts[cls] += n
        return counts

    def _classes_of(self, labels: tuple[str, ...]) -> set[str]:
        tax = self.taxonomy
        if tax is None:
            return set()
        classes = {c for label in labels if (c := tax.resolve(label)) is not None}
        return classes | tax.ancestors(classes)

    @cached_property
    def label_files(self) -> dict[str, set[str]]:
        """Label value (as written) → the manifests that use it."""
        files: dict[str, set[str]] = {}
        for m, per_manifest in zip(self.manifests, self.manifest_label_sets):
            for labels in per_manifest:
                for label in labels:
                    files.setdefault(label, set()).add(m.path)
        return files

    def prepare_for_edits(self) -> None:
        """Build what re-checking an edit in place needs (recheck.py), so the first keystroke is
        as fast as the others: the row index, editable columns as lists, the per-manifest facts
        and the class counts."""
        with self.edit_lock:
            self.row_index  # (hashed from Arrow data where there is some: before the lists below)
            for m in self.manifests:
                if m.reader is not None:  # a JSONL manifest, edited in place: its columns as lists now, not at the first edit
                    for attr in DISTINCT_ATTRS + SHARED_ATTRS:
                        if isinstance(column := getattr(m, attr), LazyColumn):
                            column.tolist()
            for i in range(len(self.manifests)):
                self.per_object(i)
            self.class_samples

    def rows_replaced(self, manifest: int, old: list[tuple[Any, Any]], new: list[tuple[Any, Any]]) -> None:
        """Rows of one manifest were re-read in place (an edit): their (label, media) values were
        `old`, now `new`. Updates the counts and drops the groupings computed before."""
        removed, added = label_sets([v for v, _ in old]), label_sets([v for v, _ in new])
        if "manifest_label_sets" in self.__dict__:
            _apply(self.manifest_label_sets[manifest], removed, added)
        if "class_samples" in self.__dict__:
            _apply(self.class_samples, self._class_tally(removed), self._class_tally(added))
        if manifest in self._media_counts:
            media = Counter(v for _, v in old if isinstance(v, str)), Counter(v for _, v in new if isinstance(v, str))
            _apply(self._media_counts[manifest], *media)
        self._per_object.pop(manifest, None)
        self._edits += 1
        self._label_codes.pop(manifest, None)
        for name in ("label_set_counts", "class_counts", "label_files", "key_groups", "content_groups", "_offsets", "label_numbers", "split_numbers",
                     "annotator_numbers"):
            self.__dict__.pop(name, None)
        self._hashed.pop(id(self.manifests[manifest]), None)

    def class_usage(self, name: str) -> tuple[int, int]:
        """(rows, manifests) labelled with a class directly or through one of its aliases."""
        tax = self.taxonomy
        names = (name, *(tax.classes[name].aliases if tax is not None and name in tax.classes else ()))
        rows = sum(self.class_counts.get(x, 0) for x in names)
        return rows, len(set().union(*(self.label_files.get(x, set()) for x in names)))

    def label_codes(self, manifest: int) -> tuple[np.ndarray, dict[str, int]] | None:
        """A manifest whose labels are all single strings (or absent): each row's label as a
        number, and the numbers of the labels (-1: none). None for other manifests."""
        if manifest in self._label_codes:
            return self._label_codes[manifest]
        edits = self._edits
        labels = self.manifests[manifest].labels
        found = None
        if isinstance(labels, CodedColumn):
            found = labels.codes, {v: i for i, v in enumerate(labels.words)}
        elif set(map(type, labels)) <= {str, type(None)}:
            numbers = {v: i for i, v in enumerate(dict.fromkeys(labels)) if v is not None}
            found = np.fromiter(map(numbers.get, labels, itertools.repeat(-1)), dtype=np.int64, count=len(labels)), numbers
        if self._edits == edits:  # no edit meanwhile (one may run in another thread)
            self._label_codes[manifest] = found
        return found

    def rows_with_labels(self, labels: set[str]) -> Iterator[tuple[RowRef, int | None, str]]:
        """Rows using any of `labels`: (row, index in a multi-label list or None, the label)."""
        for mi, m in enumerate(self.manifests):
            coded = self.label_codes(mi)
            if coded is not None and len(coded[0]) == len(m.labels):  # (an edit meanwhile that changed the rows: scan)
                codes, numbers = coded
                wanted = [numbers[v] for v in labels if v in numbers]
                if wanted:
                    for r in np.flatnonzero(np.isin(codes, wanted)).tolist():
                        yield RowRef(mi, r), None, m.labels[r]
                continue
            for r, v in enumerate(m.labels):
                if type(v) is str:
                    if v in labels:
                        yield RowRef(mi, r), None, v
                elif isinstance(v, list):
                    for i, item in enumerate(v):
                        if item in labels:
                            yield RowRef(mi, r), i, item
                elif v is not None and (t := label_tuple(v)) and t[0] in labels:
                    yield RowRef(mi, r), None, t[0]

    def label_span(self, ref: RowRef, index: int | None) -> Span:
        m = self.manifests[ref.manifest]
        label_field = m.fields.get("label")
        if index is None or not label_field:
            return m.span(ref.row, "label")
        return m.span(ref.row, path=[label_field, index])
