"""The media files that manifest rows point at: safe path resolution, cheap
header reads, content hashes.

Safety: a media path is resolved against `media_root` under the project root
(the directory of the config). A path that leaves the root — `..`, an absolute
path elsewhere, a symbolic link pointing out — is reported and never opened:
`open_media` only takes a `Located` that `Resolver.locate` found inside the
root, and every read of a media file in labelsense goes through it.

Cost: `locate` is one `lstat` per file (directories are resolved once and
cached). `probe` reads an image's header (`Image.open` without `load`: format,
size, EXIF orientation) and its last bytes (the end marker a truncated JPEG,
PNG or GIF lacks); pixels are decoded only to confirm a suspected truncation,
or for every image when the dataset sets `decode-media = true`. Results are
cached by (path, size, mtime).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import threading
import warnings
import wave
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac"}
TEXT_SUFFIXES = {".txt", ".text"}
ORIENTATION_TAG = 0x0112
_JPEG_END = b"\xff\xd9"
_PNG_END = b"IEND\xaeB`\x82"
PARALLEL_FROM = 32  # probe / hash in a thread pool from this many files on


@dataclass(frozen=True, slots=True)
class Located:
    """Where a row's media path leads. `path` is the real path (symbolic links
    resolved) and is set only when the file is inside the root and is a regular file."""

    value: str
    status: str  # "ok", "missing", "outside", "not-a-file", "invalid", "error"
    path: str | None = None
    size: int = 0
    mtime_ns: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def stamp(self) -> tuple[str, int, int]:
        return (self.path or "", self.size, self.mtime_ns)

    def problem(self) -> str | None:
        """Why the file cannot be used (for LS501 and hover), or None."""
        shown = repr(self.value) if len(self.value) <= 200 else repr(self.value[:200] + "…")
        if self.status == "missing":
            return f"media file {shown} does not exist{self.detail}"
        if self.status == "outside":
            return f"media path {shown} is outside the workspace{self.detail}; it is not read"
        if self.status == "not-a-file":
            return f"media path {shown} is {self.detail or 'not a regular file'}"
        if self.status == "invalid":
            return f"media path {shown} is {self.detail or 'not a valid path'}"
        if self.status == "error":
            return f"media file {shown} cannot be opened: {self.detail}"
        return None


class Resolver:
    """Resolves media paths of one dataset: against `media_root`, inside `root`."""

    def __init__(self, root: Path, media_root: str = ".") -> None:
        self.root = os.path.realpath(root)
        self.base = os.path.normpath(os.path.join(self.root, media_root))
        self._dirs: dict[str, str] = {}
        self._seen: dict[str, Located] = {}

    def inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root.rstrip(os.sep) + os.sep)

    def locate(self, value: object) -> Located | None:
        """The file a media value names (None for a value that is not a path: a number, a list, null)."""
        if not isinstance(value, str):
            return None
        found = self._seen.get(value)
        if found is None:
            found = self._seen[value] = self._locate(value)  # a race only computes one value twice
        return found

    def _locate(self, value: str) -> Located:
        if not value.strip():
            return Located(value, "invalid", detail="empty")
        if "\x00" in value:
            return Located(value, "invalid", detail="not a valid path (NUL character)")
        joined = os.path.normpath(os.path.join(self.base, value))  # an absolute value replaces the base
        if not self.inside(joined):  # `..` or an absolute path: decided without touching the file system
            return Located(value, "outside")
        head, name = os.path.split(joined)
        real_dir = self._dirs.get(head)
        if real_dir is None:
            real_dir = self._dirs[head] = os.path.realpath(head)
        real = os.path.join(real_dir, name)
        if not self.inside(real):
            return Located(value, "outside", detail=" (through a symbolic link)")
        try:
            st = os.lstat(real)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(real)
                if not self.inside(real):
                    return Located(value, "outside", detail=" (a symbolic link pointing out)")
                st = os.stat(real)
        except (FileNotFoundError, NotADirectoryError):
            return Located(value, "missing", detail=self._where(real))
        except OSError as exc:
            return Located(value, "error", detail=exc.strerror or str(exc))
        if not stat.S_ISREG(st.st_mode):
            return Located(value, "not-a-file", detail="a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file")
        return Located(value, "ok", real, st.st_size, st.st_mtime_ns)

    def _where(self, real: str) -> str:
        """Where it was looked for, when `media_root` makes that differ from the value."""
        return f" (looked for {os.path.relpath(real, self.root)})" if self.base != self.root else ""


def open_media(located: Located) -> BinaryIO:
    """Open a located media file for reading. The only way labelsense opens media:
    it refuses anything `Resolver.locate` did not find inside the root, does not
    follow a link swapped in since, and never blocks on a FIFO."""
    if not located.ok or located.path is None:
        raise PermissionError(f"refusing to open media {located.value!r}: {located.status}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(located.path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{located.value!r} is not a regular file")
        return os.fdopen(fd, "rb", buffering=65536)  # headers in one read: seeks within the buffer are free
    except BaseException:
        os.close(fd)
        raise


# -- kinds ---------------------------------------------------------------------
_image_suffixes: set[str] | None = None


def image_suffixes() -> set[str]:
    """File suffixes Pillow can open (every registered plugin)."""
    global _image_suffixes
    if _image_suffixes is None:
        _image_suffixes = {s.lower() for s in pil().registered_extensions()}
    return _image_suffixes


def kind_of(value: str) -> str:
    """`image`, `audio`, `text` or `other`, by the file's suffix."""
    suffix = os.path.splitext(value)[1].lower()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in image_suffixes():
        return "image"
    return "other"


# -- caches ---------------------------------------------------------------------
class Cache:
    """A small thread-safe LRU mapping."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_infos = Cache(500_000)
_hashes = Cache(500_000)


def parallel_map(fn: Callable[[Located], T], items: list[Located]) -> list[T]:
    """`fn` over `items`, in a thread pool when there are many (file I/O and decoders release the GIL)."""
    if len(items) < PARALLEL_FROM:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(16, 4 * (os.cpu_count() or 1))) as pool:
        return list(pool.map(fn, items))


# -- headers ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a header read tells about a media file. Image width and height are
    as displayed: EXIF orientation applied (a portrait phone photo stored sideways
    is taller than wide). `error` says why the file cannot be decoded (LS502)."""

    kind: str  # image | audio | text | other
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int = 1
    mode: str | None = None
    frames: int | None = None  # audio frames
    sample_rate: int | None = None
    channels: int | None = None
    error: str | None = None

    @property
    def duration(self) -> float | None:
        return self.frames / self.sample_rate if self.frames is not None and self.sample_rate else None


_pil_ready = False


def pil():  # noqa: ANN201 - the PIL.Image module
    """PIL.Image, imported on first use (datasets without media never pay for it). Pillow's
    DecompressionBombWarning is silenced: labelsense reports over-limit images itself (LS502)."""
    global _pil_ready
    from PIL import Image

    if not _pil_ready:
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        _pil_ready = True
    return Image


def pixel_limit() -> int | None:
    """The decompression-bomb limit: Pillow's `Image.MAX_IMAGE_PIXELS` (None: no limit)."""
    return pil().MAX_IMAGE_PIXELS


def probe(located: Located, decode: bool = False) -> MediaInfo | None:
    """Header facts of a located file (cached by path, size, mtime); None if it was not found."""
    if not located.ok:
        return None
    key = (*located.stamp, decode)
    cached = _infos.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    kind = kind_of(located.value)
    try:
        if kind == "image":
            info = _probe_image(located, decode)
        elif kind == "audio" and os.path.splitext(located.value)[1].lower() in (".wav", ".wave"):
            info = _probe_wav(located)
        else:
            info = MediaInfo(kind, os.path.splitext(located.value)[1].lstrip(".").upper() or None)
    except OSError as exc:
        info = MediaInfo(kind, error=f"cannot read: {exc.strerror or exc}")
    _infos.put(key, info)
    return info


def probe_all(items: Iterable[Located], decode: bool = False) -> dict[Located, MediaInfo]:
    """`probe` for many files (each once), the ones not cached in parallel when there are many."""
    out: dict[Located, MediaInfo] = {}
    todo: list[Located] = []
    for loc in dict.fromkeys(i for i in items if i.ok):
        cached = _infos.get((*loc.stamp, decode))
        if cached is not None:
            out[loc] = cached  # type: ignore[assignment]
        else:
            todo.append(loc)
    out.update(zip(todo, parallel_map(lambda loc: probe(loc, decode), todo)))  # type: ignore[arg-type]
    return out


def _orientation(im) -> int:  # noqa: ANN001 - PIL image
    """EXIF orientation from what the header gave. The base class's getexif on purpose:
    PNG's own loads the whole image to look for an eXIf chunk after the pixel data."""
    try:
        value = pil().Image.getexif(im).get(ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _probe_image(located: Located, decode: bool) -> MediaInfo:
    Image = pil()
    from PIL import UnidentifiedImageError

    with open_media(located) as f:
        try:
            im = Image.open(f)
            with im:
                w, h = im.size
                orientation = _orientation(im)
                if orientation >= 5:
                    w, h = h, w
                base = MediaInfo("image", im.format, w, h, orientation, im.mode)
                limit = pixel_limit()
                if limit is not None and w * h > limit:
                    return _with_error(base, _bomb(w, h, limit))
                suspicion = None if decode else _end_problem(f, im.format, located.size)
                error = _decode(im) if decode or suspicion else None  # a suspicion is confirmed by decoding
                if error and suspicion:
                    error = f"{error}; {suspicion}"
                return _with_error(base, error) if error else base
        except Image.DecompressionBombError as exc:  # Pillow refuses outright at twice the limit
            pixels = re.search(r"\((\d+) pixels\)", str(exc))
            count = f"{int(pixels[1]):,} pixels is" if pixels else "the image is"
            return MediaInfo("image", error=f"{count} over the decompression-bomb limit of {pixel_limit() or 0:,} pixels; not decoded")
        except UnidentifiedImageError:
            with open_media(located) as again:
                head = again.read(8)
            what = "an empty file" if located.size == 0 else f"not an image Pillow can read (starts with {head!r})"
            return MediaInfo("image", error=what)
        except (SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError) as exc:
            return MediaInfo("image", error=f"corrupt header: {exc}")
        except OSError as exc:
            return MediaInfo("image", error=f"corrupt: {exc}")


def _with_error(info: MediaInfo, error: str) -> MediaInfo:
    return MediaInfo(info.kind, info.format, info.width, info.height, info.orientation, info.mode, error=error)


def _bomb(w: int, h: int, limit: int) -> str:
    return f"{w} × {h} = {w * h:,} pixels is over the decompression-bomb limit of {limit:,} pixels; not decoded"


def _end_problem(f: BinaryIO, fmt: str | None, size: int) -> str | None:
    """A cheap truncation check without decoding: the format's end marker (JPEG EOI,
    PNG IEND, GIF trailer) or its declared length (WebP). A suspicion, not a verdict:
    data after the marker (a Motion Photo's video) is legal, so the caller decodes to confirm."""
    if fmt not in ("JPEG", "MPO", "PNG", "GIF", "WEBP"):
        return None
    if fmt == "WEBP":
        f.seek(0)
        head = f.read(12)
        declared = struct.unpack("<I", head[4:8])[0] + 8 if len(head) == 12 else 0
        return f"file is {size} bytes, its RIFF header says {declared}" if declared > size else None
    f.seek(max(size - 32, 0))
    tail = f.read(32).rstrip(b"\x00\r\n ")
    if fmt in ("JPEG", "MPO"):
        return None if tail.endswith(_JPEG_END) else "no JPEG end-of-image marker"
    if fmt == "PNG":
        return None if tail.endswith(_PNG_END) else "no PNG IEND chunk at the end"
    return None if tail.endswith(b";") else "no GIF trailer"


def _decode(im) -> str | None:  # noqa: ANN001 - PIL image
    """Decode the pixels (a JPEG at 1/8 scale: every block is still read); the error, or None."""
    try:
        if im.format in ("JPEG", "MPO"):
            im.draft(im.mode, (max(im.size[0] // 8, 1), max(im.size[1] // 8, 1)))
        im.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the finding
        text = str(exc) or type(exc).__name__
        return f"truncated or corrupt: {text}" if "truncated" not in text else text
    return None


def _probe_wav(located: Located) -> MediaInfo:
    with open_media(located) as f:
        try:
            with wave.open(f) as w:
                info = MediaInfo("audio", "WAV", frames=w.getnframes(), sample_rate=w.getframerate(), channels=w.getnchannels())
                need = f.tell() + w.getnframes() * w.getnchannels() * w.getsampwidth()
        except wave.Error as exc:
            if "unknown format" in str(exc):  # a valid WAV the standard library does not decode (float, ADPCM, …)
                return MediaInfo("audio", "WAV")
            return MediaInfo("audio", "WAV", error=f"not a readable WAV file: {exc}")
        except (EOFError, struct.error) as exc:
            return MediaInfo("audio", "WAV", error=f"truncated WAV header: {exc or 'unexpected end of file'}")
    if need > located.size:
        return _audio_error(info, f"truncated: the data chunk needs {need} bytes, the file has {located.size}")
    return info


def _audio_error(info: MediaInfo, error: str) -> MediaInfo:
    return MediaInfo(info.kind, info.format, frames=info.frames, sample_rate=info.sample_rate, channels=info.channels, error=error)


# -- content hashes ------------------------------------------------------------------
def sha256(located: Located) -> str | None:
    """The SHA-256 of a located file's contents (cached by path, size, mtime); None if unreadable."""
    if not located.ok:
        return None
    cached = _hashes.get(located.stamp)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        with open_media(located) as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    _hashes.put(located.stamp, digest)
    return digest


def sha256_all(items: Iterable[Located]) -> dict[Located, str | None]:
    """`sha256` for many files (each once), the ones not cached in parallel when there are many."""
    out: dict[Located, str | None] = {}
    todo: list[Located] = []
    for loc in dict.fromkeys(i for i in items if i.ok):
        cached = _hashes.get(loc.stamp)
        if cached is not None:
            out[loc] = cached  # type: ignore[assignment]
        else:
            todo.append(loc)
    out.update(zip(todo, parallel_map(sha256, todo)))
    return out


def clear_caches() -> None:
    _infos.clear()
    _hashes.clear()
