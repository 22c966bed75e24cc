"""The optional JSON Schema for one manifest row, compiled once (jsonschema-rs).

A schema that is not valid JSON, not a valid schema, or that names a remote
`$ref` is reported (LS201 on the schema file) and not used; nothing is ever
fetched. Parquet tables of the common shape (an object with `properties`,
`required`, `additionalProperties`) are checked column by column on distinct
values, so the cost follows the number of distinct values, not rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import jsonschema_rs
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .types import Problem, Span

ErrorList = list[tuple[list[str | int], str]]
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

    @property
    def is_valid(self) -> Any:
        return self._validator.is_valid

    def errors(self, row: Any) -> ErrorList:
        return [(list(e.instance_path), e.message) for e in self._validator.iter_errors(row)]

    def table_errors(self, table: pa.Table) -> dict[int, ErrorList]:
        """Errors by row index for a whole Arrow table."""
        if not self.schema or not set(self.schema) <= _COLUMNAR_KEYS or self.schema.get("type", "object") != "object":
            return self._rowwise(table)
        return self._columnar(table)

    def _rowwise(self, table: pa.Table) -> dict[int, ErrorList]:
        out: dict[int, ErrorList] = {}
        offset = 0
        for batch in table.to_batches(max_chunksize=65536):
            for i, row in enumerate(batch.to_pylist()):
                row = {k: v for k, v in row.items() if v is not None}
                if not self._validator.is_valid(row):
                    out[offset + i] = self.errors(row)
            offset += batch.num_rows
        return out

    def _columnar(self, table: pa.Table) -> dict[int, ErrorList]:
        assert self.schema is not None
        props: dict[str, Any] = self.schema.get("properties", {})
        extra = self.schema.get("additionalProperties", True)
        defs = {k: self.schema[k] for k in ("$defs", "definitions") if k in self.schema}
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
            present = pc.is_valid(col)
            if sub is False:
                add(pc.indices_nonzero(present).to_pylist(), [], f'Additional properties are not allowed (\'{name}\' was unexpected)')
                continue
            validator = jsonschema_rs.validator_for({**defs, **sub} if isinstance(sub, dict) else sub, retriever=_refuse_remote)
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_struct(col.type):
                values = col.to_pylist()
                bad_rows = [i for i, v in enumerate(values) if v is not None and not validator.is_valid(v)]
                for i in bad_rows:
                    out.setdefault(i, []).extend(([name, *e.instance_path], e.message) for e in validator.iter_errors(values[i]))
                continue
            uniques = pc.unique(col.drop_null() if col.null_count else col).to_pylist()
            bad = [u for u in uniques if not validator.is_valid(u)]
            if not bad:
                continue
            mask = pc.is_in(col, value_set=pa.array(bad, type=col.type))
            messages = {u: [([name, *e.instance_path], e.message) for e in validator.iter_errors(u)] for u in bad}
            rows = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
            values = pc.take(col, pa.array(rows, type=pa.int64())).to_pylist()
            for r, v in zip(rows, values):
                out.setdefault(r, []).extend(messages[v])
        return out


def _meta_error(schema: Any) -> str | None:
    """The most relevant meta-schema violation of `schema`, if any."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    return f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}" if error else None
