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
