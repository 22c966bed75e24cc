"""An edit re-checked in place (recheck.py) gives exactly the findings of a fresh check
of the edited text: random same-line-count edits to the sample manifests — labels
changed, keys and contents made to collide, rows broken and mended."""
from __future__ import annotations

import gc
import random
import re
import shutil
import threading
import weakref
from pathlib import Path
from typing import NamedTuple

import pytest

from labelsense.core import session as session_module
from labelsense.core.session import Session

REPO = Path(__file__).resolve().parents[1]
CASES = ["pets/data/train.jsonl", "pets/data/val.jsonl", "reviews/data/train.jsonl", "reviews/data/annotations_round2.jsonl",
         "reviews/aspects/aspects.jsonl", "clean/data/train.jsonl", "zero-config/data/train.jsonl"]


def _mutate(rng: random.Random, lines: list[str], i: int) -> str:
    """One edit of line i, drawn from what people do to a manifest."""
    line, other = lines[i], lines[rng.randrange(len(lines))]
    values = re.findall(r'"([^"]*)"', other)
    kind = rng.choice(["label", "label", "value", "break", "copy", "case", "emoji"])
    if kind == "label":
        return re.sub(r'("label": ")([^"]*)', lambda m: m.group(1) + rng.choice(values or ["x"]), line, count=1)
    if kind == "value":  # a string value of this row becomes one from another row (a key, a path, a text)
        strings = list(re.finditer(r': "([^"]*)"', line))
        if strings and values:
            m = rng.choice(strings)
            return line[: m.start(1)] + rng.choice(values) + line[m.end(1):]
        return line
    if kind == "break":
        return line[: rng.randrange(len(line) + 1)]
    if kind == "copy":
        return other
    if kind == "case":
        return line.replace('"label": "', '"label": "X', 1)
    return line.replace('": "', '": "🐱', 1)


class Buffer:
    """An editor buffer over a list of lines (what the language server hands the session)."""

    final_newline = True

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def data(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()

    def line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    def encoded(self, first: int, count: int) -> list[bytes]:
        return [line.encode() for line in self.lines[first : first + count]]


def _facts(findings: dict[str, list]) -> list[tuple]:
    return sorted(((f.path, f.span.line, f.span.col, f.code, f.message, repr(f.span), f.severity, repr(f.related)) for items in findings.values() for f in items))


@pytest.mark.parametrize("manifest", CASES)
def test_edits_in_place_match_a_fresh_check(tmp_path: Path, manifest: str) -> None:
    root = tmp_path / "samples"
    shutil.copytree(REPO / "samples", root)
    shutil.copytree(REPO / "samples" / "pets", root / "zero-config")  # fields detected from the rows, not configured
    (root / "zero-config" / "labelsense.toml").unlink()
    dataset_root = root / manifest.split("/")[0]
    path = (root / manifest).resolve()
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    session = Session([dataset_root])
    buffer = Buffer(lines)
    session.set_overlay(path, buffer if "pets" in manifest else buffer.data())  # kept lines, or the buffer's
    found = session.dataset_for(path)
    assert found is not None
    session.analyze(*found)
    rng = random.Random(manifest)
    in_place = 0
    for step in range(60):
        i = rng.randrange(len(lines))
        lines[i] = _mutate(rng, lines, i)
        if session.edit(path, i, 1, [lines[i].encode()], buffer):
            in_place += 1
        got = session.analyze(*found)
        want = _fresh_facts(dataset_root, path, ("\n".join(lines) + "\n").encode())
        assert _facts(got.findings) == want, f"step {step}: line {i + 1} is now {lines[i]!r}"
    assert in_place >= 55  # the fast path was really taken


class Pets(NamedTuple):
    root: Path
    path: Path  # its train.jsonl
    lines: list[str]


@pytest.fixture
def pets(tmp_path: Path) -> Pets:
    """A copy of samples/pets and the lines of its train.jsonl."""
    root = tmp_path / "pets"
    shutil.copytree(REPO / "samples" / "pets", root)
    path = next(root.rglob("train.jsonl")).resolve()
    return Pets(root, path, path.read_text(encoding="utf-8").split("\n")[:-1])


def _fresh_facts(root: Path, path: Path, data: bytes) -> list[tuple]:
    """The findings of a fresh session with `data` as the text of `path`."""
    fresh = Session([root])
    fresh.set_overlay(path, data)
    return _facts(fresh.analyze(*fresh.dataset_for(path)).findings)


def _opened(session: Session, path: Path, buffer: Buffer, with_text: bool) -> object | None:
    """What the server passes along when it compares a didOpen's text with the file whole."""
    return session.verbatim_stamp(path, buffer.data().decode()) if with_text else None


@pytest.mark.parametrize("with_text", [False, True], ids=["lines compared", "text compared"])
def test_a_buffer_opened_unchanged_keeps_the_analysis(pets: Pets, with_text: bool) -> None:
    root, path, lines = pets
    session = Session([root])
    found = session.dataset_for(path)
    before = session.analyze(*found)
    session.release_file_bytes()  # as the language server does after an analysis: lines now come from the file
    manifest = next(m for m in before.dataset.manifests if m.path == str(path))
    assert manifest.raw_lines.data is None and manifest.text_of(0) == lines[0]
    buffer = Buffer(list(lines))
    session.set_overlay(path, buffer, _opened(session, path, buffer, with_text))
    assert session.analyze(*found) is before  # the same text: nothing checked again
    assert manifest.raw_lines is None and manifest.text_of == buffer.line  # spans now read the buffer
    i = next(n for n, line in enumerate(lines) if '"label": "' in line)
    buffer.lines[i] = buffer.lines[i].replace('"label": "', '"label": "X', 1)
    assert session.edit(path, i, 1, [buffer.lines[i].encode()], buffer)  # edits are re-checked in place
    assert _facts(session.analyze(*found).findings) == _fresh_facts(root, path, buffer.data())


@pytest.mark.parametrize("with_text", [False, True], ids=["lines compared", "text compared"])
def test_a_buffer_opened_with_other_text_is_checked_again(pets: Pets, with_text: bool) -> None:
    root, path, lines = pets
    session = Session([root])
    found = session.dataset_for(path)
    before = session.analyze(*found)
    for other in ([*lines[:-1], lines[-1] + " "], lines[:-1]):
        session.set_overlay(path, Buffer(other), _opened(session, path, Buffer(other), with_text))
        assert session.analyze(*found) is not before
        session.set_overlay(path, None)
        before = session.analyze(*found)


@pytest.mark.parametrize("with_text", [False, True], ids=["lines compared", "text compared"])
@pytest.mark.parametrize("same", [True, False], ids=["same text", "other text"])
def test_a_buffer_opened_while_its_file_is_read(pets: Pets, monkeypatch, same: bool, with_text: bool) -> None:
    """The same text: the analysis that was reading the file stands. Other text: it does not."""
    root, path, lines = pets
    reading, opened = threading.Event(), threading.Event()
    real = session_module.read_manifest

    def slow_read(p, *args, **kwargs):  # the analysis reads train.jsonl until the editor has opened it
        if p == path:
            reading.set()
            opened.wait(10)
        return real(p, *args, **kwargs)

    monkeypatch.setattr(session_module, "read_manifest", slow_read)
    session = Session([root])
    found = session.dataset_for(path)
    results = []
    worker = threading.Thread(target=lambda: results.append(session.analyze(*found)))
    worker.start()
    assert reading.wait(10)
    buffer = Buffer(list(lines) if same else [lines[0].replace('"label": "', '"label": "X', 1), *lines[1:]])
    session.set_overlay(path, buffer, _opened(session, path, buffer, with_text))
    opened.set()
    worker.join(10)
    got = session.analyze(*found)
    assert (got is results[0]) == same  # the same text: kept, no second check
    assert not session._late  # no analysis running: the buffers are not held for adoption any more
    assert _facts(got.findings) == _fresh_facts(root, path, buffer.data())


def test_closed_buffers_are_not_held(pets: Pets) -> None:
    root, path, lines = pets
    session = Session([root])
    found = session.dataset_for(path)
    buffer = Buffer([lines[0] + " ", *lines[1:]])
    session.set_overlay(path, buffer)
    session.analyze(*found)
    session.set_overlay(path, None)
    session.analyze(*found)
    gone = weakref.ref(buffer)
    del buffer
    gc.collect()
    assert gone() is None


def test_a_buffers_bytes_are_built_in_the_turn_of_large_steps(pets: Pets, monkeypatch) -> None:
    """Reading a large buffer makes its bytes and reads them in one turn (core/turns.py), so a
    large message is not parsed meanwhile."""
    from labelsense.core import turns

    monkeypatch.setattr(turns, "LARGE", 1)  # every step is large here
    fresh = turns.Turns()
    monkeypatch.setattr(session_module, "TURNS", fresh)
    root, path, lines = pets
    seen: list[bool] = []

    class Watched(Buffer):
        def data(self) -> bytes:
            seen.append(fresh._busy)
            return super().data()

    session = Session([root])
    session.set_overlay(path, Watched([lines[0] + " ", *lines[1:]]))
    session.analyze(*session.dataset_for(path))
    assert seen == [True]
    assert fresh.take(1, timeout=1)  # and given back


def test_an_opened_text_is_compared_with_its_file_only_when_it_could_be_adopted(pets: Pets, monkeypatch) -> None:
    root, path, lines = pets
    compared: list[Path] = []
    real = session_module.holds_text
    monkeypatch.setattr(session_module, "holds_text", lambda p, text, *a: compared.append(p) or real(p, text, *a))
    text = "\n".join(lines) + "\n"
    session = Session([root])
    assert session.verbatim_stamp(path, text) is None and compared == []  # nothing read from it yet: nothing to adopt
    session.analyze(*session.dataset_for(path))
    assert session.verbatim_stamp(path, text) is not None and compared == [path]
    assert session.verbatim_stamp(path, text + " ") is None  # other text
    assert session.verbatim_stamp(path.parent, text) is None  # not a regular file


def test_an_analysis_of_a_config_read_before_it_changed_is_not_kept(tmp_path: Path) -> None:
    """The workspace index takes the datasets, then analyses them one by one: a config edited
    in between must not leave the analysis of its old version standing as the current one."""
    (tmp_path / "data").mkdir()
    (tmp_path / "labelsense.toml").write_text('[[dataset]]\nname = "d"\nmanifests = ["data/*.jsonl"]\n')
    (tmp_path / "data" / "a.jsonl").write_text('{"id": "k", "label": "cat"}\n')
    (tmp_path / "data" / "b.csv.jsonl").write_text('{"id": "k", "label": "dog"}\n')
    session = Session([tmp_path])
    old = session.datasets()[0]
    (tmp_path / "labelsense.toml").write_text('[[dataset]]\nname = "d"\nmanifests = ["data/a.jsonl"]\n')
    session.changed(tmp_path / "labelsense.toml")
    stale = session.analyze(*old)  # started with the old config, after the change
    assert sorted(Path(f).name for f in stale.files) == ["a.jsonl", "b.csv.jsonl"]
    fresh = session.analysis_for(tmp_path / "data" / "a.jsonl")
    assert fresh is not stale and [Path(f).name for f in fresh.files] == ["a.jsonl"]
