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
