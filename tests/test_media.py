"""Media: paths that leave the workspace are never opened, header-only reads
decode no pixels, previews (thumbnail with boxes, EXIF orientation, text,
audio, cache), content hashing for LS403, the CLI's LS501-LS503 rows on
samples/pets, and escaping of preview markdown."""
from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFile, JpegImagePlugin

from labelsense.cli.main import main
from labelsense.core import engine, media
from labelsense.core.config import DatasetConfig
from labelsense.core.preview import BOX_COLOURS, preview_row
from labelsense.lsp.preview import preview_markdown

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OPENED: list[str] | None = None  # while a test records: every path the process opens


def _audit(event: str, args: tuple) -> None:
    if event == "open" and OPENED is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        OPENED.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one only records while OPENED is a list


@pytest.fixture
def opened():
    """The real paths of every file opened in this process during the test (builtins.open, io.open, os.open)."""
    global OPENED
    OPENED = []
    media.clear_caches()
    try:
        yield OPENED
    finally:
        OPENED = None


@pytest.fixture
def escape_tree(tree, media_files):
    """proj/ with a config and rows that try to leave it; `outside/secret.jpg` next to proj/."""
    root = tree({
        "proj/labelsense.toml": '[[dataset]]\nname = "pets"\nmanifests = ["data/*.jsonl"]\nmedia_root = "img"\n',
    })
    media_files(root, {"outside/secret.jpg": {"image": [40, 30]}, "proj/img/ok.jpg": {"image": [40, 30]},
                 "proj/img/link.jpg": {"symlink": "../../outside/secret.jpg"},
                 "proj/img/sub/deep.jpg": {"symlink": "../../../outside/secret.jpg"}})
    os.symlink(root / "outside", root / "proj" / "img" / "dirlink")  # a directory link pointing out
    secret = str(root / "outside" / "secret.jpg")
    values = ["ok.jpg", "../../outside/secret.jpg", secret, "link.jpg", "sub/deep.jpg", "dirlink/secret.jpg",
              "sub/../../../outside/secret.jpg", "./../img/../../outside/secret.jpg"]
    rows = [{"id": f"r{i}", "image": v, "label": "cat", "bbox": [1, 1, 5, 5]} for i, v in enumerate(values)]
    (root / "proj" / "data").mkdir()
    (root / "proj" / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root, rows


def test_paths_leaving_the_workspace_are_reported_and_never_opened(escape_tree, opened, monkeypatch) -> None:
    root, rows = escape_tree
    monkeypatch.chdir(root)
    report = engine.check([root / "proj"])  # every media rule
    spec = DatasetConfig("pets", ("data/*.jsonl",), media_root="img")
    previews = [preview_row(root / "proj", spec, row) for row in rows]  # what the hover shows
    secret = os.path.realpath(root / "outside" / "secret.jpg")
    assert os.path.realpath(root / "proj" / "img" / "ok.jpg") in opened  # the hook does see media reads
    assert secret not in opened and not any(p.startswith(str(root / "outside")) for p in opened)
    ls501 = sorted((f.span.line, f.message) for f in report.findings if f.code == "LS501")
    assert [line for line, _ in ls501] == list(range(1, len(rows)))
    assert all("outside the workspace" in m and "not read" in m for _, m in ls501)
    assert previews[0].png is not None  # the inside image is read and shown
    for p in previews[1:]:
        assert p.png is None and p.problem and "outside the workspace" in p.problem


def test_open_media_refuses_what_was_not_located_inside(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"x")
    with pytest.raises(PermissionError):
        media.open_media(media.Located("x.jpg", "outside", str(tmp_path / "x.jpg")))
    resolver = media.Resolver(tmp_path / "sub")
    (tmp_path / "sub").mkdir()
    assert resolver.locate("../x.jpg").status == "outside"
    fifo = tmp_path / "sub" / "pipe.jpg"
    os.mkfifo(fifo)
    assert resolver.locate("pipe.jpg").status == "not-a-file"  # never opened: a FIFO would block


def test_header_reads_decode_no_pixels(tree, media_files, monkeypatch) -> None:
    files = {f"img/{i}.{ext}": {"image": [320, 240]} for i, ext in enumerate(["jpg", "png", "gif", "webp", "jpg", "png"] * 10)}
    files["img/sideways.jpg"] = {"image": [320, 240], "orientation": 6}
    root = tree({"labelsense.toml": '[[dataset]]\nmanifests = ["*.jsonl"]\n',
                 "train.jsonl": "".join(json.dumps({"id": n, "image": n, "label": "x", "bbox": [0, 0, 10, 10]}) + "\n" for n in files)})
    media_files(root, files)
    media.clear_caches()
    loads: list[str] = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self):  # noqa: ANN001, ANN202
        loads.append(self.format)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    report = engine.check([root], select=("LS5",))
    assert report.findings == [] and loads == []  # existence, size, orientation, end markers: no pixels decoded
    (root / "labelsense.toml").write_text('[[dataset]]\nmanifests = ["*.jsonl"]\ndecode-media = true\n')
    media.clear_caches()
    assert engine.check([root], select=("LS5",)).findings == [] and len(loads) == len(files)  # opt-in: every image decoded


def _scene(size: tuple[int, int]) -> Image.Image:
    """Grey, with a red 10x10 marker at the top-left corner (to see orientation)."""
    im = Image.new("RGB", size, (128, 128, 128))
    im.paste((255, 0, 0), (0, 0, 10, 10))
    return im


def test_image_preview_thumbnail_boxes_orientation_and_cache(tmp_path: Path) -> None:
    upright = _scene((400, 300))
    upright.save(tmp_path / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated 90° counter-clockwise; displayed rotated back
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "side.jpg", exif=exif.tobytes(), quality=95)
    spec = DatasetConfig("d", ("*.jsonl",))
    row = {"id": "1", "image": "a.png", "label": ["cat", "dog"], "bbox": [[40, 40, 100, 100], [200, 100, 150, 150]]}
    p = preview_row(tmp_path, spec, row, max_side=200)
    assert p.kind == "image" and p.facts[:2] == ("PNG", "400 × 300 px") and p.thumbnail_size == (200, 150)
    assert p.boxes == ("[40, 40, 100, 100] cat", "[200, 100, 150, 150] dog")  # labels pair with boxes
    im = Image.open(io.BytesIO(p.png)).convert("RGB")
    assert im.size == (200, 150)
    assert im.getpixel((20, 45)) == BOX_COLOURS[0] and im.getpixel((100, 90)) == BOX_COLOURS[1]  # each box its colour
    assert im.getpixel((2, 2)) == (255, 0, 0)  # the marker
    assert p.data_uri().startswith("data:image/png;base64,iVBOR")
    side = preview_row(tmp_path, spec, {"id": "2", "image": "side.jpg"}, max_side=200)
    assert "400 × 300 px" in side.facts and any("orientation 6" in f for f in side.facts) and side.thumbnail_size == (200, 150)
    r, g, b = Image.open(io.BytesIO(side.png)).convert("RGB").getpixel((2, 2))
    assert r > 200 and g < 60 and b < 60  # upright again: the marker is back at the top left
    # normalized xyxy boxes
    spec2 = DatasetConfig("d", ("*.jsonl",), bbox_format="xyxy", bbox_normalized=True)
    norm = preview_row(tmp_path, spec2, {"image": "a.png", "bbox": [0.5, 0.5, 1.0, 1.0], "label": "cat"}, max_side=200)
    im = Image.open(io.BytesIO(norm.png)).convert("RGB")
    assert im.getpixel((150, 140)) != BOX_COLOURS[0] and any(im.getpixel((x, 120)) == BOX_COLOURS[0] for x in range(98, 103))
    # cached by (path, size, mtime): a changed file gives a new thumbnail
    _scene((100, 100)).save(tmp_path / "a.png")
    os.utime(tmp_path / "a.png", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert preview_row(tmp_path, spec, {"image": "a.png"}, max_side=200).thumbnail_size == (100, 100)


def test_big_jpeg_is_decoded_at_reduced_scale(tmp_path: Path, monkeypatch) -> None:
    Image.new("RGB", (4000, 3000), (90, 140, 30)).save(tmp_path / "big.jpg", quality=80)
    sizes: list[tuple[int, int]] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):  # noqa: ANN001, ANN202
        result = real_draft(self, mode, size)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    media.clear_caches()
    p = preview_row(tmp_path, DatasetConfig("d", ("*",)), {"image": "big.jpg", "bbox": [0, 0, 10, 10]})
    assert p.thumbnail_size == (256, 192) and "4000 × 3000 px" in p.facts
    assert sizes and max(sizes[-1]) <= 1000  # 1/4 scale or less: 12 MP never decoded in full


def test_text_audio_and_other_previews(tmp_path: Path, media_files) -> None:
    media_files(tmp_path, {"clip.wav": {"wav": 1.5}, "notes.txt": {"bytes": "line one\nline two\n" + "more\n" * 20},
                     "model.bin": {"bytes": "x" * 2048}})
    spec = DatasetConfig("d", ("*",))
    clip = preview_row(tmp_path, spec, {"audio": "clip.wav"})
    assert clip.kind == "audio" and clip.facts[:4] == ("WAV audio", "1.50 s", "8000 Hz", "1 channel")
    notes = preview_row(tmp_path, spec, {"file": "notes.txt"}, max_lines=3)
    assert notes.text == ("line one", "line two", "more", "… (19 more lines)") and notes.text_from == "notes.txt"
    other = preview_row(tmp_path, spec, {"path": "model.bin"})
    assert other.facts == ("BIN file", "2.0 KB") and other.png is None
    inline = preview_row(tmp_path, spec, {"id": "t", "text": "first\nsecond"})
    assert inline.text == ("first", "second") and inline.text_from == "text" and inline.media is None
    assert preview_row(tmp_path, spec, {"id": "t", "label": "x"}) is None
    missing = preview_row(tmp_path, spec, {"image": "nope.jpg"})
    assert missing.problem == "media file 'nope.jpg' does not exist" and missing.png is None


def test_preview_markdown_escapes_everything_from_the_dataset() -> None:
    from labelsense.core.preview import Preview

    p = Preview(media="a`b<img src=x>.jpg", kind="image", facts=("JPEG", "<b>1</b> × 2 px"),
                problem="media file '[x](command:evil)' does not exist", text=("<script>alert(1)</script>", "# h", "[run](command:x)"),
                text_from="text", boxes=("[1, 2, 3, 4] <img onerror=x>",), png=b"\x89PNG")
    text = preview_markdown(p)
    assert "``a`b<img src=x>.jpg``" in text  # the path in a code span, longer fence than its backtick
    assert "&lt;b&gt;1&lt;/b&gt;" in text and "\\[x\\]\\(command:evil\\)" in text
    assert "> &lt;script&gt;alert\\(1\\)&lt;/script&gt;" in text and "> \\# h" in text and "\\[run\\]\\(command:x\\)" in text
    assert "`[1, 2, 3, 4] <img onerror=x>`" in text
    assert text.count("](") == 1 and "![preview](data:image/png;base64," in text  # the only link: our own image


def test_hash_media_compares_file_contents_for_ls403(tree, media_files, monkeypatch) -> None:
    rows = [{"id": "a", "image": "img/1.jpg", "label": "cat"}, {"id": "b", "image": "img/copy.jpg", "label": "dog"},
            {"id": "c", "image": "img/2.jpg", "label": "dog"}, {"id": "d", "image": "img/gone.jpg", "label": "dog"}]
    root = tree({"labelsense.toml": '[[dataset]]\nmanifests = ["*.jsonl"]\nhash-media = true\n',
                 "train.jsonl": "".join(json.dumps(r) + "\n" for r in rows)})
    media_files(root, {"img/1.jpg": {"image": [32, 32]}, "img/2.jpg": {"image": [16, 16]}})
    (root / "img" / "copy.jpg").write_bytes((root / "img" / "1.jpg").read_bytes())  # a re-upload under a new name
    monkeypatch.chdir(root)
    media.clear_caches()
    found = [(f.span.line, f.message) for f in engine.check([root], select=("LS403",)).findings]
    assert [line for line, _ in found] == [0, 1]
    assert found[0][1].startswith("same media content 'sha256:") and "'dog' (key 'b')" in found[0][1]
    reads: list[str] = []
    real_open = media.open_media
    monkeypatch.setattr(media, "open_media", lambda loc: reads.append(loc.value) or real_open(loc))
    engine.check([root], select=("LS403",))
    assert reads == []  # hashes cached by (path, size, mtime)
    (root / "labelsense.toml").write_text('[[dataset]]\nmanifests = ["*.jsonl"]\n')
    assert engine.check([root], select=("LS403",)).findings == []  # by path: all different


def test_cli_reports_media_rules_on_the_right_rows(capsys) -> None:
    code = main(["check", str(SAMPLES / "pets"), "--format", "json", "--select", "LS5", "--no-progress"])
    found = json.loads(capsys.readouterr().out)
    assert code == 1
    assert sorted((Path(f["path"]).name, f["line"], f["column"], f["code"]) for f in found) == [
        ("test.jsonl", 9, 31, "LS501"), ("train.jsonl", 33, 121, "LS503"), ("val.jsonl", 12, 31, "LS502")]
    by_code = {f["code"]: f["message"] for f in found}
    assert "images/test/persian_0001.jpg" in by_code["LS501"] and "does not exist" in by_code["LS501"]
    assert "truncated" in by_code["LS502"]
    assert "outside the 250 × 188 image" in by_code["LS503"]


def test_box_column_is_compact_and_gives_back_what_was_written() -> None:
    import pyarrow as pa

    from labelsense.core.manifest import BoxColumn

    mixed = [[1, 2, 3, 4], None, [1, 2, 3], "1,2,3,4", [[1, 2, 3, 4], [5, 6, 7, 8]], [1.5, 2, 3, 4], [True, 1, 2, 3], {"x": 1}]
    regular = [[i, i + 1, 10, 20] for i in range(1000)] + [None, [1, 2, 3]]
    for values in (mixed, regular, [[[1, 2, 3, 4]]] * 3, []):
        column = BoxColumn()
        column.extend(values)
        assert list(column) == values and [column[i] for i in range(len(values))] == values and len(column) == len(values)
    column = BoxColumn()
    column.extend(regular)
    column.extend_arrow(pa.array([[0.5, 0.5, 1.0, 1.0], None]))
    assert column[1000] is None and column[1001] == [1, 2, 3] and column[-2] == [0.5, 0.5, 1.0, 1.0] and column[-1] is None
    assert all(not isinstance(b, list) for b in column._blocks)  # stored as float arrays, the odd rows aside
