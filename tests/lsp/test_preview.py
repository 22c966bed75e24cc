"""Hover previews of a row's sample: the thumbnail (a PNG data URI with the box
drawn), the facts as text, problems instead of a picture, escaping of dataset
text, and paths outside the workspace that are never shown."""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from lsprotocol import types
from PIL import Image

from labelsense.core.preview import BOX_COLOURS

from .helpers import files_changed, open_doc

DATA_URI = re.compile(r"!\[preview\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


def pos_of(path: Path, line: int, needle: str, offset: int = 1) -> types.Position:
    text = path.read_text("utf-8").split("\n")[line]
    return types.Position(line, text.index(needle) + offset)


async def hover_text(client, uri: str, position: types.Position) -> str:
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
    return hover.contents.value if hover else ""


def thumbnail(text: str) -> Image.Image:
    found = DATA_URI.findall(text)
    assert len(found) == 1, text[:500]
    im = Image.open(io.BytesIO(base64.b64decode(found[0])))
    assert im.format == "PNG"
    return im.convert("RGB")


def outside_code(text: str) -> str:
    """The markdown with code spans removed (their content is shown literally, never rendered)."""
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", text)


async def test_hover_on_a_row_shows_the_image_with_its_box(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    text = await hover_text(client, uri, pos_of(train, 0, '"img_000101"'))  # the key of row 1
    assert "JPEG" in text and "500 × 375 px" in text and "KB" in text
    assert "`[94, 25, 194, 160] abyssinian`" in text  # the box as text, for clients without images
    im = thumbnail(text)
    assert im.size == (256, 192)  # longest side 256, aspect kept
    magenta = BOX_COLOURS[0]
    s = 256 / 500  # box [94, 25, 194, 160] (x, y, w, h) scaled into the thumbnail
    left, top, right, bottom = 94 * s, 25 * s, (94 + 194) * s, (25 + 160) * s
    mid_x, mid_y = int((left + right) / 2), int((top + bottom) / 2)
    assert any(im.getpixel((mid_x, y)) == magenta for y in range(int(bottom) - 2, int(bottom) + 3))  # bottom edge
    assert any(im.getpixel((x, mid_y)) == magenta for x in range(int(left) - 2, int(left) + 3))  # left edge
    assert any(im.getpixel((x, mid_y)) == magenta for x in range(int(right) - 2, int(right) + 3))  # right edge
    assert im.getpixel((mid_x, mid_y)) != magenta and im.getpixel((5, 185)) != magenta  # inside and outside: the photo
    # the same preview from any field of the row, the media path included
    assert DATA_URI.search(await hover_text(client, uri, pos_of(train, 0, '"images/train/abyssinian_0001.jpg"')))
    assert DATA_URI.search(await hover_text(client, uri, pos_of(train, 0, '"bbox"')))


async def test_hover_applies_exif_orientation(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    text = await hover_text(client, uri, pos_of(train, 4, '"img_000105"'))  # stored sideways, EXIF orientation 6
    assert "500 × 375 px" in text and "EXIF orientation 6" in text
    assert thumbnail(text).size == (256, 192)  # shown upright: landscape


async def test_hover_says_what_is_wrong_instead_of_a_picture(client, workspace: Path) -> None:
    test, val = workspace / "data" / "test.jsonl", workspace / "data" / "val.jsonl"
    text = await hover_text(client, open_doc(client, test), pos_of(test, 8, '"img_000309"'))
    assert "does not exist" in text and "data:image" not in text
    text = await hover_text(client, open_doc(client, val), pos_of(val, 11, '"img_000211"'))
    assert "cannot decode" in text and "truncated" in text and "data:image" not in text


async def test_hover_never_shows_a_file_outside_the_workspace(client, workspace: Path) -> None:
    outside = workspace.parent / "secret.jpg"
    Image.new("RGB", (40, 30), (255, 0, 0)).save(outside)
    (workspace / "images" / "escape.jpg").symlink_to(outside)
    path = workspace / "data" / "train.jsonl"
    uri = open_doc(client, path)
    rows = ['{"id": "x1", "image": "../secret.jpg", "label": "pug"}',
            f'{{"id": "x2", "image": "{outside}", "label": "pug"}}',
            '{"id": "x3", "image": "images/escape.jpg", "label": "pug"}']
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="\n".join(rows) + "\n")]))
    for line in range(3):
        text = await hover_text(client, uri, types.Position(line, 9))
        assert "outside the workspace" in text and "data:image" not in text and "40 × 30" not in text, text


async def test_hover_escapes_labels_and_text(client, workspace: Path) -> None:
    path = workspace / "data" / "train.jsonl"
    uri = open_doc(client, path)
    row = ('{"id": "x1", "image": "images/train/pug_0001.jpg", "label": "<img src=x onerror=alert(1)>", "bbox": [12, 87, 157, 113], '
           '"text": "[run](command:workbench.action.terminal.new) <script>alert(1)</script> **bold**\\n# heading\\n![x](https://evil.example/t.png)"}')
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)), text=row + "\n")]))
    text = await hover_text(client, uri, types.Position(0, 9))
    assert DATA_URI.search(text)  # the picture is still there: ours
    prose = outside_code(DATA_URI.sub("", text))
    for raw in ("<img", "<script", "](command:", "**bold**", "\n# heading", "![x]", "](https:"):
        assert raw not in prose, (raw, text)
    assert "&lt;script&gt;" in prose and "\\[run\\]\\(command:" in prose
    assert "`[12, 87, 157, 113] <img src=x onerror=alert(1)>`" in text  # a label in a code span is shown, never rendered


async def test_preview_setting_off_and_size(client, workspace: Path) -> None:
    path = workspace / "data" / "train.jsonl"
    uri = open_doc(client, path)
    client.set_configuration({"previewSize": 128}, section="labelsense")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"labelsense": {"previewSize": 128}}))
    assert thumbnail(await hover_text(client, uri, pos_of(path, 0, '"img_000101"'))).size == (128, 96)
    client.set_configuration({"preview": False}, section="labelsense")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"labelsense": {"preview": False}}))
    text = await hover_text(client, uri, pos_of(path, 0, '"img_000101"'))
    assert "**sample**" not in text and "data:image" not in text


async def test_hover_previews_a_parquet_view_row(client, workspace: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = workspace / "data" / "extra.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2"], "image": ["images/train/pug_0001.jpg", "images/nope.jpg"],
                             "label": ["pug", "pug"], "bbox": [[12.0, 87.0, 157.0, 113.0], [1.0, 1.0, 5.0, 5.0]]}), path)
    config = workspace / "labelsense.toml"
    config.write_text(config.read_text().replace('manifests = ["data/*.jsonl"]', 'manifests = ["data/*.jsonl", "data/*.parquet"]'))
    files_changed(client, config)
    files_changed(client, path, created=True)
    result = await client.protocol.send_request_async("labelsense/render", {"uri": path.as_uri(), "start": 0, "count": 10})
    view = result.viewUri
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(view, "jsonl", 1, result.text)))
    text = await hover_text(client, view, types.Position(0, 3))
    assert "images/train/pug\\_0001.jpg" in text or "`images/train/pug_0001.jpg`" in text
    assert thumbnail(text).size == (256, 192) and "`[12, 87, 157, 113] pug`" in text
    text = await hover_text(client, view, types.Position(1, 3))
    assert "does not exist" in text and "data:image" not in text
