"""Make the media files of the sample datasets: synthetic pictures and clips, nothing downloaded.

    python samples/make_media.py            # (re)writes samples/pets/images/ and samples/reviews/voice/clips/

pets: one 500 × 375 JPEG per image path in pets/data/*.jsonl — a coloured
scene with the row's box region drawn as an "animal" and the class name
written on it — except the planted media problems (see samples/README.md):

- images/test/persian_0001.jpg   missing: not created (LS501)
- images/val/bengal_0002.jpg     corrupt: cut off after 60 % of its bytes (LS502)
- images/train/maine_coon_0003.jpg  resized to 250 × 188 after labelling, so its
                                 box reaches outside the image (LS503)
- images/train/golden_retriever_0001.jpg  a phone photo stored sideways (375 × 500)
                                 with EXIF orientation 6: upright it is 500 × 375
                                 and its box fits (must not be flagged)

reviews/voice: short WAV clips (8 kHz, 8-bit mono tones) for the voice-review rows.

Deterministic: the same script writes the same bytes (Pillow version permitting).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
import wave
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
PETS = HERE / "pets"
VOICE = HERE / "reviews" / "voice"
SIZE = (500, 375)
MISSING = "images/test/persian_0001.jpg"
CORRUPT = "images/val/bengal_0002.jpg"
RESIZED = "images/train/maine_coon_0003.jpg"
ROTATED = "images/train/golden_retriever_0001.jpg"
_IMAGE = re.compile(r'"image":\s*"([^"]+)"')
_BBOX = re.compile(r'"bbox":\s*\[([^\]]*)\]')


def _rng(name: str) -> list[int]:
    return list(hashlib.sha256(name.encode()).digest())


def picture(path: str, box: list[float] | None) -> Image.Image:
    """A synthetic 500 × 375 scene for one image path: sky and ground, a few shapes,
    the "animal" as an ellipse in the labelled box, and the class name."""
    r = _rng(path)
    cls = re.sub(r"_\d{4}\.jpg$", "", path.rsplit("/", 1)[-1])
    im = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(im)
    sky = (90 + r[0] % 100, 140 + r[1] % 80, 200 + r[2] % 55)
    ground = (60 + r[3] % 80, 110 + r[4] % 90, 40 + r[5] % 60)
    horizon = 200 + r[6] % 80
    for y in range(SIZE[1]):  # gentle vertical gradients
        base, t = (sky, y / horizon) if y < horizon else (ground, (y - horizon) / (SIZE[1] - horizon))
        draw.line((0, y, SIZE[0], y), fill=tuple(max(0, int(c * (1.0 - 0.25 * t))) for c in base))
    for i in range(4):  # background shapes: bushes, stones
        x, y, s = 30 + r[7 + i] * 440 // 255, horizon - 20 + r[11 + i] % 120, 20 + r[15 + i] % 50
        draw.ellipse((x - s, y - s // 2, x + s, y + s // 2), fill=(40 + r[19 + i] % 60, 90 + r[23 + i] % 80, 40))
    x, y, w, h = box if box else (150, 100, 200, 180)
    body = (150 + r[27] % 100, 100 + r[28] % 100, 60 + r[29] % 80)
    draw.ellipse((x, y, x + w, y + h), fill=body, outline=(30, 20, 10), width=3)
    ex, ey = x + w * 0.3, y + h * 0.35
    for dx in (0, w * 0.4):  # eyes
        draw.ellipse((ex + dx - 6, ey - 6, ex + dx + 6, ey + 6), fill=(20, 20, 20))
    font = ImageFont.load_default(size=22)
    draw.text((12, 10), cls.replace("_", " "), fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return im


def jpeg(im: Image.Image, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=70, optimize=True, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def pets_images() -> dict[str, list[float] | None]:
    """Image path -> the first box labelled on it (rows read leniently: a broken row still names its image)."""
    images: dict[str, list[float] | None] = {}
    for manifest in sorted((PETS / "data").glob("*.jsonl")):
        for line in manifest.read_text("utf-8").splitlines():
            m = _IMAGE.search(line)
            if not m:
                continue
            b = _BBOX.search(line)
            box = [float(v) for v in b[1].split(",")] if b and b[1].strip() else None
            images.setdefault(m[1], box if box and len(box) == 4 else None)
    return images


def make_pets() -> list[Path]:
    written = []
    for rel, box in sorted(pets_images().items()):
        out = PETS / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel == MISSING:
            out.unlink(missing_ok=True)
            continue
        im = picture(rel, box)
        if rel == RESIZED:
            data = jpeg(im.resize((250, 188), Image.Resampling.LANCZOS))
        elif rel == ROTATED:
            exif = Image.Exif()
            exif[0x0112] = 6  # "rotate 90° clockwise to display"
            data = jpeg(im.transpose(Image.Transpose.ROTATE_90), exif.tobytes())
        else:
            data = jpeg(im)
        if rel == CORRUPT:
            data = data[: len(data) * 6 // 10]
        out.write_bytes(data)
        written.append(out)
    return written


def make_voice() -> list[Path]:
    """One clip per voice row: a short two-tone "utterance", length and pitch from the id."""
    written = []
    for line in (VOICE / "train.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        out = VOICE / row["audio"]
        out.parent.mkdir(parents=True, exist_ok=True)
        r = _rng(row["id"])
        rate, seconds = 8000, 0.6 + (r[0] % 7) / 10
        f1, f2 = 180 + r[1] % 120, 300 + r[2] % 200
        n = int(rate * seconds)
        frames = bytes(128 + int(90 * math.sin(i / n * math.pi) * (0.6 * math.sin(2 * math.pi * f1 * i / rate) + 0.4 * math.sin(2 * math.pi * f2 * i / rate)))
                       for i in range(n))
        with wave.open(str(out), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(rate)
            w.writeframes(frames)
        written.append(out)
    return written


def main() -> None:
    files = make_pets() + make_voice()
    total = sum(f.stat().st_size for f in files)
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB")
    assert total < 2 * 1024 * 1024, "sample media must stay small"


if __name__ == "__main__":
    main()
