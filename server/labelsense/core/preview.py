"""Previews of a manifest row's sample, for hovers: what the label is about.

Images (Pillow): format, size as displayed, file size, and a thumbnail
(longest side ≤ `max_side`, EXIF orientation applied) with the row's boxes and
class names drawn, as PNG bytes. Big JPEGs are decoded at a reduced scale
(`draft`), so a 12-megapixel photo previews in a few tens of milliseconds
(benchmarks/preview.py). Text (an inline field or a `.txt` file): the first
lines. WAV audio (standard library): duration, sample rate, channels. Anything
else: its type and size. Thumbnails are cached by (path, size, mtime).

The result is a plain dataclass of facts; the front end formats (and escapes)
it. Media is located and opened only through `labelsense.core.media`, so a
path outside the workspace is reported, never read.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import media
from .boxes import Box, boxes_of
from .config import DatasetConfig
from .jsonl import detect_fields
from .manifest import label_tuple

MAX_SIDE = 256
MAX_LINES = 8
MAX_LINE_CHARS = 200
TEXT_READ = 16384
BOX_COLOURS = ((255, 0, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 128, 0))
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}
_thumbnails = media.Cache(128)


@dataclass(frozen=True)
class Preview:
    """What a row's sample is. Every string here may come from the dataset: escape it
    before rendering. `png` is a thumbnail made by labelsense (None when there is none)."""

    media: str | None = None  # the media path as written in the row
    kind: str = "none"  # image | audio | text | other | none
    facts: tuple[str, ...] = ()  # "JPEG", "500 × 375 px", "23.4 KB", …
    problem: str | None = None  # missing, outside the workspace, cannot decode
    text: tuple[str, ...] = ()  # first lines of the text sample
    text_from: str | None = None  # the text field's name or the text file
    boxes: tuple[str, ...] = ()  # each box as written, with its class
    png: bytes | None = None
    thumbnail_size: tuple[int, int] | None = None

    def data_uri(self) -> str | None:
        return data_uri(self.png) if self.png is not None else None


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def preview_row(root: Path, spec: DatasetConfig, row: dict[str, Any], max_side: int = MAX_SIDE, max_lines: int = MAX_LINES) -> Preview | None:
    """The preview of one manifest row (None when the row has no media, text or box)."""
    fields = detect_fields([row], spec)
    value = row.get(fields["media"]) if fields["media"] else None
    text_field = fields["text"]
    text = row.get(text_field) if text_field else None
    raw_boxes = row.get(fields["bbox"]) if fields["bbox"] else None
    boxes = boxes_of(raw_boxes, spec.bbox_format)
    labels = label_tuple(row.get(fields["label"])) if fields["label"] else None
    if not isinstance(value, str) and not isinstance(text, str) and not boxes:
        return None
    names = _box_names(boxes, labels)
    box_facts = tuple(f"{b.written()} {n}".rstrip() for b, n in zip(boxes, names))
    inline = _lines(text, max_lines) if isinstance(text, str) else ()
    if not isinstance(value, str):
        return Preview(kind="text" if inline else "none", text=inline, text_from=text_field if inline else None, boxes=box_facts)
    located = media.Resolver(root, spec.media_root).locate(value)
    assert located is not None
    if not located.ok:
        return Preview(value, media.kind_of(value), problem=located.problem(), text=inline, text_from=text_field if inline else None, boxes=box_facts)
    kind = media.kind_of(value)
    size = human_size(located.size)
    if kind == "image":
        return _image(located, boxes, names, spec.bbox_normalized, max_side, size, box_facts, inline, text_field)
    if kind == "text":
        lines, problem = _text_file(located, max_lines)
        return Preview(value, "text", ("text", size), problem, lines, value, box_facts)
    info = media.probe(located)
    facts: list[str] = []
    if info is not None and info.kind == "audio":
        facts.append(f"{info.format or 'audio'} audio")
        if info.duration is not None:
            facts.append(f"{info.duration:.2f} s")
        if info.sample_rate:
            facts.append(f"{info.sample_rate} Hz")
        if info.channels:
            facts.append(f"{info.channels} channel{'s' if info.channels != 1 else ''}")
    else:
        suffix = Path(value).suffix.lstrip(".").upper()
        facts.append(f"{suffix} file" if suffix else "file")
    facts.append(size)
    problem = f"cannot decode: {info.error}" if info is not None and info.error else None
    return Preview(value, kind, tuple(facts), problem, inline, text_field if inline else None, box_facts)


def _box_names(boxes: list[Box], labels: tuple[str, ...] | None) -> list[str]:
    """The class drawn with each box: labels pair with boxes when there are as many, else the one label."""
    if not labels:
        return [""] * len(boxes)
    if len(labels) == len(boxes):
        return list(labels)
    return [", ".join(labels)] * len(boxes)


def _lines(text: str, max_lines: int) -> tuple[str, ...]:
    lines = text.splitlines()
    out = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        out.append(f"… ({len(lines) - max_lines} more lines)")
    return tuple(out)


def _text_file(located: media.Located, max_lines: int) -> tuple[tuple[str, ...], str | None]:
    try:
        with media.open_media(located) as f:
            head = f.read(TEXT_READ)
    except OSError as exc:
        return (), f"cannot read: {exc.strerror or exc}"
    text = head.decode("utf-8", "replace")
    if len(head) == TEXT_READ:
        text = text.rsplit("\n", 1)[0]
    return _lines(text, max_lines), None


def thumbnail(located: media.Located, max_side: int = MAX_SIDE):  # noqa: ANN201 - (PIL RGB image, MediaInfo)
    """The undecorated thumbnail of an image, EXIF orientation applied (cached by path, size,
    mtime and `max_side`), with the image's header facts; the image is None when it cannot be made."""
    key = (*located.stamp, max_side)
    cached = _thumbnails.get(key)
    if cached is not None:
        return cached
    info = media.probe(located)
    result = (None, info)
    if info is not None and not info.error:
        Image = media.pil()
        with media.open_media(located) as f, Image.open(f) as im:
            im.thumbnail((max_side, max_side), reducing_gap=2.0)  # draft() first: a JPEG decodes at 1/2..1/8 scale
            small = _rgb(im)
        if info.orientation in _TRANSPOSE:
            small = small.transpose(getattr(Image.Transpose, _TRANSPOSE[info.orientation]))
        result = (small, info)
    _thumbnails.put(key, result)
    return result


def _rgb(im):  # noqa: ANN001, ANN202 - PIL images
    """RGB for drawing: transparency over white, other modes converted."""
    Image = media.pil()
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        from PIL import ImageOps

        return ImageOps.autocontrast(im.convert("F").convert("L") if im.mode == "F" else im.point(lambda v: v / 256).convert("L")).convert("RGB")
    return im.convert("RGB")


def _image(located: media.Located, boxes: list[Box], names: list[str], normalized: bool, max_side: int, size: str,
           box_facts: tuple[str, ...], inline: tuple[str, ...], text_field: str | None) -> Preview:
    try:
        small, info = thumbnail(located, max_side)
    except Exception as exc:  # noqa: BLE001 - a decoder failure is a fact of the preview, not a crash
        small, info = None, media.probe(located)
        error = f"cannot decode: {exc}"
    else:
        error = f"cannot decode: {info.error}" if info is not None and info.error else None
    facts: list[str] = []
    if info is not None:
        facts.append(info.format or "image")
        if info.width is not None:
            facts.append(f"{info.width} × {info.height} px")
        if info.orientation != 1:
            facts.append(f"EXIF orientation {info.orientation} (shown upright)")
    facts.append(size)
    text_from = text_field if inline else None
    if small is None or info is None or info.width is None:
        return Preview(located.value, "image", tuple(facts), error, inline, text_from, box_facts)
    picture = small.copy()
    _draw(picture, boxes, names, info.width, info.height, normalized)
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return Preview(located.value, "image", tuple(facts), error, inline, text_from, box_facts, buf.getvalue(), picture.size)


def _draw(picture, boxes: list[Box], names: list[str], width: int, height: int, normalized: bool) -> None:  # noqa: ANN001
    from PIL import ImageDraw, ImageFont

    if not boxes:
        return
    draw = ImageDraw.Draw(picture)
    sx, sy = picture.width / width, picture.height / height
    line = max(2, round(max(picture.size) / 128))
    try:
        font = ImageFont.load_default(size=max(10, round(max(picture.size) / 20)))
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    for i, (box, name) in enumerate(zip(boxes, names)):
        colour = BOX_COLOURS[i % len(BOX_COLOURS)]
        x1, y1, x2, y2 = box.pixels(width, height, normalized)
        left, right = sorted((x1 * sx, x2 * sx))
        top, bottom = sorted((y1 * sy, y2 * sy))
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        if name:
            label = name if len(name) <= 32 else name[:31] + "…"
            tx, ty = max(left, 0), max(top - font.size - 4, 0) if hasattr(font, "size") else max(top - 14, 0)
            l, t, r, b = draw.textbbox((tx + 2, ty + 1), label, font=font)
            draw.rectangle((tx, ty, r + 2, b + 2), fill=colour)
            draw.text((tx + 2, ty + 1), label, fill=(0, 0, 0), font=font)
