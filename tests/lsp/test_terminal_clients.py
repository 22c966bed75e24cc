"""What terminal-editor clients need (found with the real ones in tests/e2e/test_terminal_editors.py):

- Eglot and ALE drop a publishDiagnostics for a file they do not have open; when
  the user opens that file later the server must publish its diagnostics again.
- ALE, and Eglot without markdown-mode, list only "plaintext" as their hover
  content format: they get plain text, not markdown shown raw (`\\.`, `**`).
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from labelsense.lsp import markdown as md

from .helpers import files_changed, open_doc, pulls, wait_for
from .test_navigation import pos_of


async def test_a_manifest_opened_after_indexing_gets_its_diagnostics_pushed_again(client, workspace: Path) -> None:
    if pulls(client):
        pytest.skip("a pull client asks for each open file's diagnostics itself")
    train = open_doc(client, workspace / "data" / "train.jsonl")
    await wait_for(client, train, lambda ds: any(d.code == "LS401" for d in ds))
    val = (workspace / "data" / "val.jsonl").as_uri()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not client.diagnostics.get(val) and loop.time() < deadline:  # published by the index, file not open
        await asyncio.sleep(0.05)
    assert any(d.code == "LS401" for d in client.diagnostics.get(val, []))
    del client.diagnostics[val]  # what Eglot and ALE do: nothing kept for a file that is not open

    open_doc(client, workspace / "data" / "val.jsonl")
    items = await wait_for(client, val, lambda ds: any(d.code == "LS401" for d in ds), timeout=10)
    assert any(d.code == "LS401" and d.range.start.line == 5 for d in items)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "labelsense", "serve"]))
async def plain_client(lsp_client: LanguageClient, workspace: Path):
    """A client that renders no markdown (ALE; Eglot without markdown-mode)."""
    capabilities = client_capabilities("emacs")
    capabilities.text_document.hover.content_format = [types.MarkupKind.PlainText]

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:  # accept the server's file watcher
        pass

    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities, workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="pets")]))
    yield
    await lsp_client.shutdown_session()


async def test_hover_is_plain_text_for_a_client_without_markdown(plain_client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    tax.write_text(tax.read_text().replace("description: Pug.", 'description: "Pug <b>small</b> & **flat** face_1."'))
    files_changed(plain_client, tax)
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(plain_client, train)
    await wait_for(plain_client, uri, lambda ds: any(d.code == "LS301" for d in ds))
    persian = await plain_client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos_of(train, 2, '"persian"')))
    assert persian.contents.kind == types.MarkupKind.PlainText
    text = persian.contents.value
    assert text.startswith("class persian\n") and "\nPersian cat; long coat, flat face.\n" in text
    assert "Hierarchy: animal › cat › persian" in text
    assert not any(c in text for c in "\\`*")
    line = next(i for i, l in enumerate(train.read_text().split("\n")) if '"label": "pug"' in l)
    pug = await plain_client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos_of(train, line, '"pug"')))
    assert "Pug <b>small</b> & **flat** face_1." in pug.contents.value  # dataset text as it is: plain text renders nothing


def test_plain_undoes_exactly_the_markdown_of_hovers() -> None:
    text = "**class** " + md.code("be`ngal") + "\n\n" + md.escape("a <b> & *x* [run](command:x) img_1.  ") + "\n\n" + md.code("`x`")
    text += "\n\n![preview](data:image/png;base64,AAAA)\n\n**Box**: " + md.code("[1, 2, 3, 4] cat")
    assert md.plain(text) == "class be`ngal\n\na <b> & *x* [run](command:x) img_1.\n\n`x`\n\nBox: [1, 2, 3, 4] cat"
