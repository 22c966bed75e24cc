"""Editor settings (initializationOptions / workspace/configuration section
`labelsense`). Invalid values are reported by name and replaced by defaults."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..core.config import nearest
from ..core.rules.registry import selector_matches_any

KEYS = ("select", "ignore", "maxDiagnosticsPerFile", "inlayHints", "preview", "previewSize")
PREVIEW_SIZES = (32, 1024)


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the project config decides
    ignore: tuple[str, ...] = ()
    max_diagnostics: int = 1000
    inlay_hints: bool = False
    preview: bool = True
    preview_size: int = 256  # longest side of hover thumbnails, pixels


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from a client's JSON, and a message per invalid entry (defaults used for those)."""
    settings, problems = Settings(), []
    if raw is None:
        return settings, problems
    if not isinstance(raw, dict):
        return settings, [f"labelsense settings must be an object, got {type(raw).__name__}; defaults used"]
    for key, value in raw.items():
        if key not in KEYS:
            problems.append(f"unknown labelsense setting '{key}'{nearest(key, list(KEYS))}; ignored")
            continue
        if key in ("select", "ignore"):
            if value is None and key == "select":
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"labelsense.{key} must be a list of rule selectors; default used")
                continue
            bad = [v for v in value if not selector_matches_any(v)]
            if bad:
                problems.append(f"labelsense.{key}: unknown rule selector '{bad[0]}'; default used")
                continue
            settings = replace(settings, **{key: tuple(value)})
        elif key == "maxDiagnosticsPerFile":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"labelsense.maxDiagnosticsPerFile must be a positive integer, got {value!r}; default {settings.max_diagnostics} used")
                continue
            settings = replace(settings, max_diagnostics=value)
        elif key == "previewSize":
            lo, hi = PREVIEW_SIZES
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                problems.append(f"labelsense.previewSize must be an integer from {lo} to {hi}, got {value!r}; default {settings.preview_size} used")
                continue
            settings = replace(settings, preview_size=value)
        else:
            if not isinstance(value, bool):
                problems.append(f"labelsense.{key} must be true or false, got {value!r}; default used")
                continue
            settings = replace(settings, **{"inlay_hints" if key == "inlayHints" else "preview": value})
    return settings, problems
