"""Shared test helpers: write a dataset tree from a mapping, run the engine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def write_tree(root: Path, files: dict[str, Any]) -> None:
    """Write files: text (str), raw bytes, or, for `.parquet` names, a list of row dicts."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet") and isinstance(content, list):
            pq.write_table(pa.Table.from_pylist(content), path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")


@pytest.fixture
def tree(tmp_path: Path):
    def make(files: dict[str, Any]) -> Path:
        write_tree(tmp_path, files)
        return tmp_path

    return make


def write_media(root: Path, specs: dict[str, Any]) -> None:
    """Media files for a dataset tree, made with Pillow / wave (rule fixtures' `media:` key):

    - `{image: [w, h]}`: a picture of that size as displayed, in the format of the suffix;
      `orientation: 6` stores it sideways with that EXIF orientation; `mode: "1"` a bilevel
      image (small files of huge size: decompression bombs)
    - `{wav: seconds}`: 8 kHz 16-bit mono silence
    - `{bytes: "text"}`: the file holds exactly these bytes (latin-1)
    - `{symlink: target}`: a symbolic link; `{dir: true}`: a directory
    - `truncate: fraction`: keep only that share of the file's bytes; `append: "text"`:
      bytes after the end (a JPEG with data after its end marker is still valid);
      `garble: true`: zero 40 bytes in the middle (the end marker stays)
    """
    import io
    import os
    import wave

    from PIL import Image

    for name, spec in specs.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if "symlink" in spec:
            os.symlink(spec["symlink"], path)
            continue
        if spec.get("dir"):
            path.mkdir()
            continue
        buf = io.BytesIO()
        if "image" in spec:
            w, h = spec["image"]
            orientation = spec.get("orientation", 1)
            stored = (h, w) if orientation >= 5 else (w, h)
            mode = spec.get("mode", "RGB")
            im = Image.new(mode, stored, 0 if mode == "1" else (40, 120, 200))
            if mode == "RGB":  # some detail, so that a truncated file loses real data
                im.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256) for y in range(stored[1]) for x in range(stored[0])])
            fmt = Image.registered_extensions()[path.suffix.lower()]
            extra = {}
            if orientation != 1:
                exif = Image.Exif()
                exif[0x0112] = orientation
                extra["exif"] = exif.tobytes()
            im.save(buf, fmt, **extra)
        elif "wav" in spec:
            with wave.open(buf, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(b"\0\0" * int(8000 * spec["wav"]))
        elif "bytes" in spec:
            buf.write(spec["bytes"].encode("latin-1"))
        data = buf.getvalue()
        if spec.get("garble"):
            middle = len(data) // 2
            data = data[:middle] + bytes(40) + data[middle + 40:]
        if "truncate" in spec:
            data = data[: int(len(data) * spec["truncate"])]
        path.write_bytes(data + spec.get("append", "").encode("latin-1"))


@pytest.fixture
def media_files():
    return write_media
