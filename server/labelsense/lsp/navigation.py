"""Definition, references and rename: labels are references to taxonomy classes."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import orjson
from lsprotocol import types

from ..core.config import DatasetConfig
from ..core.cursor import Target, manifest_target
from ..core.gcpause import paused_gc
from ..core.jsonl import detect_fields
from ..core.paths import manifest_kind
from ..core.taxonomy import Taxonomy
from ..core.types import Span
from .positions import from_position, range_json, to_range
from .server import LabelsenseServer, Raw, server

T = TypeVar("T")


@dataclass
class Here:
    """What the cursor is on: the file, its dataset, and the target (if any)."""

    path: Path
    spec: DatasetConfig | None
    taxonomy: Taxonomy | None
    target: Target | None
    in_taxonomy: bool
    lines: object


def _row_fields(text: str, spec: DatasetConfig) -> dict[str, str | None]:
    try:
        row = orjson.loads(text)
    except orjson.JSONDecodeError:
        row = {}
    return detect_fields([row] if isinstance(row, dict) else [], spec)


def here(ls: LabelsenseServer, uri: str, position: types.Position) -> Here | None:
    """Resolve a position to a target; cheap (no dataset analysis)."""
    path = ls.path_of(uri)
    if path is None or ls.session is None:
        return None
    doc = ls.docs.get(uri)
    lines = doc.line if doc is not None else ls.lines_of(path)
    line, col = from_position(position, lines, ls.encoding)
    found = ls.session.dataset_for(path)
    spec = found[1] if found else None
    tax = ls.session.taxonomy_for(path)
    is_tax = tax is not None and Path(tax.path) == path
    if is_tax:
        if doc is not None:  # the buffer may differ from disk: read the taxonomy from the buffer
            from ..core.taxonomy import load_taxonomy

            tax = load_taxonomy(path, doc.text())
        occ = tax.name_at(line, col)
        target = Target(occ[1], occ[2], occ[0]) if occ else None
        return Here(path, spec, tax, target, True, lines)
    if spec is None or (manifest_kind(path) == "parquet" and (doc is None or doc.view_of is None)):
        return Here(path, spec, tax, None, False, lines)
    text = lines(line)
    return Here(path, spec, tax, manifest_target(text, line, col, _row_fields(text, spec)), False, lines)


def class_name(h: Here) -> str | None:
    """The class a target names (an alias resolves to its class)."""
    if h.target is None or h.taxonomy is None:
        return None
    if h.in_taxonomy:
        name = str(h.target.value)
        return h.taxonomy.resolve(name) or name
    if h.target.kind == "label" and isinstance(h.target.value, str):
        return h.taxonomy.resolve(h.target.value)
    return None


def class_location(ls: LabelsenseServer, tax: Taxonomy, name: str) -> types.Location | None:
    c = tax.classes.get(name)
    if c is None:
        return None
    path = Path(tax.path)
    return types.Location(ls.uri_of(path), to_range(c.span, ls.lines_of(path), ls.encoding))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
async def definition(ls: LabelsenseServer, params: types.DefinitionParams) -> list[types.Location] | None:
    h = here(ls, params.text_document.uri, params.position)
    if h is None or h.target is None:
        return None
    if h.target.kind in ("label", "parent", "alias", "exclusive", "class") and h.taxonomy is not None:
        name = class_name(h)
        loc = class_location(ls, h.taxonomy, name) if name else None
        return [loc] if loc else None
    if h.target.kind == "key":
        return await _sample_rows(ls, h)
    if h.target.kind == "media" and isinstance(h.target.value, str) and h.spec is not None:
        found = ls.session.dataset_for(h.path) if ls.session else None
        if found:
            root = found[0].root.resolve()
            media = (found[0].root / h.spec.media_root / h.target.value).resolve()
            if media.is_relative_to(root) and media.is_file():  # never point outside the workspace
                return [types.Location(ls.uri_of(media), types.Range(types.Position(0, 0), types.Position(0, 0)))]
    return None


async def _sample_rows(ls: LabelsenseServer, h: Here) -> list[types.Location] | None:
    analysis = await ls.analysis_for(h.path)
    if analysis is None:
        return None
    ds = analysis.dataset
    out = []
    for group in ds.key_groups:
        m0 = ds.manifest(group[0])
        if m0.keys[group[0].row] != h.target.value:
            continue
        for ref in group:
            m = ds.manifest(ref)
            if Path(m.path) == h.path and m.lines[ref.row] == h.target.span.line:
                continue
            out.append(types.Location(ls.uri_of(m.path), to_range(m.span(ref.row, "key"), ls.lines_of(Path(m.path)), ls.encoding)))
    return out or None


async def label_locations(ls: LabelsenseServer, path: Path, names: set[str],
                          make: Callable[[str, Span, bool], T]) -> list[T]:
    """`make(manifest path, label span, is Parquet)` for every row using one of `names`, in a
    worker thread with the collector paused (a hundred thousand results would otherwise make
    it rescan them over and over)."""
    analysis = await ls.analysis_for(path)
    if analysis is None:
        return []
    ds = analysis.dataset

    def collect() -> list[T]:
        with paused_gc():
            return [make(ds.manifest(ref).path, ds.label_span(ref, index), ds.manifest(ref).kind == "parquet")
                    for ref, index, _ in ds.rows_with_labels(names)]

    return await ls.off_loop(collect)


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
async def references(ls: LabelsenseServer, params: types.ReferenceParams) -> Raw | None:
    h = here(ls, params.text_document.uri, params.position)
    name = class_name(h) if h else None
    if h is None or name is None or h.taxonomy is None:
        return None
    c = h.taxonomy.classes.get(name)
    names = {name, *(c.aliases if c else ())}
    files: dict[str, tuple[str, object]] = {}  # path -> (uri, line source), looked up once per file

    def location(path: str, span: Span, parquet: bool) -> dict[str, object]:  # JSON form: a hundred thousand Location objects cost seconds
        if path not in files:
            from .parquet_view import view_uri

            files[path] = (view_uri(path) if parquet else ls.uri_of(path), ls.lines_of(Path(path)))
        uri, lines = files[path]
        if parquet:
            span = Span(span.line, 0, span.line, 0)
        return {"uri": uri, "range": range_json(span, lines, ls.encoding)}

    out = await label_locations(ls, h.path, names, location)
    if params.context.include_declaration:
        tax_path = Path(h.taxonomy.path)
        out.extend({"uri": ls.uri_of(tax_path), "range": range_json(span, ls.lines_of(tax_path), ls.encoding)} for span, _ in h.taxonomy.usages_of(name))
    return Raw(out)


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: LabelsenseServer, params: types.PrepareRenameParams) -> types.PrepareRenamePlaceholder | None:
    h = here(ls, params.text_document.uri, params.position)
    if h is None or h.target is None or h.taxonomy is None:
        return None
    if h.in_taxonomy or (h.target.kind == "label" and class_name(h)):
        span = _inner(h.target.span, h.lines)
        return types.PrepareRenamePlaceholder(range=to_range(span, h.lines, ls.encoding), placeholder=str(h.target.value))
    return None


def _inner(span: Span, lines) -> Span:  # noqa: ANN001
    """A span without its surrounding quotes."""
    text = lines(span.line)[span.col : span.end_col]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return Span(span.line, span.col + 1, span.end_line, span.end_col - 1)
    return span


def _quoted_like(original: str, new: str, json_file: bool) -> str:
    if json_file or original.startswith('"'):
        return json.dumps(new, ensure_ascii=False)
    if original.startswith("'"):
        return "'" + new.replace("'", "''") + "'"
    return new


@server.feature(types.TEXT_DOCUMENT_RENAME)
async def rename(ls: LabelsenseServer, params: types.RenameParams) -> Raw | None:
    """Rename a class (or an alias) across the taxonomy and every JSONL manifest of its dataset.
    Aliases of a renamed class are left alone; Parquet manifests cannot take text edits."""
    h = here(ls, params.text_document.uri, params.position)
    if h is None or h.target is None or h.taxonomy is None:
        return None
    old = str(h.target.value)
    if not h.in_taxonomy:
        if h.target.kind != "label" or class_name(h) is None:
            return None
    tax = h.taxonomy
    new = params.new_name
    changes: dict[str, list[dict[str, object]]] = {}  # JSON form of TextEdits: there may be a hundred thousand
    tax_path = Path(tax.path)
    tax_lines = ls.lines_of(tax_path)
    is_alias = old in tax.aliases
    spots = [(span, kind) for spans in tax.occurrences.values() for span, kind, n in spans if n == old and (kind == "alias") == is_alias]
    for span, _ in spots:
        original = tax_lines(span.line)[span.col : span.end_col]
        changes.setdefault(ls.uri_of(tax_path), []).append(
            {"range": range_json(span, tax_lines, ls.encoding), "newText": _quoted_like(original, new, tax_path.suffix == ".json")})
    files: dict[str, tuple[str, object]] = {}
    text = json.dumps(new, ensure_ascii=False)

    def edit(path: str, span: Span, parquet: bool) -> tuple[str, dict[str, object]] | None:
        if parquet:
            return None
        if path not in files:
            files[path] = (ls.uri_of(path), ls.lines_of(Path(path)))
        uri, lines = files[path]
        return uri, {"range": range_json(span, lines, ls.encoding), "newText": text}

    for found in await label_locations(ls, h.path, {old}, edit):
        if found is not None:
            changes.setdefault(found[0], []).append(found[1])
    return Raw({"changes": changes})


@server.command("labelsense.showReferences")
async def show_references(ls: LabelsenseServer, uri: str, position: types.Position) -> Raw | None:
    """The code lens command: the references of the class at `position` (editors show them).
    pygls structures the command's JSON arguments by these annotations ({line, character} -> Position)."""
    return await references(ls, types.ReferenceParams(text_document=types.TextDocumentIdentifier(uri), position=position,
                                                      context=types.ReferenceContext(include_declaration=False)))
