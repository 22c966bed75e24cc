"""FileLines splits like `data.split(b"\\n")` (a final newline ends the last line), in pieces."""
from __future__ import annotations

import random

import pytest

from labelsense.core import filelines
from labelsense.core.filelines import FileLines


def expected(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


CASES = [b"a\nb\n", b"a\nb", b"\n\n", b"x", b"a\r\nb\r\n\r\n", b"\n", "é\n😀\nz".encode(), b"a" * 50 + b"\n" + b"b" * 3 + b"\n"]


@pytest.mark.parametrize("piece", [1, 2, 7, 64, 1 << 20])
def test_lines_and_pieces_match_split(monkeypatch, piece) -> None:
    monkeypatch.setattr(filelines, "PIECE", piece)
    rng = random.Random(piece)
    cases = CASES + [bytes(rng.choice(b"ab\n\r") for _ in range(rng.randrange(1, 80))) for _ in range(200)]
    for data in cases:
        store = FileLines(data)
        pieced = [line for part in store.pieces() for line in part]
        assert pieced == expected(data), data
        assert [store[i] for i in range(len(store))] == expected(data), data


def test_replaced_lines_are_read_first() -> None:
    store = FileLines(b'{"a": 1}\n{"b": 2}\n{"c": 3}\n')
    list(store.pieces())
    store.replace(1, [b'{"b": 20}'])
    assert [store.text(i) for i in range(len(store))] == ['{"a": 1}', '{"b": 20}', '{"c": 3}']


@pytest.mark.parametrize("lines, final, same", [
    (["a", "é", ""], True, False), (["a", "é"], True, True), (["a", "é"], False, False), (["a", "e"], True, False), (["a"], True, False)])
def test_matches_a_buffer_only_with_the_same_text(lines, final, same) -> None:
    store = FileLines("a\né\n".encode())
    list(store.pieces())
    encoded = lambda first, count: [line.encode() for line in lines[first : first + count]]  # noqa: E731
    assert store.matches(encoded, len(lines), final) is same


@pytest.mark.parametrize("text, same", [
    ("a\né\n😀\n", True), ("a\né\n😀", False), ("a\né\n😀\n\n", False), ("a\ne\n😀\n", False), ("", False),
    ("a\né\n\ud83d\n", False)])  # the last one: a lone surrogate, which no file holds
@pytest.mark.parametrize("piece", [1, 2, 3, 1 << 20])
def test_holds_text_only_for_the_file_text(tmp_path, text, same, piece) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes("a\né\n😀\n".encode())
    assert filelines.holds_text(path, text, piece) is same
    assert filelines.holds_text(tmp_path / "gone.jsonl", text, piece) is False


def test_released_lines_are_read_from_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(filelines, "MAX_OPEN", 2)  # more stores than open files: some are closed and reopened
    stores = []
    for n in range(5):
        path = tmp_path / f"{n}.jsonl"
        data = "".join(f'{{"id": {i}, "n": {n}, "s": "é"}}\n' for i in range(50)).encode()
        path.write_bytes(data)
        store = FileLines(data)
        list(store.pieces())
        store.release(path)
        stores.append((store, data))
    for _ in range(2):
        for store, data in stores:
            assert store.data is None
            assert [store[i] for i in range(len(store))] == expected(data)
            assert store.matches(lambda first, count, d=data: expected(d)[first : first + count], 50, True)
            assert not store.matches(lambda first, count, d=data: expected(d)[first : first + count], 50, False)
    (tmp_path / "0.jsonl").unlink()
    stores[0][0]._close()
    assert stores[0][0].text(3) == ""  # the file is gone: an empty line, not an error


def test_released_lines_after_a_byte_order_mark(tmp_path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a"}\n{"id": "b"}\n')
    data = path.read_bytes()
    store = FileLines(data[3:], base=3)  # as read_jsonl keeps it: the BOM reported, then trimmed
    list(store.pieces())
    before = [store.text(i) for i in range(len(store))]
    store.release(path)
    assert [store.text(i) for i in range(len(store))] == before == ['{"id": "a"}', '{"id": "b"}']
