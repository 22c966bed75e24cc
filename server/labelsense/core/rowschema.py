"""The optional JSON Schema for one manifest row, compiled once (jsonschema-rs).

A schema that is not valid JSON, not a valid schema, or that names a remote
`$ref` is reported (LS201 on the schema file) and not used; nothing is ever
fetched. Arrow tables (Parquet, and JSONL read whole) against a schema of the
common shape (an object with `properties`, `required`, `additionalProperties`)
are checked column by column: Arrow compute screens simple keywords, and each
column's remaining values go to the validator in one call rather than one per row.
"""
from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jsonschema_rs
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .column import dictionary_codes, take
from .config import jsonschema
from .rowtype import ANNOTATIONS, plain_pattern
from .types import Problem, Span

ErrorList = list[tuple[list[str | int], str]]
_WORKER = ThreadPoolExecutor(1, thread_name_prefix="labelsense-schema")
_COLUMNAR_KEYS = {"$schema", "$id", "title", "description", "type", "properties", "required", "additionalProperties", "$defs", "definitions", "$comment"}


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"remote $ref '{uri}' is not fetched")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@dataclass
class RowSchema:
    """A compiled row schema, or the problems that kept it from compiling."""

    path: str
    schema: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    _validator: Any = None

    @classmethod
    def load(cls, path: Path) -> "RowSchema":
        result = cls(path=str(path))
        try:
            schema = orjson.loads(path.read_bytes())
        except OSError as exc:
            result.problems.append(Problem("LS201", Span(0, 0, 0, 0), f"cannot read row schema: {exc.strerror or exc}"))
            return result
        except orjson.JSONDecodeError as exc:
            result.problems.append(Problem("LS201", Span(max(exc.lineno - 1, 0), max(exc.colno - 1, 0), max(exc.lineno - 1, 0), exc.colno), f"row schema is not valid JSON: {exc.msg}"))
            return result
        remote = [r for r in _refs(schema) if not r.startswith("#")]
        if remote:
            result.problems.append(Problem("LS201", Span(0, 0, 0, 0), f"row schema has a remote $ref '{remote[0]}': remote references are never fetched; the schema is not used"))
            return result
        if not isinstance(schema, (dict, bool)):
            result.problems.append(Problem("LS201", Span(0, 0, 0, 0), "row schema must be a JSON object"))
            return result
        meta_error = _meta_error(schema)
        if meta_error:
            result.problems.append(Problem("LS201", Span(0, 0, 0, 0), f"row schema is not a valid JSON Schema: {meta_error}"))
            return result
        try:
            result._validator = jsonschema_rs.validator_for(schema, retriever=_refuse_remote)
        except Exception as exc:  # jsonschema-rs raises ValueError / ReferencingError subclasses
            result.problems.append(Problem("LS201", Span(0, 0, 0, 0), f"row schema cannot be compiled: {exc}"))
            return result
        result.schema = schema if isinstance(schema, dict) else {}
        return result

    @property
    def usable(self) -> bool:
        return self._validator is not None

    def is_valid(self, row: Any) -> bool:
        try:
            return bool(self._validator.is_valid(row))
        except ValueError:  # nested too deeply for the validator
            return False

    def errors(self, row: Any) -> ErrorList:
        try:
            return [(list(e.instance_path), e.message) for e in self._validator.iter_errors(row)]
        except ValueError as exc:  # the validator's recursion limit, say
            return [([], f"row cannot be checked against the row schema: {exc}")]

    def table_errors(self, table: pa.Table) -> dict[int, ErrorList]:
        """Errors by row index for a whole Arrow table (a null is an absent field): column by
        column when the schema splits that way (see `column_errors`), else row by row."""
        found = self.column_errors(table)
        return found if found is not None else self._rowwise(table)

    def table_errors_later(self, table: pa.Table, columnar_only: bool = False) -> Future:
        """`table_errors` (or, with `columnar_only`, `column_errors`) computed on a worker thread:
        Arrow compute lets go of the GIL, so a reader can turn columns into Python values meanwhile."""
        return _WORKER.submit(self.column_errors if columnar_only else self.table_errors, table)

    def reads_column(self, name: str, arrow_type: pa.DataType) -> bool:
        """Whether checking a table needs the values of its column `name` (of `arrow_type`):
        not when the schema splits by column, the column is not required, and every non-null
        value of that type satisfies what the schema says of it (a null is an absent field)."""
        if not self.usable or not self.columnar:
            return True
        assert self.schema is not None
        if name in self.schema.get("required", []):
            return True
        sub = self.schema.get("properties", {}).get(name, self.schema.get("additionalProperties", True))
        return sub is not True and not (isinstance(sub, dict) and set(sub) <= ANNOTATIONS | {"type"} and isinstance(sub.get("type"), str)
                                        and not pa.types.is_floating(arrow_type) and _arrow_is(arrow_type, sub["type"]))  # (NaN is no JSON number)

    @property
    def columnar(self) -> bool:
        """Whether the schema splits by column: an object's properties, `required` and
        `additionalProperties`, with `$ref`s only into `$defs` (see `column_errors`)."""
        return bool(self.schema) and set(self.schema) <= _COLUMNAR_KEYS and self.schema.get("type", "object") == "object" \
            and all(r.startswith(("#/$defs/", "#/definitions/")) for r in _refs(self.schema))

    def column_errors(self, table: pa.Table) -> dict[int, ErrorList] | None:
        """Errors by row index, checked column by column (a null is an absent field); None when
        the schema does not split by column (`columnar`) or a column takes a shape it cannot check."""
        if not self.columnar:
            return None
        try:
            return self._columnar(table)
        except Exception:  # noqa: BLE001 - a shape the column path cannot take (draft keywords, duplicate columns)
            return None

    def _rowwise(self, table: pa.Table) -> dict[int, ErrorList]:
        out: dict[int, ErrorList] = {}
        offset = 0
        for batch in table.to_batches(max_chunksize=65536):
            for i, row in enumerate(batch.to_pylist()):
                row = {k: v for k, v in row.items() if v is not None}
                if not self.is_valid(row):
                    out[offset + i] = self.errors(row)
            offset += batch.num_rows
        return out

    def _columnar(self, table: pa.Table) -> dict[int, ErrorList]:
        assert self.schema is not None
        props: dict[str, Any] = self.schema.get("properties", {})
        extra = self.schema.get("additionalProperties", True)
        defs = {k: self.schema[k] for k in ("$schema", "$defs", "definitions") if k in self.schema}  # the wrappers keep the draft
        out: dict[int, ErrorList] = {}

        def add(rows: Any, path: list[str | int], message: str) -> None:
            for r in rows:
                out.setdefault(int(r), []).append((path, message))

        for name in self.schema.get("required", []):
            if name not in table.column_names:
                add(range(table.num_rows), [], f'"{name}" is a required property')
            else:
                col = table.column(name)
                if col.null_count:
                    add(pc.indices_nonzero(pc.is_null(col)).to_pylist(), [], f'"{name}" is a required property')
        for name in table.column_names:
            sub = props.get(name, extra)
            if sub is True:
                continue
            col = table.column(name)
            if sub is False:
                add(pc.indices_nonzero(pc.is_valid(col)).to_pylist(), [], f'Additional properties are not allowed (\'{name}\' was unexpected)')
                continue
            for row, path, message in _column_errors(name, col, sub, defs):
                out.setdefault(row, []).append((path, message))
        return out


def _column_errors(name: str, col: pa.ChunkedArray, sub: Any, defs: dict[str, Any]) -> Iterator[tuple[int, list[str | int], str]]:
    """(row, path, message) for the present values of one column that break `sub`.

    When Arrow can tell which values may fail (see `_suspects`), only those become
    Python values; otherwise all of them go to jsonschema-rs as one array (one call,
    not one per row)."""
    if pa.types.is_dictionary(col.type):  # each distinct value checked once, its errors given to its rows
        yield from _dictionary_errors(name, col, sub, defs)
        return
    rows: list[int] | None = None  # row of each present value, when some are absent
    if col.null_count:
        rows = pc.indices_nonzero(pc.is_valid(col)).to_pylist()
        col = col.drop_null()
    if pa.types.is_temporal(col.type):
        col = col.cast(pa.string())  # as a JSON export writes them
    suspects = _suspects(col, sub)
    if suspects is not None:
        single = jsonschema_rs.validator_for({**defs, **sub}, retriever=_refuse_remote)
        values = take(col, suspects)
        found = [(i, list(e.instance_path), e.message) for i, v in zip(suspects, values) for e in single.iter_errors(v)]
    else:
        values = col.to_pylist()
        checker = jsonschema_rs.validator_for({**defs, "type": "array", "items": sub}, retriever=_refuse_remote)
        try:
            if checker.is_valid(values):
                return
            found = [(e.instance_path[0], list(e.instance_path[1:]), e.message) for e in checker.iter_errors(values)]
        except ValueError as exc:  # a value JSON has no form for (bytes)
            yield (rows[0] if rows else 0), [name], f"column of type {col.type} cannot be checked against the row schema: {exc}"
            return
    for i, path, message in found:
        yield (rows[i] if rows is not None else i), [name, *path], message


def _dictionary_errors(name: str, col: pa.ChunkedArray, sub: Any, defs: dict[str, Any]) -> Iterator[tuple[int, list[str | int], str]]:
    """`_column_errors` of a dictionary-encoded column: of its distinct values, then of their rows."""
    col = col.unify_dictionaries()
    chunks = [c for c in col.chunks if len(c)]
    if not chunks:
        return
    failed: dict[int, list[tuple[list[str | int], str]]] = {}
    for i, path, message in _column_errors(name, pa.chunked_array([chunks[-1].dictionary]), sub, defs):
        failed.setdefault(i, []).append((path, message))
    if not failed:
        return
    codes = dictionary_codes(chunks)
    for row in np.flatnonzero(np.isin(codes, list(failed))).tolist():
        for path, message in failed[int(codes[row])]:
            yield row, path, message


def _suspects(col: pa.ChunkedArray, sub: Any) -> list[int] | None:
    """The only values of `col` (no nulls) that can break `sub`, found with Arrow compute,
    for two common shapes: a string column under `type: string` (or no type) with lengths,
    an enum or a pattern (see `_screenable`),
    and a list column whose Arrow item type proves `items: {type: T}`, under min/maxItems.
    None for any other shape (then every value is checked)."""
    if not isinstance(sub, dict) or any(k not in ANNOTATIONS | {"type", "enum", "minLength", "maxLength", "pattern", "items", "minItems", "maxItems"} for k in sub):
        return None
    kind = sub.get("type")
    # a string column: `type: string`, or no type at all (string keywords apply to strings only)
    if kind in ("string", None) and _arrow_is(col.type, "string") and not set(sub) & {"items", "minItems", "maxItems"}:
        measure, low, high = pc.utf8_length, sub.get("minLength"), sub.get("maxLength")
        masks = [pc.invert(pc.is_in(col, value_set=pa.array([v for v in sub["enum"] if isinstance(v, str)], type=col.type)))] if "enum" in sub else []
        if "pattern" in sub:
            if not _screenable(sub["pattern"]):
                return None
            try:
                masks.append(pc.invert(pc.match_substring_regex(col, sub["pattern"])))
            except pa.ArrowException:  # RE2 cannot take it (a backreference, a large repeat)
                return None
    elif kind == "array" and (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)) and not set(sub) & {"enum", "minLength", "maxLength"}:
        items = sub.get("items", True)
        if items is not True:
            if not (isinstance(items, dict) and set(items) == {"type"} and isinstance(items["type"], str)):
                return None
            flat = pc.list_flatten(col)
            if flat.null_count or not _arrow_is(flat.type, items["type"]):
                return None
            if pa.types.is_floating(flat.type) and len(flat) and not pc.all(pc.is_finite(flat)).as_py():
                return None  # NaN and infinities have no JSON form: the validator decides
        measure, low, high, masks = pc.list_value_length, sub.get("minItems"), sub.get("maxItems"), []
    else:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (low, high)):
        return None
    if low is not None or high is not None:  # lengths measured only when bounded (a 1M-row column: 0.04 s)
        lengths = measure(col)
        masks += [pc.less(lengths, low)] if low is not None else []
        masks += [pc.greater(lengths, high)] if high is not None else []
    if not masks:
        return []
    mask = masks[0]
    for other in masks[1:]:
        mask = pc.or_(mask, other)
    return pc.indices_nonzero(mask).to_pylist()


_POSITIVE_PATTERN = re.compile(r"(?:\\[dws\-\[\]\\^$(){}|?*+./]|[^\\.])*")


def _screenable(pattern: Any) -> bool:
    """Whether a `pattern` matched by Arrow (RE2) is surely matched by the validator too: ASCII,
    plain (`rowtype.plain_pattern`), no `.`, negated class or lookaround, and only the escapes `\\d \\w \\s` (RE2's ASCII
    classes, never wider than the validator's) or escaped punctuation."""
    return (isinstance(pattern, str) and pattern.isascii() and "[^" not in pattern and "(?" not in pattern
            and _POSITIVE_PATTERN.fullmatch(pattern) is not None and plain_pattern(pattern))


def _arrow_is(arrow_type: pa.DataType, json_type: str) -> bool:
    """Whether every non-null value of `arrow_type` is of JSON Schema type `json_type`."""
    if json_type == "number":
        return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)
    if json_type == "integer":
        return pa.types.is_integer(arrow_type)
    if json_type == "string":
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if json_type == "boolean":
        return pa.types.is_boolean(arrow_type)
    return False


def _meta_error(schema: Any) -> str | None:
    """The most relevant meta-schema violation of `schema`, if any."""
    try:
        if jsonschema_rs.meta.is_valid(schema):
            return None
    except Exception:  # noqa: BLE001 - a draft it does not know, say: the full check decides
        pass
    lib = jsonschema()
    cls = lib.validators.validator_for(schema, default=lib.Draft202012Validator)
    error = lib.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    return f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}" if error else None
