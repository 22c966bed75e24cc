"""A media file that cannot be decoded: truncated, corrupt, not what its name
says, or over the decompression-bomb limit.

What it does: for each row whose media file exists (LS501 covers the others),
opens it by its type. Images (every format Pillow knows: JPEG, PNG, GIF, WebP,
TIFF, BMP, …): the header is read — format, size, EXIF orientation — without
decoding pixels, and the last bytes are checked for the format's end marker
(JPEG end-of-image, PNG `IEND`, GIF trailer, WebP's declared length), which a
truncated download lacks; only a file failing that check is decoded, to
confirm. An image of more than Pillow's `Image.MAX_IMAGE_PIXELS` (89,478,485
by default) is reported and never decoded: a decompression bomb. With
`decode-media = true` in the dataset every image is decoded in full (JPEGs at
1/8 scale, which still reads every block) to catch corruption inside the data
too — thorough, but hundreds of times slower. WAV audio: the header is read
with the standard library and the data must be as long as it says. Other
audio, text and other files are not checked. Each file is read once per run
and the result cached by path, size and modification time.

Why it matters: training jobs die hours in on the one corrupt JPEG, or load a
half-grey image and learn from it; a tiny PNG that claims 40000 × 40000 pixels
exhausts the memory of whatever decodes it.

Example: `images/val/bengal_0002.jpg` cut off after 60 % of its bytes by an
interrupted copy: "image file is truncated (no JPEG end-of-image marker)".

Fix: re-download or re-export the file; drop the row if the original is lost.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    rows = [(ref, loc) for ref, loc in ds.media_rows() if loc.ok]
    infos = ds.media_infos([loc for _, loc in rows])
    for ref, loc in rows:
        info = infos.get(loc)
        if info is not None and info.error:
            yield RULE.at(ds.manifest(ref).path, ds.span(ref, "media"), f"cannot decode {info.kind} {loc.value!r}: {info.error}")


RULE = Rule("LS502", "unreadable-media", Severity.ERROR, check, __doc__, reads=frozenset({"media"}))
