"""Fast JSONL row decoding: a msgspec Struct holding only the fields labelsense
reads, and — when the row schema allows — the schema's own checks.

msgspec decodes a line straight into the few fields we need (the others are
skipped, not built) and, for a sound subset of JSON Schema (types, enums,
lengths, bounds, ASCII-safe patterns, items, required, additionalProperties:
false), validates while it decodes. "Sound" means: whatever msgspec accepts,
the schema accepts. A row msgspec rejects is re-read by the exact path
(orjson + jsonschema-rs), so findings never depend on this module.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from operator import attrgetter
from typing import Annotated, Any, Callable, Literal, Optional, Union

import msgspec

ANNOTATIONS = {"title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly"}  # never change what a value may be
_STRING = {"minLength", "maxLength", "pattern"}
_NUMBER = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_ARRAY = {"items", "minItems", "maxItems"}
_REPEAT = re.compile(r"\{\d+(,\d*)?\}")
_SAFE_PATTERN = re.compile(r"^[\w\s\^\$\[\]\{\}\(\)\|\?\*\+\.\-,:/#@=!%&'\"<>~`;\\]*$")


class Untranslatable(Exception):
    """The schema uses something the fast path cannot check exactly."""


def plain_pattern(p: str) -> bool:
    """Whether every engine here (ECMA-262 in the validator, Python `re`, RE2) reads the
    pattern's brackets and braces alike: no POSIX-style `[:…:]`, `[=…=]` or `[.….]`, and
    each unescaped `{` opens a repeat count `{n}`, `{n,}` or `{n,m}` (`{ 2}` is a count to
    ECMA-262, text to the others)."""
    if any(marker in p for marker in ("[:", "[=", "[.")):
        return False
    i = 0
    while i < len(p):
        if p[i] == "\\":
            i += 2
            continue
        if p[i] == "{" and not _REPEAT.match(p, i):
            return False
        i += 1
    return True


def _pattern(p: str) -> str:
    """An ECMA-262 pattern as a Python pattern that accepts no more than the original:
    ASCII classes (`\\d`, `\\w`), and `$` as the very end of the string."""
    if not _SAFE_PATTERN.match(p) or "(?" in p or re.search(r"\\[^dwsDWS.\-\[\]\\^$(){}|?*+/]", p) or not plain_pattern(p):
        raise Untranslatable(f"pattern {p!r}")
    out, in_class, i = [], False, 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            out.append(p[i : i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "$" and not in_class:
            c = r"\Z"
        out.append(c)
        i += 1
    translated = "(?a)" + "".join(out)
    try:
        re.compile(translated)
    except re.error as exc:
        raise Untranslatable(f"pattern {p!r}: {exc}") from None
    return translated


def _type(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """The msgspec type for a subschema, or Untranslatable."""
    if depth > 20:
        raise Untranslatable("schema too deep")
    if schema is True or schema == {}:
        return Any
    if not isinstance(schema, dict):
        raise Untranslatable("boolean false schema")
    if "$ref" in schema:
        ref = schema["$ref"]
        if set(schema) - {"$ref"} - ANNOTATIONS:
            raise Untranslatable("$ref with siblings")
        for prefix in ("#/$defs/", "#/definitions/"):
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix):] in defs:
                return _type(defs[ref[len(prefix):]], defs, depth + 1)
        raise Untranslatable(f"$ref {ref!r}")
    keys = set(schema) - ANNOTATIONS
    if "enum" in schema:
        if keys - {"enum", "type"}:
            raise Untranslatable("enum with constraints")
        values = schema["enum"]
        if not values or not all(isinstance(v, str) for v in values if v is not None) or any(isinstance(v, bool) for v in values):
            raise Untranslatable("enum of non-strings")
        literal = Literal[tuple(v for v in values if v is not None)]  # type: ignore[misc]
        return Optional[literal] if None in values else literal
    types = schema.get("type")
    if types is None:
        raise Untranslatable("no type")
    types = [types] if isinstance(types, str) else list(types)
    options = []
    for t in types:
        if t == "string":
            if keys - {"type"} - _STRING:
                raise Untranslatable(f"string keywords {sorted(keys - {'type'} - _STRING)}")
            meta = {"min_length": schema.get("minLength"), "max_length": schema.get("maxLength")}
            if "pattern" in schema:
                meta["pattern"] = _pattern(schema["pattern"])
            meta = {k: v for k, v in meta.items() if v is not None}
            options.append(Annotated[str, msgspec.Meta(**meta)] if meta else str)
        elif t in ("integer", "number"):
            if keys - {"type"} - _NUMBER:
                raise Untranslatable("number keywords")
            meta = {k: schema[j] for j, k in (("minimum", "ge"), ("maximum", "le"), ("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")) if j in schema}
            base = int if t == "integer" else float
            options.append(Annotated[base, msgspec.Meta(**meta)] if meta else base)
        elif t == "boolean":
            options.append(bool)
        elif t == "null":
            options.append(None)
        elif t == "array":
            if keys - {"type"} - _ARRAY:
                raise Untranslatable("array keywords")
            item = _type(schema.get("items", True), defs, depth + 1)
            meta = {k: schema[j] for j, k in (("minItems", "min_length"), ("maxItems", "max_length")) if j in schema}
            options.append(Annotated[list[item], msgspec.Meta(**meta)] if meta else list[item])  # type: ignore[valid-type]
        else:
            raise Untranslatable(f"type {t!r}")
    if len(options) == 1:
        return options[0]
    if sum(1 for o in options if o in (int, float) or getattr(o, "__origin__", None) in (int, float)) > 1:
        raise Untranslatable("integer and number together")
    return Union[tuple(options)]  # type: ignore[return-value]


@dataclass(frozen=True)
class RowDecoder:
    """Decode one line to a struct; `getters[role]` reads a role's value from it
    (msgspec.UNSET for an absent field of a role in `optional`, else None)."""

    decode: Callable[[bytes], Any]
    getters: dict[str, Callable[[Any], Any]]
    validates: bool  # True when a successful decode means the row passed the schema
    optional: frozenset[str]  # roles whose value is msgspec.UNSET when the field is absent
    from_dict: Callable[[dict[str, Any]], Any]


def row_decoder(fields: dict[str, str | None], schema: dict[str, Any] | None) -> RowDecoder:
    """A decoder for the role `fields`; it also validates when `schema` translates soundly."""
    try:
        return _decoder(fields, schema) if schema is not None else _decoder(fields, None)
    except Untranslatable:
        return _decoder(fields, None)


def _decoder(fields: dict[str, str | None], schema: dict[str, Any] | None) -> RowDecoder:
    names = sorted({name for name in fields.values() if name})
    spec: dict[str, tuple[Any, bool]] = {name: (Any, False) for name in names}  # json name -> (type, required)
    forbid = False
    if schema is not None:
        if not isinstance(schema, dict) or schema.get("type", "object") != "object" or set(schema) - ANNOTATIONS - {
                "$schema", "$id", "type", "properties", "required", "additionalProperties", "$defs", "definitions"}:
            raise Untranslatable("top level")
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        extra = schema.get("additionalProperties", True)
        if extra not in (True, False):
            raise Untranslatable("additionalProperties schema")
        forbid = extra is False
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            t = _type(sub, defs)
            if name in names and (t is float or getattr(t, "__origin__", None) is float):
                raise Untranslatable("a role field typed number would be read back as a float")
            spec[name] = (t, name in required)
        for name in required - set(spec):
            spec[name] = (Any, True)
    attrs = {name: f"f{i}" for i, name in enumerate(spec)}
    struct_fields = [(attrs[n], t if req else (Optional[t] if t is Any else t), msgspec.NODEFAULT if req else (None if t is Any else msgspec.UNSET))
                     for n, (t, req) in spec.items()]
    struct = msgspec.defstruct("Row", struct_fields, rename={a: n for n, a in attrs.items()}, kw_only=True, forbid_unknown_fields=forbid)
    lite = msgspec.defstruct("RowRoles", [(attrs[n], Any, None) for n in names], rename={attrs[n]: n for n in names}, kw_only=True)

    getters = {role: attrgetter(attrs[name]) for role, name in fields.items() if name}
    optional = frozenset(role for role, name in fields.items() if name and spec[name][0] is not Any and not spec[name][1])
    return RowDecoder(msgspec.json.Decoder(struct).decode, getters, schema is not None, optional,
                      lambda d: msgspec.convert({n: d[n] for n in names if n in d}, lite))
