"""Project configuration: `labelsense.toml` or `[tool.labelsense]` in `pyproject.toml`.

Found by walking up from a file or directory. Unknown keys, bad values and
unknown rule selectors raise `ConfigError` naming the file, the key and the
nearest valid name; nothing is silently ignored.
"""
from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema_rs

from .types import ConfigError, Severity

CONFIG_NAMES = ("labelsense.toml", "pyproject.toml")
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

ROLES = ("key", "label", "media", "text", "content", "split", "annotator", "votes", "bbox")
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "key": ("id",),
    "label": ("label", "labels"),
    "media": ("image", "audio", "path", "file"),
    "text": ("text",),
    "content": ("sha256", "md5", "hash"),
    "split": ("split",),
    "annotator": ("annotator",),
    "votes": ("annotator_labels", "votes"),
    "bbox": ("bbox",),
}


@cache
def config_schema() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "labelsense.schema.json").read_text())


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset: manifests sharing a taxonomy, a key and a label field."""

    name: str
    manifests: tuple[str, ...]
    taxonomy: str | None = None
    schema: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    media_root: str = "."
    leaves_only: bool = False
    bbox_format: str = "xywh"  # LS503: "xywh" ([x, y, width, height]) or "xyxy" ([x1, y1, x2, y2])
    bbox_normalized: bool = False  # LS503: box coordinates are fractions of the image size (0-1)
    hash_media: bool = False  # LS403/LS404: without a hash field, hash the media files' contents
    decode_media: bool = False  # LS502: decode every image in full, not just its header and end

    def field_candidates(self, role: str) -> tuple[str, ...]:
        """The configured field for `role`, else the auto-detect defaults."""
        configured = self.fields.get(role)
        return (configured,) if configured else DEFAULT_FIELDS[role]


@dataclass(frozen=True)
class RuleConfig:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_agreement: float = 0.6
    min_samples: int = 5


@dataclass(frozen=True)
class Config:
    """A loaded config; `path` is None for the zero-config defaults."""

    root: Path
    path: Path | None
    datasets: tuple[DatasetConfig, ...]
    rules: RuleConfig
    exclude: tuple[str, ...] = ()

    @property
    def display_path(self) -> str:
        return str(self.path) if self.path else "(defaults)"


def find_config(start: Path) -> Path | None:
    """The nearest labelsense.toml, or pyproject.toml with [tool.labelsense], at or above `start`."""
    here = start if start.is_dir() else start.parent
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_section(candidate)):
                return candidate
    return None


def _has_tool_section(pyproject: Path) -> bool:
    try:
        return "labelsense" in tomllib.loads(pyproject.read_text("utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_config(path: Path, text: str | None = None) -> Config:
    """Read and validate a config file (`text` overrides the file contents, e.g. an editor buffer)."""
    display = str(path)
    try:
        raw_text = text if text is not None else path.read_text("utf-8")
        data = tomllib.loads(raw_text)
    except OSError as exc:
        raise ConfigError(display, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(display, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(display, f"invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("labelsense", {})
        prefix = "tool.labelsense."
    else:
        prefix = ""
    return parse_config(data, path.resolve().parent, path, prefix)


def default_config(root: Path) -> Config:
    """Zero-config: every manifest under `root` is one dataset with auto-detected fields."""
    return Config(root=root, path=None, datasets=(DatasetConfig(name=root.name or "dataset", manifests=("**/*.jsonl", "**/*.parquet")),), rules=RuleConfig())


def jsonschema() -> ModuleType:
    """The `jsonschema` package, imported when an error needs its messages (50 ms to import)."""
    import jsonschema as module

    return module


@cache
def _config_validator() -> Any:
    return jsonschema_rs.validator_for(config_schema())


def _surely_valid(data: dict[str, Any]) -> bool:
    """Whether the compiled validator finds the config valid (then `jsonschema` need not be loaded)."""
    try:
        return bool(_config_validator().is_valid(data))
    except Exception:  # noqa: BLE001 - values JSON has no form for (TOML dates): the full check decides
        return False


def parse_config(data: dict[str, Any], root: Path, path: Path, prefix: str = "") -> Config:
    display = str(path)
    _check_keys(data, config_schema(), display, prefix)
    errors = [] if _surely_valid(data) else sorted(jsonschema().Draft202012Validator(config_schema()).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = prefix + ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(display, f"{where}: {err.message}")
    datasets = tuple(_dataset(d, i, root) for i, d in enumerate(data.get("dataset", [])))
    if not datasets:
        datasets = default_config(root).datasets
    rules_data = data.get("rules", {})
    rules = RuleConfig(
        select=tuple(rules_data.get("select", ("ALL",))),
        ignore=tuple(rules_data.get("ignore", ())),
        severity={code: Severity.parse(v) for code, v in rules_data.get("severity", {}).items()},
        per_file_ignores={k: tuple(v) for k, v in rules_data.get("per-file-ignores", {}).items()},
        min_agreement=float(rules_data.get("min-agreement", 0.6)),
        min_samples=int(rules_data.get("min-samples", 5)),
    )
    _check_selectors(rules, display, prefix)
    return Config(root=root, path=path, datasets=datasets, rules=rules, exclude=tuple(data.get("exclude", ())))


def _dataset(data: dict[str, Any], index: int, root: Path) -> DatasetConfig:
    return DatasetConfig(
        name=data.get("name", f"dataset{index + 1}"),
        manifests=tuple(data["manifests"]),
        taxonomy=data.get("taxonomy"),
        schema=data.get("schema"),
        fields={role: data[role] for role in ROLES if role in data},
        media_root=data.get("media_root", "."),
        leaves_only=bool(data.get("leaves-only", False)),
        bbox_format=data.get("bbox-format", "xywh"),
        bbox_normalized=bool(data.get("bbox-normalized", False)),
        hash_media=bool(data.get("hash-media", False)),
        decode_media=bool(data.get("decode-media", False)),
    )


def nearest(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or an empty string."""
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _check_keys(data: Any, schema: dict[str, Any], display: str, where: str) -> None:
    """Reject unknown keys anywhere, naming the nearest known key."""
    schema = _resolve(schema)
    if not isinstance(data, dict) or schema.get("additionalProperties") is not False:
        if isinstance(data, list) and "items" in schema:
            for i, item in enumerate(data):
                _check_keys(item, schema["items"], display, f"{where.rstrip('.')}[{i}].")
        return
    known = list(schema.get("properties", {}))
    for key, value in data.items():
        if key not in known:
            raise ConfigError(display, f"unknown key '{where}{key}'{nearest(key, known)}; valid keys: {', '.join(known)}")
        _check_keys(value, schema["properties"][key], display, f"{where}{key}.")


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return config_schema()["$defs"][ref.removeprefix("#/$defs/")]
    return schema


def _check_selectors(rules: RuleConfig, display: str, prefix: str) -> None:
    from .rules.registry import selector_matches_any, all_selector_words

    groups = [("select", rules.select), ("ignore", rules.ignore), ("severity", tuple(rules.severity))]
    groups += [(f"per-file-ignores.{glob}", codes) for glob, codes in rules.per_file_ignores.items()]
    for key, selectors in groups:
        for selector in selectors:
            if not selector_matches_any(selector):
                raise ConfigError(display, f"{prefix}rules.{key}: unknown rule selector '{selector}'{nearest(selector, all_selector_words())}")
