"""Hover previews: the core's `Preview` of the row under the cursor, as markdown.

Everything that comes from the dataset (paths, labels, text, error messages
quoting paths) is escaped; the only markup that is not escaped is ours: the
`![preview](data:image/png;base64,…)` of a thumbnail labelsense drew itself.
"""
from __future__ import annotations

import orjson

from ..core.preview import Preview, preview_row
from . import markdown as md
from .server import LabelsenseServer, log


def row_preview(ls: LabelsenseServer, h) -> Preview | None:  # noqa: ANN001 - navigation.Here
    """The preview of the manifest row at `h` (blocking: file reads, decoding)."""
    if ls.session is None or h.in_taxonomy or h.target is None or h.spec is None:
        return None
    found = ls.session.dataset_for(h.path)
    if found is None:
        return None
    try:
        row = orjson.loads(h.lines(h.target.span.line))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(row, dict):
        return None
    return preview_row(found[0].root, h.spec, row, ls.settings.preview_size)


async def preview_section(ls: LabelsenseServer, h) -> str | None:  # noqa: ANN001 - navigation.Here
    """The hover section previewing the row at `h`, made off the event loop; None when
    previews are off or the row has nothing to show."""
    if not ls.settings.preview or h is None or h.target is None or h.in_taxonomy:
        return None
    try:
        found = await ls.off_loop(row_preview, ls, h)
    except Exception:  # a preview must never fail the hover
        log.exception("preview of %s:%s failed", h.path, h.target.span.line + 1)
        return None
    return preview_markdown(found) if found is not None else None


def preview_markdown(p: Preview) -> str:
    head = "**sample**"
    if p.media is not None:
        head += f" {md.code(p.media)}"
    if p.facts:
        head += " — " + " · ".join(md.escape(f) for f in p.facts)
    parts = [head]
    if p.problem:
        parts.append(f"⚠ {md.escape(p.problem)}")
    if p.boxes:
        parts.append(("Box: " if len(p.boxes) == 1 else "Boxes: ") + ", ".join(md.code(b) for b in p.boxes[:20])
                     + (f" and {len(p.boxes) - 20} more" if len(p.boxes) > 20 else ""))
    uri = p.data_uri()
    if uri is not None:
        parts.append(f"![preview]({uri})")
    if p.text:
        source = f"{md.code(p.text_from)}:" if p.text_from else "text:"
        parts.append(source + "\n\n" + "\n".join(f"> {md.escape(line)}  " if line else ">" for line in p.text))
    return "\n\n".join(parts)
