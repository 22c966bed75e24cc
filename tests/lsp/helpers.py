"""Helpers for the language-server tests."""
from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient


def open_doc(client: LanguageClient, path: Path, language: str = "jsonl") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, path.read_text("utf-8"))))
    return uri


def files_changed(client: LanguageClient, *paths: Path, created: bool = False) -> None:
    """Tell the server files changed on disk, as the editor's file watcher does (the server
    indexes the workspace from start-up and re-reads only what it is told changed)."""
    kind = types.FileChangeType.Created if created else types.FileChangeType.Changed
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(p.as_uri(), kind) for p in paths]))


def pulls(client: LanguageClient) -> bool:
    caps = client.capabilities.text_document if client.capabilities else None
    return bool(caps and caps.diagnostic)


async def diagnostics(client: LanguageClient, uri: str, timeout: float = 30) -> list[types.Diagnostic]:
    """Diagnostics for a document, by pull or by waiting for a push, whichever the client profile does."""
    if pulls(client):
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri)))
        return list(report.items)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if uri in client.diagnostics and client.diagnostics[uri]:
            return list(client.diagnostics[uri])
        await asyncio.sleep(0.05)
    return list(client.diagnostics.get(uri, []))


async def wait_for(client: LanguageClient, uri: str, predicate, timeout: float = 30) -> list[types.Diagnostic]:
    """Poll diagnostics until `predicate(items)` holds (or time out and return the last)."""
    deadline = asyncio.get_running_loop().time() + timeout
    items: list[types.Diagnostic] = []
    while asyncio.get_running_loop().time() < deadline:
        items = await diagnostics(client, uri, timeout=1)
        if predicate(items):
            return items
        await asyncio.sleep(0.05)
    return items


def type_new_line(client: LanguageClient, uri: str, path: Path, text: str) -> types.Position:
    """Type `text` as a new last line of the open document (unsaved); the position after it."""
    n = len(path.read_text("utf-8").split("\n")) - 1
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(n, 0), types.Position(n, 0)), text=text)]))
    return types.Position(n, len(text))
