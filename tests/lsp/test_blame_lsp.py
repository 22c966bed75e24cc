"""Label blame in the editor: hover, inlay hints and the labelsense.labelHistory
command, on a workspace that is a real git repository with several authors."""
from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types

from .helpers import open_doc

TAXONOMY = "version: 1\nclasses:\n  cat: {}\n  lynx: {}\n  tiger: {}\n  dog: {}\n  wolf: {}\n"
CONFIG = '[[dataset]]\nname = "zoo"\nmanifests = ["data/*.jsonl"]\ntaxonomy = "taxonomy.yaml"\nkey = "id"\nlabel = "label"\n'
ROWS = [("z1", "cat"), ("z2", "cat"), ("z3", "dog")]
SNEAKY = ("Eve_*the*_[hacker](command:x)", "eve@example.net")


def _jsonl(rows: list[tuple[str, str]]) -> str:
    return "".join(f'{{"id": "{k}", "label": "{v}"}}\n' for k, v in rows)


def _git(root: Path, *args: str, who: tuple[str, str] = ("Alice Smith", "alice@example.com"), day: int = 1) -> str:
    date = f"2024-01-{day:02d}T10:00:00+00:00"
    env = dict(os.environ, GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_AUTHOR_DATE=date,
               GIT_COMMITTER_NAME=who[0], GIT_COMMITTER_EMAIL=who[1], GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository: import by Alice, z2 relabelled by Bob, z3 by someone with a markdown name."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # inherited by the server process
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    root = tmp_path / "zoo"
    (root / "data").mkdir(parents=True)
    (root / "labelsense.toml").write_text(CONFIG)
    (root / "taxonomy.yaml").write_text(TAXONOMY)
    train = root / "data" / "train.jsonl"
    train.write_text(_jsonl(ROWS))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "import the zoo")
    train.write_text(_jsonl([("z1", "cat"), ("z2", "lynx"), ("z3", "dog")]))
    _git(root, "commit", "-q", "-am", "z2 is a lynx", who=("Bob Jones", "bob@example.org"), day=2)
    train.write_text(_jsonl([("z1", "cat"), ("z2", "lynx"), ("z3", "wolf")]))
    _git(root, "commit", "-q", "-am", "z3: <b>wolf</b> *really*", who=SNEAKY, day=3)
    return root


async def _hover(client, uri: str, line: int, col: int = 2) -> str:
    result = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, col)))
    assert result is not None
    return result.contents.value


async def test_hover_on_a_row_shows_the_last_label_change(client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    text = await _hover(client, uri, 1)
    assert "Label last changed" in text and "Bob Jones" in text and "z2 is a lynx" in text
    assert "previous: cat → lynx" in text
    text = await _hover(client, uri, 0, col=25)  # on the label value: the class hover and the blame
    assert "**class**" in text and "import the zoo" in text and "(row added)" in text
    window = client.capabilities.window if client.capabilities else None
    if window and window.work_done_progress:  # the history was read in the background, with progress
        for _ in range(50):
            titles = [getattr(r, "title", None) for reports in client.progress_reports.values() for r in reports]
            if "labelsense: label history" in titles and any(getattr(r, "kind", "") == "end" for reports in client.progress_reports.values()
                                                             for r in reports if reports and getattr(reports[0], "title", "") == "labelsense: label history"):
                break
            await asyncio.sleep(0.1)
        assert "labelsense: label history" in titles


async def test_hover_escapes_git_text(client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    text = await _hover(client, uri, 2)
    assert "Eve\\_\\*the\\*\\_\\[hacker\\]\\(command:x\\)" in text
    assert "&lt;b&gt;wolf&lt;/b&gt; \\*really\\*" in text
    assert "<b>" not in text and "](command:" not in text


def relabel_first_row(client, uri: str) -> None:  # noqa: ANN001
    """Edit the buffer (unsaved): row z1's label 'cat' becomes 'tiger'."""
    start = '{"id": "z1", "label": "cat"}'.index('"cat"')
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, start), types.Position(0, start + 5)), text='"tiger"')]))


async def test_hover_on_an_unsaved_edit_says_not_committed_yet(client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    relabel_first_row(client, uri)
    text = await _hover(client, uri, 0)
    assert "not committed yet" in text and "unsaved changes" in text and "cat → tiger" in text
    assert "Bob Jones" in await _hover(client, uri, 1)  # other rows keep their commits



async def test_hover_on_a_saved_edit_says_uncommitted_in_the_working_tree(client, workspace: Path) -> None:
    train = workspace / "data" / "train.jsonl"
    uri = open_doc(client, train)
    relabel_first_row(client, uri)
    text = await _hover(client, uri, 0)
    assert "unsaved changes in the editor" in text
    train.write_text(_jsonl([("z1", "tiger"), ("z2", "lynx"), ("z3", "wolf")]))  # the editor saves the buffer
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
    text = await _hover(client, uri, 0)
    assert "not committed yet" in text and "uncommitted changes in the working tree" in text and "cat → tiger" in text
    assert "unsaved" not in text
    assert "Bob Jones" in await _hover(client, uri, 1)


async def test_label_history_command(client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "data" / "train.jsonl")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="labelsense.labelHistory", arguments=[uri, 1]))
    assert [(c["summary"], c["author"], c["previous"], c["labels"], c["committed"]) for c in result] == [
        ("z2 is a lynx", "Bob Jones", [["cat"]], [["lynx"]], True), ("import the zoo", "Alice Smith", [], [["cat"]], True)]
    assert result[0]["date"] == "2024-01-02T10:00:00+00:00" and len(result[0]["commit"]) == 40
    with pytest.raises(Exception):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="labelsense.labelHistory", arguments=[uri, 99]))


async def test_inlay_hints_are_off_by_default_and_follow_the_setting(client, workspace: Path) -> None:
    refreshes: list[None] = []

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params: None) -> None:  # clients that support it re-request hints when asked
        refreshes.append(params)

    uri = open_doc(client, workspace / "data" / "train.jsonl")
    everything = types.Range(types.Position(0, 0), types.Position(3, 0))
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(types.TextDocumentIdentifier(uri), everything))
    assert not hints
    client.set_configuration({"maxDiagnosticsPerFile": 1000, "inlayHints": True}, section="labelsense")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"labelsense": {"inlayHints": True}}))
    for _ in range(100):  # the first request starts the indexer; hints appear as the history is read
        hints = await client.text_document_inlay_hint_async(types.InlayHintParams(types.TextDocumentIdentifier(uri), everything))
        if hints and len(hints) == 3:
            break
        await asyncio.sleep(0.1)
    assert [h.position.line for h in hints] == [0, 1, 2]
    assert hints[0].label.startswith("Alice Smith, ") and hints[1].label.startswith("Bob Jones, ") and hints[1].label.endswith(" ago")
    assert hints[0].position.character == len('{"id": "z1", "label": "cat"}')
