"""Diagnostics: pull (textDocument/diagnostic with result ids, workspace/diagnostic)
and push for clients without pull. Findings of the core become LSP diagnostics
with code, codeDescription, related information and tags, capped per file."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from lsprotocol import types

from ..core.rules.registry import BY_CODE
from ..core.types import Finding, Severity, Span
from .positions import to_range
from .server import LabelsenseServer, Raw, log, server

T = TypeVar("T")
SOURCE = "labelsense"
RULES_DOC = "https://github.com/labelsense/labelsense/blob/main/docs/rules.md#"
_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning, Severity.INFO: types.DiagnosticSeverity.Information}


def rule_href(code: str) -> str:
    return RULES_DOC + f"{code}-{BY_CODE[code].name}".lower()


def to_diagnostic(ls: LabelsenseServer, f: Finding, lines, row_offset: int = 0) -> types.Diagnostic:  # noqa: ANN001
    span = f.span if not row_offset else Span(f.span.line - row_offset, f.span.col, f.span.end_line - row_offset, f.span.end_col)
    if f.path.endswith((".parquet", ".pq")):
        span = Span(span.line, 0, span.line, len(lines(span.line)))  # the whole row
    tags = []
    if f.deprecated:
        tags.append(types.DiagnosticTag.Deprecated)
    if f.code == "LS312":
        tags.append(types.DiagnosticTag.Unnecessary)
    related = [types.DiagnosticRelatedInformation(types.Location(ls.uri_of(r.path), to_range(r.span, ls.lines_of(Path(r.path)), ls.encoding)), r.message)
               for r in f.related]
    return types.Diagnostic(
        range=to_range(span, lines, ls.encoding),
        message=f.message,
        severity=_SEVERITY[f.severity],
        code=f.code,
        code_description=types.CodeDescription(href=rule_href(f.code)),
        source=SOURCE,
        related_information=related or None,
        tags=tags or None,
    )


Memo = dict[int, tuple[object, object, object]]  # id(source) -> (source, stamp, value made from it)


def _reused(memo: Memo, sources: Iterable[tuple[T, object]], make: Callable[[T], object]) -> list:
    """`make(source)` for each (source, stamp), reusing the value made last time from the same
    object with the same stamp; `memo` is left holding this time's values."""
    old = dict(memo)
    memo.clear()
    out = []
    for source, stamp in sources:
        hit = old.get(id(source))
        value = hit[2] if hit is not None and hit[0] is source and hit[1] == stamp else make(source)
        memo[id(source)] = (source, stamp, value)
        out.append(value)
    return out


def _converted(ls: LabelsenseServer, findings: list[Finding], lines, offset: int = 0, memo: Memo | None = None) -> list[types.Diagnostic]:  # noqa: ANN001
    """At most `maxDiagnosticsPerFile` diagnostics, then one summary: only those are converted.
    With `memo`, a finding converted before on an unchanged line is reused: after an edit
    only the findings it touched are converted again."""
    cap = ls.settings.max_diagnostics
    items = _reused({} if memo is None else memo, ((f, lines(f.span.line)) for f in findings[:cap]),
                    lambda f: to_diagnostic(ls, f, lines, offset))
    if len(findings) > cap:
        extra = len(findings) - cap
        items.append(types.Diagnostic(types.Range(types.Position(0, 0), types.Position(0, 0)),
                                      f"{extra} more labelsense finding(s) in this file not shown (maxDiagnosticsPerFile = {cap}); run `labelsense check` for all",
                                      severity=types.DiagnosticSeverity.Information, source=SOURCE))
    return items


def config_diagnostics(ls: LabelsenseServer, path: Path) -> list[types.Diagnostic]:
    """An invalid config: one error at the offending key (or the first line)."""
    assert ls.session is not None
    ls.session.configs()
    error = ls.session.config_errors.get(path)
    if error is None:
        return []
    message = error.split(": ", 1)[1] if ": " in error else error
    lines = ls.lines_of(path)
    line = 0
    key = re.search(r"'(?:[\w\-.\[\]]*\.)?([\w\-]+)'", message)
    if key:
        for n in range(2000):
            text = lines(n)
            if re.match(rf"\s*\"?{re.escape(key.group(1))}\"?\s*=", text) or (key.group(1) in text and "=" in text and n > 0 and not text.strip().startswith("#")):
                line = n
                break
    return [types.Diagnostic(types.Range(types.Position(line, 0), types.Position(line, len(lines(line)))), message,
                             severity=types.DiagnosticSeverity.Error, source=SOURCE)]


async def diagnostics_for(ls: LabelsenseServer, uri: str) -> list[types.Diagnostic]:
    """All diagnostics for one document or file URI."""
    doc = ls.docs.get(uri)
    path = ls.path_of(uri)
    if path is None or ls.session is None:
        return []
    if path.name in ("labelsense.toml", "pyproject.toml") and (doc is None or doc.view_of is None):
        return config_diagnostics(ls, path)
    analysis = await ls.analysis_for(path)
    if analysis is None:
        return []
    findings = analysis.findings.get(str(path), [])
    if doc is not None and doc.view_of is not None:
        from .parquet_view import view_findings

        findings, offset, lines = view_findings(doc, findings)
        return _converted(ls, findings, lines, offset)
    key = (doc.version if doc else None, ls.settings.max_diagnostics, ls.encoding)
    cached = ls.converted.get(uri)
    if cached is not None and cached[0] is findings and cached[1] == key:
        return cached[2]
    lines = ls.lines_of(path)
    memo = cached[3] if cached is not None and cached[1][1:] == key[1:] else {}
    items = _converted(ls, findings, lines, 0, memo) if memo else await ls.off_loop(_converted, ls, findings, lines, 0, memo)
    ls.converted[uri] = (findings, key, items, memo)
    return items


def _result_id(ls: LabelsenseServer, uri: str, items: list[types.Diagnostic]) -> str:
    return str(hash(tuple((d.range.start.line, d.range.start.character, d.code, d.message) for d in items)) & 0xFFFFFFFF)


@server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=True))
async def document_diagnostic(ls: LabelsenseServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport | Raw:
    uri = params.text_document.uri
    items = await diagnostics_for(ls, uri)
    result_id = _result_id(ls, uri, items)
    ls.results[uri] = (result_id, items)
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return Raw({"kind": "full", "resultId": result_id, "items": _json_items(ls, uri, items)})


def _json_items(ls: LabelsenseServer, uri: str, items: list[types.Diagnostic]) -> list[object]:
    """The diagnostics in JSON form, reusing the forms of those sent before (same objects)."""
    return _reused(ls.json_forms.setdefault(uri, {}), ((d, None) for d in items), ls.protocol.unstructure)


def _all_uris(ls: LabelsenseServer) -> list[str]:
    """Every file with something to say: manifests, taxonomies, schemas, configs, open docs."""
    assert ls.session is not None
    uris = {doc.uri for doc in ls.docs}
    for config in ls.session.configs():
        if config.path is not None:
            uris.add(ls.uri_of(config.path))
    uris.update(ls.uri_of(p) for p in ls.session.config_errors)
    for analysis in ls.session.cached_analyses():
        uris.update(ls.uri_of(p) for p in analysis.paths())
    return sorted(uris)


@server.feature(types.WORKSPACE_DIAGNOSTIC)
async def workspace_diagnostic(ls: LabelsenseServer, params: types.WorkspaceDiagnosticParams) -> types.WorkspaceDiagnosticReport:
    if ls.session is None:
        return types.WorkspaceDiagnosticReport(items=[])
    for config, spec in await ls.off_loop(ls.session.datasets):
        await ls.off_loop(ls.session.analyze, config, spec)
    previous = {p.uri: p.value for p in params.previous_result_ids}
    reports: list[types.WorkspaceDocumentDiagnosticReport] = []
    for uri in _all_uris(ls):
        items = await diagnostics_for(ls, uri)
        result_id = _result_id(ls, uri, items)
        doc = ls.docs.get(uri)
        version = doc.version if doc else None
        if previous.get(uri) == result_id:
            reports.append(types.WorkspaceUnchangedDocumentDiagnosticReport(uri=uri, version=version, result_id=result_id))
        else:
            reports.append(types.WorkspaceFullDocumentDiagnosticReport(uri=uri, version=version, items=items, result_id=result_id))
    return types.WorkspaceDiagnosticReport(items=reports)


async def refresh_all(ls: LabelsenseServer) -> None:
    """After a change: push fresh diagnostics (clients without pull) or ask for a re-pull."""
    if ls.session is None:
        return
    try:
        if ls.supports_pull():
            if ls.supports_refresh():
                ls.workspace_diagnostic_refresh(None)
            return
        for config, spec in await ls.off_loop(ls.session.datasets):
            await ls.off_loop(ls.session.analyze, config, spec)
        for uri in _all_uris(ls):
            items = await diagnostics_for(ls, uri)
            if ls.results.get(uri, (None, None))[1] == items:
                continue
            ls.results[uri] = (_result_id(ls, uri, items), items)
            doc = ls.docs.get(uri)
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=doc.version if doc else None))
    except Exception as exc:  # a failing refresh is logged once; the next change retries
        ls.report_once(f"diagnostics refresh failed: {exc!r}")
        log.exception("diagnostics refresh failed")
