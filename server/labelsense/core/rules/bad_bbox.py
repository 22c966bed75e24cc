"""A bounding box with zero or negative area, or reaching outside its image.

What it does: reads each row's box (the `bbox` field) — `[x, y, width,
height]` by default, `[x1, y1, x2, y2]` with `bbox-format = "xyxy"`; in pixels,
or as fractions of the image size with `bbox-normalized = true`; one box or a
list of boxes — and reports a box whose width or height is zero or negative,
and a box that reaches outside the image: left or top edge below 0, right or
bottom edge past the image's width or height (half a pixel of rounding is
tolerated). The image size comes from the file's header (no pixels are
decoded) as displayed, EXIF orientation applied; normalized boxes are checked
against [0, 1] without reading the image. Rows whose image is missing or
unreadable are left to LS501/LS502; a value that is not a box at all (a string,
three numbers) is left to the row schema (LS201).

Why it matters: a degenerate box trains the detector on nothing; a box outside
the image is usually a box in the wrong format (`xyxy` read as `xywh`), in the
wrong units (pixels read as fractions), or for an image that was resized after
labelling.

Example: `{"image": "img/3.jpg", "bbox": [122, 139, 208, 142]}` where
`img/3.jpg` is 250 × 188: "box [122, 139, 208, 142] is outside the 250 × 188
image: right edge 330 > 250, bottom edge 281 > 188".

Fix: correct the box, or set `bbox-format` / `bbox-normalized` to what the
dataset really uses; for a resized image, rescale its boxes.
"""
from typing import Iterator

from ..boxes import area_problem, boxes_of, outside_problem
from ..dataset import Dataset, RowRef
from ..media import Located
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    fmt, normalized = ds.spec.bbox_format, ds.spec.bbox_normalized
    pending: list[tuple[RowRef, list, Located | None]] = []
    for mi, m in enumerate(ds.manifests):
        if not m.fields.get("bbox"):
            continue
        has_media = bool(m.fields.get("media"))
        for r, value in enumerate(m.bboxes):
            if value is None:
                continue
            boxes = boxes_of(value, fmt)
            if not boxes:
                continue
            ref = RowRef(mi, r)
            sized = []
            for box in boxes:
                problem = area_problem(box, fmt)
                if problem:
                    yield _at(ds, ref, box.index, problem)
                elif normalized:
                    if (problem := outside_problem(box, 1, 1, True)):
                        yield _at(ds, ref, box.index, problem)
                else:
                    sized.append(box)
            if sized and has_media:
                loc = ds.resolver.locate(m.media[r])
                if loc is not None and loc.ok:
                    pending.append((ref, sized, loc))
    infos = ds.media_infos([loc for _, _, loc in pending if loc is not None])
    for ref, sized, loc in pending:
        info = infos.get(loc) if loc is not None else None
        if info is None or info.error or info.width is None or info.height is None:
            continue
        for box in sized:
            if (problem := outside_problem(box, info.width, info.height, False)):
                yield _at(ds, ref, box.index, problem)


def _at(ds: Dataset, ref: RowRef, index: int | None, message: str) -> Finding:
    m = ds.manifest(ref)
    field = m.fields.get("bbox")
    span = m.span(ref.row, path=[field, index]) if index is not None and field else m.span(ref.row, "bbox")
    return RULE.at(m.path, span, message)


RULE = Rule("LS503", "bad-bbox", Severity.ERROR, check, __doc__, reads=frozenset({"bboxes", "media"}))
