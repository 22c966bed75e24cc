"""Parquet manifests in the editor: `labelsense/render` returns rows as JSONL
text, and a `labelsense-parquet:` URI names a read-only JSONL view of a Parquet
file (rows start..start+count) in which diagnostics, hover, definition and
references work like in a JSONL manifest."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import orjson
import pyarrow.parquet as pq

from ..core.parquet import _map_class_labels
from ..core.types import Finding, Span
from .documents import Document
from .server import VIEW_SCHEME, LabelsenseServer, server

RENDER = "labelsense/render"
MAX_ROWS = 100_000


def view_uri(path: str | Path, start: int = 0, count: int | None = None) -> str:
    query = f"?start={start}" + (f"&count={count}" if count is not None else "") if start or count is not None else ""
    return f"{VIEW_SCHEME}://{quote(str(Path(path).resolve()))}{query}"


def _window(uri: str) -> tuple[int, int | None]:
    q = parse_qs(urlparse(uri).query)
    start = int(q.get("start", ["0"])[0])
    count = int(q["count"][0]) if "count" in q else None
    return max(start, 0), count


def render(path: Path, start: int = 0, count: int | None = None) -> tuple[str, int]:
    """Rows [start, start+count) of a Parquet file as JSONL text (one row a line), and the total row count."""
    source = pq.ParquetFile(path)
    total = source.metadata.num_rows
    count = min(count if count is not None else MAX_ROWS, MAX_ROWS, max(total - start, 0))
    table = _map_class_labels(source.read()).slice(start, count)
    lines = [orjson.dumps(row, default=str).decode() for row in table.to_pylist()]
    return "".join(line + "\n" for line in lines), total


def _param(params: object, name: str, default: object = None) -> object:
    """A field of a custom request's params (pygls passes unknown params as plain objects)."""
    if hasattr(params, "_asdict"):  # a namedtuple: `count` would be tuple.count
        params = params._asdict()
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


@server.feature(RENDER)
async def render_request(ls: LabelsenseServer, params: object) -> dict[str, object]:
    """Custom request `labelsense/render` {uri, start?, count?}: JSONL text of a window of a Parquet manifest."""
    uri = _param(params, "uri")
    start, count = _param(params, "start", 0), _param(params, "count")
    if not isinstance(uri, str) or not isinstance(start, int) or not (count is None or isinstance(count, int)):
        raise ValueError("labelsense/render takes {uri: string, start?: integer, count?: integer}")
    path = ls.path_of(uri)
    if path is None or not path.is_file():
        raise ValueError(f"not a Parquet file: {uri}")
    text, total = await ls.off_loop(render, path, max(start, 0), count)
    return {"text": text, "totalRows": total, "viewUri": view_uri(path, start, count)}


def attach_view(ls: LabelsenseServer, doc: Document) -> None:
    """Mark an opened view document as the read-only view of its Parquet file."""
    path = ls.path_of(doc.uri)
    doc.view_of = str(path) if path else None
    doc.view_start = _window(doc.uri)[0]
    if path is not None and not "".join(doc.lines).strip():  # the client opened the URI without content
        try:
            text, _ = render(path, *_window(doc.uri))
        except Exception as exc:
            ls.report_once(f"cannot render {path}: {exc}")
            return
        fresh = Document.from_text(doc.uri, doc.language_id, doc.version, text)
        doc.lines, doc.final_newline = fresh.lines, fresh.final_newline


def view_findings(doc: Document, findings: list[Finding]) -> tuple[list[Finding], int, object]:
    """The Parquet file's findings that fall inside the view, with the line offset and line source."""
    n = len(doc.lines)
    inside = [f for f in findings if doc.view_start <= f.span.line < doc.view_start + n]
    return inside, doc.view_start, doc.line


__all__ = ["view_uri", "render", "attach_view", "view_findings", "Span"]
