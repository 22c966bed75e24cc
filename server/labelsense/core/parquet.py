"""Parquet manifests through pyarrow: row i is "line" i.

Only the columns a rule or the row schema reads are read, and only the role
columns are turned into Python values. Hugging Face
`ClassLabel` integer columns (and lists of them) are mapped to class names from
the file's `huggingface` schema metadata. A file that cannot be read is one
LS105 problem, never an exception.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, TypeVar


import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import arrowpool
from .config import DatasetConfig, ROLES
from .column import is_coded_text, is_text
from .manifest import ROLE_COLUMNS, SHARED_ATTRS, Manifest, split_from_name, table_column, unread_columns
from .rowschema import RowSchema
from .types import Problem, Span


def class_label_names(schema: pa.Schema) -> dict[str, list[str]]:
    """Column → class names for the `ClassLabel` features in Hugging Face metadata."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if not raw:
        return {}
    try:
        features = json.loads(raw).get("info", {}).get("features", {})
    except (ValueError, AttributeError):
        return {}
    out: dict[str, list[str]] = {}
    for name, feature in features.items() if isinstance(features, dict) else ():
        inner = feature.get("feature", feature) if isinstance(feature, dict) else {}
        if isinstance(inner, dict) and inner.get("_type") == "ClassLabel" and isinstance(inner.get("names"), list):
            out[name] = [str(n) for n in inner["names"]]
    return out


T = TypeVar("T")


def _read(read: Callable[[], T]) -> tuple[T | None, str | None]:
    """What `read` reads from a Parquet file, or None and a message saying why it cannot."""
    try:
        return read(), None
    except (OSError, pa.ArrowException, ValueError) as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def read_parquet(path: Path, dataset: DatasetConfig, schema: RowSchema | None = None, with_boxes: bool = True,
                 with_media: bool = True) -> Manifest:
    """Read a Parquet manifest; `with_boxes` / `with_media` False: see `jsonl.RowReader.of`."""
    manifest = Manifest(path=str(path), kind="parquet", file_split=split_from_name(path.name))
    file_schema, error = _read(lambda: pq.read_schema(path))
    if file_schema is not None:
        manifest.column_names = tuple(file_schema.names)
        manifest.fields = _fields(file_schema.names, dataset)
        unread = unread_columns(manifest.fields, with_boxes, with_media)
        columns, coded = _wanted(file_schema, manifest.fields, unread, schema)
        # column chunks streamed through a small buffer, not read whole first: 60-80 MB less
        # fresh memory at 1M rows, and on this kind of machine fresh memory is most of a read's time
        table, error = _read(lambda: pq.read_table(path, columns=columns, read_dictionary=coded or None, pre_buffer=False, buffer_size=1 << 16))
    if file_schema is None or table is None:
        manifest.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot read Parquet file: {error}"))
        return manifest
    if (broken := _invalid_text(table)) is not None:
        manifest.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot read Parquet file: {broken}"))
        return manifest
    table = _map_class_labels(table)
    fields = manifest.fields
    n = table.num_rows
    manifest.line_count = n
    manifest.lines = range(n)
    checked = schema.table_errors_later(table) if schema is not None and schema.usable else None
    for role, attr in ROLE_COLUMNS.items():
        setattr(manifest, attr, table_column(table, None if attr in unread else fields[role], attr, {}))
    for code, role in (("LS202", "key"), ("LS203", "label")):
        if fields[role] not in manifest.column_names:
            manifest.problems.append(Problem(code, Span(0, 0, 0, 0), f"Parquet file has no {role} column '{fields[role]}' (columns: {', '.join(manifest.column_names)})"))
    manifest.screen = checked  # taken when the failures are first wanted (Manifest.settle): meanwhile key groups are built, say
    del table, checked
    arrowpool.release()
    return manifest


def _fields(names: list[str], dataset: DatasetConfig) -> dict[str, str | None]:
    """The column of each role (the key and label ones named even when missing)."""
    fields: dict[str, str | None] = {}
    for role in ROLES:
        candidates = dataset.field_candidates(role)
        found = next((c for c in candidates if c in names), None)
        fields[role] = found if found or role not in ("key", "label") else candidates[0]
    return fields


def _wanted(file_schema: pa.Schema, fields: dict[str, str | None], unread: frozenset[str], schema: RowSchema | None) -> tuple[list[str] | None, list[str]]:
    """The columns a rule or the row schema reads (all of them when names repeat), and the
    string ones among those of few distinct values (labels, splits, annotators), to read as
    the file numbers them."""
    names = file_schema.names
    if len(set(names)) != len(names):
        return None, []
    roles = {fields[role] for role, attr in ROLE_COLUMNS.items() if attr not in unread}
    coded = [c for role, attr in ROLE_COLUMNS.items() if attr in SHARED_ATTRS and attr not in unread and (c := fields[role]) in names and is_text(file_schema.field(c).type)]
    named = class_label_names(file_schema)  # integer columns read as class names: strings, as the schema sees them
    screened = schema is not None and schema.usable
    return [c for c in names if c in roles or (screened and schema.reads_column(c, pa.string() if c in named else file_schema.field(c).type))], coded  # type: ignore[union-attr]


def _invalid_text(table: pa.Table) -> str | None:
    """What is wrong with a string column that is not valid UTF-8 (Arrow does not check on
    reading; its strings would fail only when made into Python values), if one is not."""
    for name, col in zip(table.column_names, table.columns):
        if is_coded_text(col.type):
            try:
                col.validate(full=True)
            except pa.ArrowInvalid as exc:
                return f"column '{name}': {str(exc).splitlines()[0]}"
    return None


def _map_class_labels(table: pa.Table) -> pa.Table:
    for name, classes in class_label_names(table.schema).items():
        if name not in table.column_names:
            continue
        col = table.column(name)
        dictionary = pa.array(classes + ["<invalid class index>"])

        def to_names(values: pa.Array) -> pa.Array:
            idx = pc.if_else(pc.and_(pc.greater_equal(values, 0), pc.less(values, len(classes))), values, len(classes))
            return pc.take(dictionary, idx.cast(pa.int64()))

        if pa.types.is_integer(col.type):
            table = table.set_column(table.column_names.index(name), name, pa.chunked_array([to_names(c) for c in col.chunks], type=pa.string()))
        elif (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)) and pa.types.is_integer(col.type.value_type):
            chunks = [pa.ListArray.from_arrays(c.offsets, to_names(c.flatten()), mask=c.is_null()) for c in col.chunks]
            table = table.set_column(table.column_names.index(name), name, pa.chunked_array(chunks, type=pa.list_(pa.string())))
    return table
