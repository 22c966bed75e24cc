"""Workspace commands as editors send them: the code lens's `labelsense.showReferences`
with JSON arguments (a URI and a {line, character} position), and `labelsense.reindex`,
which indexes again with a fresh work-done progress token."""
from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from .helpers import open_doc
from .test_navigation import pos_of


async def test_show_references_command_takes_json_arguments(client, workspace: Path) -> None:
    tax = workspace / "taxonomy.yaml"
    uri = open_doc(client, tax, "yaml")
    position = pos_of(tax, 24, "maine_coon")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="labelsense.showReferences", arguments=[uri, {"line": position.line, "character": position.character}]))
    references = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri), position=position, context=types.ReferenceContext(include_declaration=False)))
    assert len(references) == 5
    assert sorted((r["uri"], r["range"]["start"]["line"]) for r in result) == sorted((r.uri, r.range.start.line) for r in references)


async def test_reindex_reports_progress_again(client, workspace: Path) -> None:
    def ended() -> list[object]:
        return [token for token, reports in client.progress_reports.items()
                if any(getattr(r, "kind", "") == "end" and "indexed" in (getattr(r, "message", "") or "") for r in reports)]

    async def wait_for_ends(n: int) -> None:
        for _ in range(300):
            if len(ended()) >= n:
                return
            await asyncio.sleep(0.05)

    if not (client.capabilities.window and client.capabilities.window.work_done_progress):
        return  # this client profile shows no progress
    await wait_for_ends(1)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="labelsense.reindex", arguments=[]))
    await wait_for_ends(2)
    assert len(ended()) == 2  # two runs, two tokens (pygls never forgets a token it created)
