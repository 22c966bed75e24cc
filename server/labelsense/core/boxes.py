"""Bounding boxes of a row: `[x, y, w, h]` (the default), `[x1, y1, x2, y2]`
(`bbox-format = "xyxy"`), in pixels or as fractions of the image size
(`bbox-normalized = true`); a row holds one box or a list of boxes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TOLERANCE_PX = 0.5  # sub-pixel overshoot from rounding is not "outside the image"
TOLERANCE_NORM = 1e-6


@dataclass(frozen=True, slots=True)
class Box:
    """One box as written (`values`) and as corners (x1, y1, x2, y2) in the box's own units;
    `index` is its position in a list of boxes, None for a row's only box."""

    values: tuple[float, ...]
    x1: float
    y1: float
    x2: float
    y2: float
    index: int | None = None

    def written(self) -> str:
        return "[" + ", ".join(_num(v) for v in self.values) + "]"

    def pixels(self, width: int, height: int, normalized: bool) -> tuple[float, float, float, float]:
        if normalized:
            return self.x1 * width, self.y1 * height, self.x2 * width, self.y2 * height
        return self.x1, self.y1, self.x2, self.y2


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _is_box(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value))


def boxes_of(value: Any, fmt: str = "xywh") -> list[Box]:
    """The boxes in a bbox value; anything that is not 4 finite numbers (or a list of
    such) yields nothing — its shape is the row schema's business (LS201)."""
    if _is_box(value):
        return [_box(value, fmt, None)]
    if isinstance(value, (list, tuple)) and value and all(_is_box(v) for v in value):
        return [_box(v, fmt, i) for i, v in enumerate(value)]
    return []


def _box(v: Any, fmt: str, index: int | None) -> Box:
    a, b, c, d = (float(x) for x in v)
    if fmt == "xyxy":
        return Box(tuple(v), a, b, c, d, index)
    return Box(tuple(v), a, b, a + c, b + d, index)


def area_problem(box: Box, fmt: str = "xywh") -> str | None:
    """Zero or negative width or height, or None."""
    w, h = box.x2 - box.x1, box.y2 - box.y1
    names = ("x2 - x1", "y2 - y1") if fmt == "xyxy" else ("width", "height")
    bad = [f"{name} = {_num(v)}" for name, v in zip(names, (w, h)) if v <= 0]
    if not bad:
        return None
    kind = "negative" if any(v < 0 for v in (w, h)) else "zero"
    return f"box {box.written()} has {kind} area ({', '.join(bad)})"


def outside_problem(box: Box, width: float, height: float, normalized: bool) -> str | None:
    """How the box leaves the image (`width` × `height` pixels, or 1 × 1 when normalized), or None."""
    tol = TOLERANCE_NORM if normalized else TOLERANCE_PX
    w, h = (1.0, 1.0) if normalized else (float(width), float(height))
    out = []
    if box.x1 < -tol:
        out.append(f"left edge {_num(box.x1)} < 0")
    if box.y1 < -tol:
        out.append(f"top edge {_num(box.y1)} < 0")
    if box.x2 > w + tol:
        out.append(f"right edge {_num(box.x2)} > {_num(w)}")
    if box.y2 > h + tol:
        out.append(f"bottom edge {_num(box.y2)} > {_num(h)}")
    if not out:
        return None
    where = "outside [0, 1] (bbox-normalized = true; is it in pixels?)" if normalized else f"outside the {width} × {height} image"
    return f"box {box.written()} is {where}: {', '.join(out)}"
