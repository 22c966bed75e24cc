"""Editing help: completion, hover, code actions (quick fixes, fix all), code lens."""
from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types

from ..core.cursor import key_typing_at, label_typing_at
from ..core.rules.registry import BY_CODE
from ..core.types import Finding, Span
from . import markdown as md
from .navigation import _row_fields, class_name, here
from .positions import from_position, range_json, to_range
from .preview import preview_section
from .server import LabelsenseServer, Raw, server

FIX_ALL = "source.fixAll.labelsense"


def _counts(ls: LabelsenseServer, path: Path):  # noqa: ANN202 - Counter or None
    """Sample counts per label from the last finished analysis (never waits for one)."""
    if ls.session is None:
        return None
    for analysis in ls.session.cached_analyses():
        if str(path) in analysis.paths() or any(str(path) == m.path for m in analysis.dataset.manifests):
            return analysis.dataset.class_counts
    return None


def _completion_markdown(ls: LabelsenseServer) -> bool:
    """Whether the client renders markdown in completion documentation."""
    caps = ls.client_capabilities.text_document
    item = caps.completion.completion_item if caps and caps.completion else None
    return bool(item and item.documentation_format and types.MarkupKind.Markdown in item.documentation_format)


def _doc(ls: LabelsenseServer, text: str) -> types.MarkupContent | str:
    """Completion documentation in markdown (escaped) if the client renders it, else plain text."""
    return types.MarkupContent(types.MarkupKind.Markdown, md.escape(text)) if _completion_markdown(ls) else text


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=['"']))
def completion(ls: LabelsenseServer, params: types.CompletionParams) -> types.CompletionList | Raw | None:
    path = ls.path_of(params.text_document.uri)
    doc = ls.docs.get(params.text_document.uri)
    if path is None or doc is None or ls.session is None:
        return None
    found = ls.session.dataset_for(path)
    if found is None:
        return None
    line, col = from_position(params.position, doc.line, ls.encoding)
    text = doc.line(line)
    fields = _row_fields(text, found[1])
    label_range = label_typing_at(text, col, fields.get("label"))
    if label_range is not None:
        tax = ls.session.taxonomy_for(path)
        if tax is None:
            return None
        counts = _counts(ls, path) or {}
        edit_range = range_json(Span(line, label_range[0], line, label_range[1]), doc.line, ls.encoding)
        markdown = _completion_markdown(ls)
        member, deprecated = types.CompletionItemKind.EnumMember.value, [types.CompletionItemTag.Deprecated.value]
        items: list[dict[str, object]] = []  # JSON form: a thousand lsprotocol objects would cost more than the rest
        for name, c in tax.classes.items():
            used = counts.get(name, 0)
            item: dict[str, object] = {
                "label": name, "kind": member, "sortText": f"{1_000_000_000 - used:010d}{name}",
                "detail": f"{' › '.join(tax.path_to_root(name))} — {used} sample{'s' if used != 1 else ''}",
                "textEdit": {"range": edit_range, "newText": json.dumps(name, ensure_ascii=False)[1:-1]}}
            if c.description:
                item["documentation"] = {"kind": "markdown", "value": md.escape(c.description)} if markdown else c.description
            if c.deprecated:
                item["tags"] = deprecated
            items.append(item)
        for alias, canonical in tax.aliases.items():
            items.append({"label": alias, "kind": member, "detail": f"deprecated alias of '{canonical}'", "tags": deprecated,
                          "sortText": f"z{alias}", "textEdit": {"range": edit_range, "newText": json.dumps(alias, ensure_ascii=False)[1:-1]}})
        return Raw({"isIncomplete": False, "items": items})
    key_range = key_typing_at(text, col)
    if key_range is not None:
        row_schema = ls.session.schema_for(path)
        schema = row_schema.schema if row_schema is not None else None
        if not schema:
            return None
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        edit_range = to_range(Span(line, key_range[0], line, key_range[1]), doc.line, ls.encoding)
        return types.CompletionList(is_incomplete=False, items=[
            types.CompletionItem(label=name, kind=types.CompletionItemKind.Field,
                                 detail=("required" if name in required else "optional") + (f" — {sub.get('type')}" if isinstance(sub, dict) and "type" in sub else ""),
                                 documentation=_doc(ls, sub["description"]) if isinstance(sub, dict) and isinstance(sub.get("description"), str) else None,
                                 sort_text=("0" if name in required else "1") + name,
                                 text_edit=types.TextEdit(edit_range, name))
            for name, sub in props.items()])
    return None


def _class_hover(ls: LabelsenseServer, h, name: str) -> str:  # noqa: ANN001
    tax = h.taxonomy
    c = tax.classes[name]
    parts = [f"**class** {md.code(name)}"]
    if h.target is not None and h.target.value != name:
        parts[0] += f" (alias {md.code(h.target.value)}, deprecated)"
    if c.description:
        parts.append(md.escape(c.description))
    parts.append("Hierarchy: " + " › ".join(md.code(p) for p in tax.path_to_root(name)))
    if c.parents[1:]:
        parts.append("Also under: " + ", ".join(md.code(p) for p in c.parents[1:]))
    kids = tax.children.get(name, ())
    if kids:
        parts.append(f"Subclasses: {', '.join(md.code(k) for k in kids[:10])}{' …' if len(kids) > 10 else ''}")
    if c.aliases:
        parts.append("Aliases: " + ", ".join(md.code(a) for a in c.aliases))
    counts = _counts(ls, h.path)
    if counts is not None:
        n = sum(counts.get(x, 0) for x in (name, *c.aliases))
        parts.append(f"Samples: {n}")
    return "\n\n".join(parts)


def _rule_hovers(ls: LabelsenseServer, uri: str, line: int) -> list[str]:
    out = []
    for d in ls.results.get(uri, ("", []))[1]:
        if d.range.start.line <= line <= d.range.end.line and d.code in BY_CODE:
            r = BY_CODE[str(d.code)]
            out.append(f"**{r.code} {r.name}**\n\n{r.doc.strip()}")
    return out


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: LabelsenseServer, params: types.HoverParams) -> types.Hover | None:
    h = here(ls, params.text_document.uri, params.position)
    if h is None:
        return None
    sections = []
    name = class_name(h)
    if name and h.taxonomy is not None and name in h.taxonomy.classes:
        sections.append(_class_hover(ls, h, name))
    elif h.target is not None and h.target.kind == "label" and h.taxonomy is not None:
        sections.append(f"**unknown class** {md.code(h.target.value)} — not in {md.escape(Path(h.taxonomy.path).name)}")
    elif h.target is not None and h.target.kind in ("key", "media", "text", "split", "annotator"):
        sections.append(f"**{h.target.kind}** ({md.code(h.target.field)}): {md.code(h.target.value)}")
    if (preview := await preview_section(ls, h)) is not None:  # the row's sample (off the event loop)
        sections.append(preview)
    line = params.position.line
    sections.extend(_rule_hovers(ls, params.text_document.uri, line))
    from .blame import hover_section  # the row's label blame: off the event loop, never fails
    if (blamed := await hover_section(ls, h, line)) is not None:
        sections.append(blamed)
    if not sections:
        return None
    rng = to_range(h.target.span, h.lines, ls.encoding) if h.target is not None else None
    text = "\n\n---\n\n".join(sections)
    if not _renders_markdown(ls):  # e.g. ALE, or Eglot without markdown-mode: no `\.` or `**` on screen
        return types.Hover(types.MarkupContent(types.MarkupKind.PlainText, md.plain(text)), rng)
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), rng)


def _renders_markdown(ls: LabelsenseServer) -> bool:
    """False when the client lists its hover content formats and markdown is not among them."""
    caps = ls.client_capabilities.text_document
    formats = caps.hover.content_format if caps and caps.hover else None
    return not formats or types.MarkupKind.Markdown in formats


def _edit(ls: LabelsenseServer, f: Finding, safe_only: bool) -> types.WorkspaceEdit | None:
    fix = f.safe_fix if safe_only else (f.fixes[0] if f.fixes else None)
    if fix is None or any(e.column for e in fix.edits):
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for e in fix.edits:
        changes.setdefault(ls.uri_of(e.path), []).append(types.TextEdit(to_range(e.span, ls.lines_of(Path(e.path)), ls.encoding), e.text))
    return types.WorkspaceEdit(changes=changes)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]))
async def code_action(ls: LabelsenseServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    path = ls.path_of(params.text_document.uri)
    if path is None:
        return None
    analysis = await ls.analysis_for(path)
    if analysis is None:
        return None
    findings = analysis.findings.get(str(path), [])
    only = params.context.only
    actions: list[types.CodeAction] = []
    lo, hi = params.range.start.line, params.range.end.line
    if not only or types.CodeActionKind.QuickFix in only:
        for f in findings:
            if f.fixes and lo <= f.span.line <= hi:
                edit = _edit(ls, f, safe_only=False)
                if edit is not None:
                    actions.append(types.CodeAction(title=f.fixes[0].title, kind=types.CodeActionKind.QuickFix, edit=edit,
                                                    diagnostics=[d for d in ls.results.get(params.text_document.uri, ("", []))[1]
                                                                 if d.code == f.code and d.range.start.line == f.span.line] or None,
                                                    is_preferred=f.fixes[0].safe))
    if not only or any(k in (FIX_ALL, types.CodeActionKind.Source, types.CodeActionKind.SourceFixAll) for k in only):
        changes: dict[str, list[types.TextEdit]] = {}
        for f in findings:
            edit = _edit(ls, f, safe_only=True)
            for uri, edits in (edit.changes or {}).items() if edit else ():
                changes.setdefault(uri, []).extend(edits)
        if changes:
            actions.append(types.CodeAction(title="labelsense: fix all safe problems", kind=FIX_ALL, edit=types.WorkspaceEdit(changes=changes)))
    return actions


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
async def code_lens(ls: LabelsenseServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
    path = ls.path_of(params.text_document.uri)
    if path is None or ls.session is None:
        return None
    tax = ls.session.taxonomy_for(path)
    if tax is None or Path(tax.path) != path:
        return None
    analysis = await ls.analysis_for(path)
    if analysis is None:
        return None
    ds = analysis.dataset
    lines = ls.lines_of(path)
    lenses = []
    for c in tax.classes.values():
        n, m = ds.class_usage(c.name)
        title = f"{n} sample{'s' if n != 1 else ''} in {m} file{'s' if m != 1 else ''}"
        if c.name in tax.children:  # a parent: its subclasses' rows count for it too (as LS313 counts them)
            title += f" · {ds.class_samples.get(c.name, 0)} with subclasses"
        rng = to_range(c.span, lines, ls.encoding)
        lenses.append(types.CodeLens(rng, types.Command(title=title,
                                                        command="labelsense.showReferences", arguments=[params.text_document.uri, rng.start])))
    return lenses
