"""Rows grouped by key across manifests: equal values together, whatever their Python type."""
from __future__ import annotations

from labelsense.core.config import default_config
from labelsense.core.dataset import Dataset
from labelsense.core.manifest import Manifest


def manifest(name: str, keys: list) -> Manifest:
    return Manifest(path=name, kind="jsonl", lines=list(range(len(keys))), keys=keys)


def test_key_groups_compare_values_as_the_rules_do(tmp_path) -> None:
    config = default_config(tmp_path)
    ds = Dataset(config, config.datasets[0], [manifest("a", [1, "1", True, None, [1], "x"]), manifest("b", [1.0, "1", 1, None, [1], float("nan")])])
    groups = sorted(sorted((r.manifest, r.row) for r in g) for g in ds.key_groups)
    # 1, 1.0 and 1 (int) together; "1" twice; True alone; None and NaN never; lists by their repr
    assert groups == [[(0, 0), (1, 0), (1, 2)], [(0, 1), (1, 1)], [(0, 4), (1, 4)]]


def test_rows_with_labels_by_code_and_by_value_agree(tmp_path) -> None:
    config = default_config(tmp_path)
    single = Manifest(path="a", kind="jsonl", lines=[0, 1, 2, 3, 4], labels=["cat", None, "dog", "cat", "bird"])
    mixed = Manifest(path="b", kind="jsonl", lines=[0, 1, 2, 3], labels=["cat", ["dog", "cat"], 7, None])
    ds = Dataset(config, config.datasets[0], [single, mixed])
    assert ds.label_codes(0) is not None and ds.label_codes(1) is None  # only single labels are coded
    found = [(r.manifest, r.row, i, label) for r, i, label in ds.rows_with_labels({"cat", "7", "fish"})]
    assert found == [(0, 0, None, "cat"), (0, 3, None, "cat"), (1, 0, None, "cat"), (1, 1, 1, "cat"), (1, 2, None, "7")]
    single.labels[4] = "cat"  # an edit in place, as recheck makes it
    ds.rows_replaced(0, [("bird", None)], [("cat", None)])
    assert [(r.manifest, r.row) for r, _, _ in ds.rows_with_labels({"cat"})] == [(0, 0), (0, 3), (0, 4), (1, 0), (1, 1)]
    single.labels.append("cat")  # rows added by an edit another thread is still making: the codes are stale
    assert [(r.manifest, r.row) for r, _, _ in ds.rows_with_labels({"cat"})][:4] == [(0, 0), (0, 3), (0, 4), (0, 5)]


def test_groups_keep_their_rows_as_numbers_and_spread_says_which_agree(tmp_path) -> None:
    import numpy as np
    import pyarrow as pa

    from labelsense.core.column import CodedColumn
    from labelsense.core.dataset import Groups

    config = default_config(tmp_path)
    coded = lambda values: CodedColumn(pa.chunked_array([pa.array(values, pa.string())]), {})  # noqa: E731
    a = Manifest(path="/d/train.jsonl", kind="jsonl", lines=[0, 1, 2, 3], keys=["k1", "k2", "k3", "k4"], labels=coded(["cat", "dog", "cat", None]),
                 splits=coded(["Train", None, "test", "val"]), file_split="train", fields={"split": "split"})
    b = Manifest(path="/d/test.jsonl", kind="jsonl", lines=[0, 1, 2, 3], keys=["k1", "k2", "k3", "k4"], labels=coded(["cat", "cat", "cat", None]),
                 file_split="test", fields={})
    ds = Dataset(config, config.datasets[0], [a, b])
    groups = ds.key_groups
    assert isinstance(groups, Groups) and [[(r.manifest, r.row) for r in g] for g in groups] == [[(0, i), (1, i)] for i in range(4)]
    assert groups.rows.tolist() == [0, 4, 1, 5, 2, 6, 3, 7] and groups.starts.tolist() == [0, 2, 4, 6] and groups.sizes().tolist() == [2, 2, 2, 2]
    low, high = ds.spread(groups, ds.label_numbers)
    assert (low == high).tolist() == [True, False, True, True]  # k2: dog and cat; k4: no label twice
    every = np.arange(8)
    assert ds.numbers(ds.split_numbers, every).tolist() == [0, 0, 1, 2, 1, 1, 1, 1]  # "Train" is train; no value: the file's
    assert ds.numbers(ds.label_numbers, every).tolist() == [0, 1, 0, -1, 0, 0, 0, -1]
    low, high = ds.spread(groups, ds.split_numbers, absent=False)
    assert (low < high).tolist() == [True, True, False, True]  # k3: test and test
    part = groups[1:3]
    assert isinstance(part, Groups) and part.rows.tolist() == [1, 5, 2, 6] and part.starts.tolist() == [0, 2]
    assert (np.subtract(*ds.spread(part, ds.label_numbers)) != 0).tolist() == [True, False]
    assert ds.spread(list(groups), ds.label_numbers) is None and ds.spread(groups[::2], ds.label_numbers) is None  # not Groups: look at every group
    taken = groups.take(np.array([1, 3]))
    assert [[(r.manifest, r.row) for r in g] for g in taken] == [[(0, 1), (1, 1)], [(0, 3), (1, 3)]]
    assert taken.rows.tolist() == [1, 5, 3, 7] and taken.starts.tolist() == [0, 2]
    assert (np.subtract(*ds.spread(taken, ds.label_numbers)) != 0).tolist() == [True, False]


def test_strings_of_one_hash_are_still_grouped_by_value(tmp_path, monkeypatch) -> None:
    import numpy as np

    from labelsense.core import dataset as dataset_module

    config = default_config(tmp_path)
    keys = ["b", "a", "b", "c", "a", "d"]
    collide = lambda column: (np.zeros(len(column), dtype=np.int64), None)  # noqa: E731 - every value one hash
    for hashes in (dataset_module.value_hashes, collide):
        monkeypatch.setattr(dataset_module, "value_hashes", hashes)
        ds = Dataset(config, config.datasets[0], [manifest("a", keys[:3]), manifest("b", keys[3:])])
        assert [[(r.manifest, r.row) for r in g] for g in ds.key_groups] == [[(0, 0), (0, 2)], [(0, 1), (1, 1)]]  # by first row
        assert ds.key_groups.rows.tolist() == [0, 2, 1, 4] and ds.key_groups.starts.tolist() == [0, 2]
