"""Arrow-backed string columns and the value hashes that group rows (core/column.py)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from labelsense.core.column import ArrowColumn, CodedColumn, string_hashes, value_hashes

WORDS = ["", "a", "ab", "abcdefgh", "abcdefghi", "é" * 9, "x" * 17, "naïve 猫", "sha256:" + "0" * 64]


def test_equal_strings_hash_equal_whatever_their_place_in_the_buffers() -> None:
    alone = {w: int(string_hashes(pa.array([w]))[0]) for w in WORDS}
    mixed = pa.array(list(reversed(WORDS)) + WORDS)
    sliced = mixed.slice(len(WORDS))  # an offset into shared buffers
    large = pa.array(WORDS, type=pa.large_string())
    assert [alone[w] for w in WORDS] == string_hashes(sliced).tolist() == string_hashes(large).tolist()
    assert string_hashes(mixed).tolist() == [alone[w] for w in reversed(WORDS)] + [alone[w] for w in WORDS]
    assert len(set(alone.values())) == len(WORDS)  # these differ (not a proof, a sanity check)


def test_one_width_strings_take_the_word_path_and_agree_with_the_general_one() -> None:
    digests = [f"{i:064x}" for i in range(1000)]
    same_width = string_hashes(pa.array(digests)).tolist()
    one_by_one = [int(string_hashes(pa.array(["", d]))[1]) for d in digests[:20]]  # "" first: not all one length
    assert same_width[:20] == one_by_one
    assert len(set(same_width)) == 1000
    for width in (1, 7, 13):  # one length, not of whole words: put together byte by byte
        ids = [f"{i:0{width}d}"[-width:] for i in range(50)]
        assert string_hashes(pa.array(ids)).tolist() == [int(string_hashes(pa.array(["", x]))[1]) for x in ids]


def test_a_string_near_the_end_of_its_buffer_is_hashed_by_its_own_bytes() -> None:
    tail = pa.array(["abcdefghij", "xyz"])  # the last 3 bytes have no whole 8-byte window
    assert int(string_hashes(tail)[1]) == int(string_hashes(pa.array(["xyz", "abcdefghij"]))[0])
    assert int(string_hashes(tail)[1]) != int(string_hashes(pa.array(["xyw"]))[0])


def test_python_lists_and_arrow_columns_hash_strings_alike() -> None:
    values = ["k1", None, "k2", "k1"]
    arrow, present = value_hashes(ArrowColumn(pa.chunked_array([pa.array(values[:2]), pa.array(values[2:])])))
    listed, listed_present = value_hashes(values)
    assert arrow[[0, 2, 3]].tolist() == listed[[0, 2, 3]].tolist()
    assert present.tolist() == listed_present.tolist() == [True, False, True, True]
    mixed, _ = value_hashes(["k1", 7, [1, 2], "k2"])  # other values: Python's hash (lists by repr)
    assert mixed[0] == listed[0] and mixed[3] == listed[2] and mixed[1] == hash(7) and mixed[2] == hash(repr([1, 2]))


def test_an_arrow_column_reads_like_a_list_and_becomes_one_when_iterated() -> None:
    values = ["a", None, "c", "d", "e"]
    col = ArrowColumn(pa.chunked_array([pa.array(values[:2]), pa.array([], pa.string()), pa.array(values[2:])]))
    assert len(col) == 5 and col[0] == "a" and col[-1] == "e" and col[1] is None and col[2:4] == ["c", "d"]
    assert None in col and col.values_at(np.array([1, 3])) == [None, "d"]
    with pytest.raises(IndexError):
        col[5]  # noqa: B018
    assert list(col) == values and col == values and col.hashes() is None  # a list from now on
    assert None not in ArrowColumn(pa.chunked_array([pa.array(["x"])]))


def test_a_coded_column_numbers_its_values_in_order_of_first_use_and_shares_them() -> None:
    pool: dict[str, str] = {}
    col = CodedColumn(pa.chunked_array([pa.array(["dog", None]), pa.array(["cat", "dog"])]), pool)
    assert col.words == ["dog", "cat"] and col.codes.tolist() == [0, -1, 1, 0]
    assert col[0] == "dog" and col[1] is None and col[-2] == "cat" and None in col
    other = CodedColumn(pa.chunked_array([pa.array(["cat"])]), pool)
    assert other[0] is col[2]  # one string object for equal values across manifests
    assert list(col) == ["dog", None, "cat", "dog"] and col.codes.tolist() == [0, -1, 1, 0]  # a list as well, the numbers kept


def test_a_coded_column_takes_dictionary_chunks_each_with_its_own_dictionary() -> None:
    chunks = [pa.array(["b", None, "a"]).dictionary_encode(), pa.array(["c", "a"]).dictionary_encode()]
    col = CodedColumn(pa.chunked_array(chunks), {})
    assert [col[i] for i in range(5)] == ["b", None, "a", "c", "a"] and sorted(col.words) == ["a", "b", "c"]


def test_columns_made_into_lists_by_several_threads_at_once_read_the_same_throughout() -> None:
    import threading

    values = [f"v{i % 7}" if i % 5 else None for i in range(200_000)]
    for make in (lambda: ArrowColumn(pa.chunked_array([pa.array(values[:99_999]), pa.array(values[99_999:])])),
                 lambda: CodedColumn(pa.chunked_array([pa.array(values)]), {})):
        col, failures = make(), []

        def use() -> None:
            try:
                for i in range(0, 200_000, 997):
                    assert col[i] == values[i]
                assert col.tolist() == values
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=use) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == [] and list(col) == values


def test_a_column_the_manifest_lacks_is_none_in_every_row_without_a_list() -> None:
    from labelsense.core.column import NullColumn

    column = NullColumn(3)
    assert len(column) == 3 and column[0] is None and column[-1] is None and None in column and column._all is None
    with pytest.raises(IndexError):
        column[3]
    assert column[1:] == [None, None] and list(column) == [None] * 3 and column == [None] * 3
    assert None not in NullColumn(0)
