"""Benchmark hover previews and the media rules.

    python benchmarks/preview.py [--repeat 10] [--images 2000] [--out benchmarks/results/preview.json]

1. A 12-megapixel JPEG (4000 x 3000, photo-like: gradients and noise, ~4 MB),
   previewed cold (caches cleared) `--repeat` times: thumbnail (longest side 256)
   with a box drawn, PNG-encoded. Target: median <= 150 ms. For comparison the
   same thumbnail made by decoding all 12 megapixels (no `draft`), and a warm
   preview (thumbnail cached by path, size and mtime: only the box and the PNG).
2. LS501-LS503 over `--images` small JPEGs (640 x 480): one `labelsense check
   --select LS5` in-process with cold caches, so what 100k images would take
   can be read off the per-image time (header + end-marker reads; no pixels).

Images are generated in a temporary directory (nothing downloaded); results go
to the JSON file, with the machine they ran on.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))
from run import machine  # noqa: E402

from labelsense.core import engine, media, preview  # noqa: E402
from labelsense.core.config import DatasetConfig  # noqa: E402

TARGET_MS = 150.0


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour gradients plus sensor-like noise: compresses like a photo, not like a flat test card."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    arr = np.stack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 20) % 256], -1)
    arr += rng.normal(0, 12, arr.shape).astype(np.float32)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def ms(seconds: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(seconds) * 1000, 1), "min_ms": round(min(seconds) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1)}


def bench_preview(root: Path, repeat: int) -> dict[str, object]:
    path = root / "big.jpg"
    photo(4000, 3000).save(path, quality=90)
    spec = DatasetConfig("bench", ("*.jsonl",))
    row = {"id": "1", "image": "big.jpg", "label": "cat", "bbox": [1000, 500, 2000, 1500]}
    cold, warm, full = [], [], []
    result = None
    for _ in range(repeat):
        preview._thumbnails.clear()
        media.clear_caches()
        t = time.perf_counter()
        result = preview.preview_row(root, spec, row)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        preview.preview_row(root, spec, row)
        warm.append(time.perf_counter() - t)
        t = time.perf_counter()
        with Image.open(path) as im:  # what it would cost without draft(): decode all 12 MP, then shrink
            im.load()
            im.thumbnail((256, 256))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "PNG")
        full.append(time.perf_counter() - t)
    assert result is not None and result.png is not None
    return {"image": "4000 x 3000 JPEG, quality 90", "file_bytes": path.stat().st_size, "thumbnail": list(result.thumbnail_size or ()),
            "png_bytes": len(result.png), "repeat": repeat, "cold": ms(cold), "warm_cached_thumbnail": ms(warm),
            "full_decode_no_draft": ms(full), "target_ms": TARGET_MS, "pass": statistics.median(cold) * 1000 <= TARGET_MS}


def bench_rules(root: Path, images: int) -> dict[str, object]:
    (root / "img").mkdir()
    base = photo(640, 480, seed=1)
    buf = io.BytesIO()
    base.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    rows = []
    for i in range(images):
        (root / "img" / f"{i:06d}.jpg").write_bytes(data)  # same pixels, distinct files: the rules read each
        rows.append(json.dumps({"id": f"s{i}", "image": f"img/{i:06d}.jpg", "label": "cat", "bbox": [10, 10, 100, 100]}))
    (root / "train.jsonl").write_text("\n".join(rows) + "\n")
    (root / "labelsense.toml").write_text('[[dataset]]\nmanifests = ["*.jsonl"]\n')
    media.clear_caches()
    t = time.perf_counter()
    report = engine.check([root], select=("LS5",))
    cold = time.perf_counter() - t
    t = time.perf_counter()
    engine.check([root], select=("LS5",))
    warm = time.perf_counter() - t
    per = cold / images
    return {"images": images, "image": f"640 x 480 JPEG, {len(data)} bytes", "findings": len(report.findings),
            "cold_s": round(cold, 3), "warm_s": round(warm, 3), "per_image_us": round(per * 1e6, 1),
            "projected_100k_s": round(per * 100_000, 1), "note": "page cache warm (files just written); a cold disk adds its seek time"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "preview.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                  "preview_12mp": bench_preview(Path(a), args.repeat), "media_rules": bench_rules(Path(b), args.images)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    p, r = result["preview_12mp"], result["media_rules"]
    print(f"12 MP JPEG preview: cold median {p['cold']['median_ms']} ms (target {TARGET_MS:.0f}: {'pass' if p['pass'] else 'FAIL'}), "
          f"warm {p['warm_cached_thumbnail']['median_ms']} ms, without draft {p['full_decode_no_draft']['median_ms']} ms")
    print(f"LS501-LS503 on {r['images']} images: {r['cold_s']} s cold ({r['per_image_us']} µs/image, ~{r['projected_100k_s']} s per 100k), {r['warm_s']} s cached")
    return 0 if p["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
