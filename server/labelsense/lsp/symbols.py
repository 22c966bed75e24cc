"""Document symbols (the taxonomy tree; a manifest's classes) and workspace
symbols (classes and sample keys)."""
from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ..core.types import Span
from .positions import to_range
from .server import LabelsenseServer, server

MAX_WORKSPACE_SYMBOLS = 500


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def document_symbol(ls: LabelsenseServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
    path = ls.path_of(params.text_document.uri)
    if path is None or ls.session is None:
        return None
    tax = ls.session.taxonomy_for(path)
    lines = ls.lines_of(path)
    if tax is not None and Path(tax.path) == path:
        def node(name: str, seen: frozenset[str]) -> types.DocumentSymbol:
            c = tax.classes[name]
            rng = to_range(c.span, lines, ls.encoding)
            kids = [node(k, seen | {k}) for k in tax.children.get(name, ()) if k not in seen and tax.classes[k].parents[0] == name]
            return types.DocumentSymbol(name=name, kind=types.SymbolKind.Class, range=rng, selection_range=rng,
                                        detail=c.description[:80] or None, children=kids or None, deprecated=c.deprecated or None)
        roots = [n for n, c in tax.classes.items() if not c.parents or not any(p in tax.classes for p in c.parents)]
        return [node(n, frozenset({n})) for n in roots]
    analysis = await ls.analysis_for(path)
    if analysis is None:
        return None
    ds = analysis.dataset
    firsts: dict[str, tuple[int, int]] = {}
    for mi, m in enumerate(ds.manifests):
        if Path(m.path) != path:
            continue
        for row, v in enumerate(m.labels):
            if type(v) is str and v not in firsts:
                firsts[v] = (mi, row)
    out = []
    for label, (mi, row) in sorted(firsts.items()):
        from ..core.dataset import RowRef

        span = ds.label_span(RowRef(mi, row), None)
        rng = to_range(span, lines, ls.encoding)
        out.append(types.DocumentSymbol(name=label, kind=types.SymbolKind.EnumMember, range=rng, selection_range=rng,
                                        detail=f"{ds.class_counts.get(label, 0)} rows in the dataset"))
    return out


@server.feature(types.WORKSPACE_SYMBOL)
async def workspace_symbol(ls: LabelsenseServer, params: types.WorkspaceSymbolParams) -> list[types.WorkspaceSymbol] | None:
    if ls.session is None:
        return None
    query = params.query.casefold()
    out: list[types.WorkspaceSymbol] = []
    for config, spec in await ls.off_loop(ls.session.datasets):
        analysis = await ls.off_loop(ls.session.analyze, config, spec)
        tax = analysis.dataset.taxonomy
        if tax is not None:
            lines = ls.lines_of(Path(tax.path))
            for c in tax.classes.values():
                if query in c.name.casefold():
                    out.append(types.WorkspaceSymbol(name=c.name, kind=types.SymbolKind.Class, container_name=spec.name,
                                                     location=types.Location(ls.uri_of(tax.path), to_range(c.span, lines, ls.encoding))))
        for m in analysis.dataset.manifests:
            if len(out) >= MAX_WORKSPACE_SYMBOLS or not query:
                break
            for row, key in enumerate(m.keys):
                if key is not None and query in str(key).casefold():
                    line = m.lines[row]
                    out.append(types.WorkspaceSymbol(name=str(key), kind=types.SymbolKind.Key, container_name=Path(m.path).name,
                                                     location=types.Location(ls.uri_of(m.path), to_range(Span(line, 0, line, 0), ls.lines_of(Path(m.path)), ls.encoding))))
                    if len(out) >= MAX_WORKSPACE_SYMBOLS:
                        break
    return out[:MAX_WORKSPACE_SYMBOLS]
