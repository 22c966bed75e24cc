"""Config: discovery, pyproject, zero-config defaults, errors that name the key,
and the JSON Schemas kept in sync with the code."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import jsonschema
import pytest
import yaml

from labelsense.core import engine
from labelsense.core.config import ROLES, SCHEMA_DIR, DatasetConfig, RuleConfig, find_config, load_config
from labelsense.core.types import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_schemas_match_the_code() -> None:
    schema = json.loads((SCHEMA_DIR / "labelsense.schema.json").read_text())
    dataset_keys = set(schema["$defs"]["dataset"]["properties"])
    code_keys = {f.name.replace("_", "-") for f in fields(DatasetConfig) if f.name != "fields"} | set(ROLES)
    assert dataset_keys == (code_keys - {"media-root"}) | {"media_root"}
    rule_keys = set(schema["$defs"]["rules"]["properties"])
    assert rule_keys == {f.name.replace("_", "-") for f in fields(RuleConfig)}
    assert set(schema["properties"]) == {"dataset", "rules", "exclude"}
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMA_DIR / "taxonomy.schema.json").read_text()))
    assert (REPO / "schemas" / "labelsense.schema.json").read_text() == (SCHEMA_DIR / "labelsense.schema.json").read_text()


def test_sample_taxonomies_match_the_taxonomy_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "taxonomy.schema.json").read_text())
    for path in (REPO / "samples").rglob("taxonomy.yaml"):
        if "broken" not in path.parts:
            jsonschema.validate(yaml.safe_load(path.read_text()), schema)


@pytest.mark.parametrize("text, fragment", [
    ('[[dataset]]\nmanifests = ["*.jsonl"]\nlabl = "x"\n', "unknown key 'dataset[0].labl' (did you mean 'label'?)"),
    ('[rules]\nignor = ["LS1"]\n', "unknown key 'rules.ignor' (did you mean 'ignore'?)"),
    ('[rules]\nselect = ["unkown-class"]\n', "unknown rule selector 'unkown-class' (did you mean 'unknown-class'?)"),
    ('[rules]\nseverity = { LS401 = "fatal" }\n', "rules.severity.LS401: 'fatal' is not one of"),
    ('[rules]\nmin-agreement = 2\n', "rules.min-agreement: 2 is greater than the maximum of 1"),
    ('[[dataset]]\nname = "x"\n', "'manifests' is a required property"),
    ("[[dataset]\n", "invalid TOML"),
])
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "labelsense.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_pyproject_section_and_discovery_walking_up(tree) -> None:
    root = tree({
        "pyproject.toml": '[project]\nname = "x"\n\n[tool.labelsense]\n[[tool.labelsense.dataset]]\nmanifests = ["data/**/*.jsonl"]\ntaxonomy = "classes.txt"\n[tool.labelsense.rules]\nignore = ["LS402"]\n',
        "classes.txt": "# classes\ncat\ndog\n",
        "data/deep/er/train.jsonl": '{"id": "1", "label": "cat"}\n{"id": "1", "label": "cat"}\n{"id": "2", "label": "cta"}\n',
    })
    target = root / "data" / "deep" / "er" / "train.jsonl"
    assert find_config(target) == root / "pyproject.toml"
    with pytest.raises(ConfigError, match=r"tool\.labelsense\.rules\.ignore: unknown rule selector 'LS4O2'"):
        (root / "bad").mkdir()
        (root / "bad" / "pyproject.toml").write_text('[tool.labelsense.rules]\nignore = ["LS4O2"]\n')
        load_config(root / "bad" / "pyproject.toml")
    report = engine.check([target])
    assert [(f.code, f.span.line) for f in report.findings if f.severity > 1] == [("LS301", 2)]


def test_zero_config_finds_manifests_fields_and_taxonomy(tree) -> None:
    root = tree({
        "meta/taxonomy.yaml": "classes:\n  cat: {}\n  dog: {}\n",
        "a/train.jsonl": '{"id": "x", "labels": ["cat"]}\n{"id": "y", "labels": ["cow"]}\n',
        "b/test.jsonl": '{"id": "x", "labels": ["cat"]}\n',
    })
    report = engine.check([root])
    found = sorted((Path(f.path).name, f.span.line, f.code) for f in report.findings if f.severity > 1)
    assert found == [("test.jsonl", 0, "LS402"), ("test.jsonl", 0, "LS404"), ("train.jsonl", 0, "LS402"), ("train.jsonl", 0, "LS404"), ("train.jsonl", 1, "LS301")]


def test_per_file_ignores_and_severity(tree) -> None:
    root = tree({
        "labelsense.toml": '[[dataset]]\nmanifests = ["**/*.jsonl"]\ntaxonomy = "classes.txt"\n[rules]\nper-file-ignores = { "legacy/*.jsonl" = ["unknown-class"] }\nseverity = { LS3 = "info" }\n',
        "classes.txt": "cat\n",
        "legacy/old.jsonl": '{"id": "1", "label": "dog"}\n',
        "new/new.jsonl": '{"id": "2", "label": "dog"}\n',
    })
    report = engine.check([root])
    assert [(Path(f.path).name, f.code, f.severity.label) for f in report.findings if f.code == "LS301"] == [("new.jsonl", "LS301", "info")]
