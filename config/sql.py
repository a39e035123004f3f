"""Two SQL statements the ORM cannot express, written once for PostgreSQL and SQLite
(analytics records events and rollups with them, messaging its delivery rows).

- `insert_new`: INSERT … ON CONFLICT DO NOTHING RETURNING, which tells which rows were
  really inserted (bulk_create(ignore_conflicts=True) does not). Counting only those is
  what makes recording idempotent.
- `rollup_add`: INSERT … ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n, an atomic
  increment per row on both databases: concurrent workers never lose an update, and
  keys are written in sorted order so two batches cannot deadlock each other.

Rows are plain dicts keyed by attribute name ("campaign_id"), not model instances:
building instances cost more than the database work on big batches. On PostgreSQL rows
travel as one array per column (`SELECT * FROM unnest(…)`): one parameter per column
instead of one per value is about ten times faster than a multi-row VALUES list
(measured with bench/results_render.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, models

# SQLite allows 32,766 bound variables per statement.
_MAX_PARAMS = 30_000
_PG_CHUNK = 20_000  # rows per unnest statement
# Column types whose Python values the drivers take as they are.
_PLAIN = {"AutoField", "BigAutoField", "BigIntegerField", "CharField", "ForeignKey",
          "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
          "SmallIntegerField", "TextField"}


def _converter(field: models.Field) -> Callable[[Any], Any]:
    kind = field.get_internal_type()
    if kind in _PLAIN:
        return lambda value: value
    if connection.vendor == "postgresql":
        # What get_db_prep_save ends with, without its per-value checks (a third of a
        # delivery chunk's time): psycopg takes aware datetimes as they are, and JSON
        # wrapped as the field's own adapter would wrap it; None is SQL NULL.
        if kind in ("DateTimeField", "DateField", "BooleanField"):
            return lambda value: value
        if kind == "JSONField":
            adapt = connection.ops.adapt_json_value
            return lambda value: None if value is None else adapt(value, field.encoder)
    return lambda value: field.get_db_prep_save(value, connection)


def _chunks(rows: Sequence[Any], width: int) -> Iterable[Sequence[Any]]:
    size = _PG_CHUNK if connection.vendor == "postgresql" else max(1, _MAX_PARAMS // width)
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


@contextmanager
def _cursor() -> Iterator[Any]:
    """A cursor in the current transaction; on PostgreSQL one that binds on the server.

    Django's psycopg cursors interpolate parameters in Python; for arrays of thousands
    of values that quoting costs more than the insert, so these statements send them
    as binary parameters instead.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _source(fields: Sequence[models.Field], rows: Sequence[Sequence[Any]]
            ) -> tuple[str, list[Any]]:
    """The rows of an INSERT: unnest(arrays) on PostgreSQL, VALUES elsewhere."""
    if connection.vendor == "postgresql":
        casts = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
        columns = [list(column) for column in zip(*rows, strict=True)]
        return f"SELECT * FROM unnest({casts})", columns
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return "VALUES " + ", ".join([placeholder] * len(rows)), [v for row in rows for v in row]


def insert_new(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_fields: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Insert `rows` (attname → value; defaults fill the rest), skipping conflicts.

    Returns the `returning` columns of the rows that were really inserted. A default is
    evaluated once per call, so a column whose default differs per row (a generated ID,
    a timestamp of `auto_now`) must be given in every row.
    """
    if not rows:
        return []
    opts = model._meta
    q = connection.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    plan = [(f.attname, f.get_default(), _converter(f)) for f in fields]
    table = q(opts.db_table)
    columns = ", ".join(q(f.column) for f in fields)
    conflict = ", ".join(q(opts.get_field(name).column) for name in conflict_fields)
    returned = ", ".join(q(opts.get_field(name).column) for name in returning)
    inserted: list[tuple[Any, ...]] = []
    with _cursor() as cursor:
        for chunk in _chunks(rows, len(fields)):
            values = [[convert(row.get(name, default)) for name, default, convert in plan]
                      for row in chunk]
            source, params = _source(fields, values)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {source}"
                f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {returned}",
                params,
            )
            inserted.extend(tuple(row) for row in cursor.fetchall())
    return inserted


def rollup_add(
    model: type[models.Model],
    deltas: Mapping[tuple[Any, ...], Mapping[str, Any]],
    *,
    key_fields: Sequence[str],
    counters: Sequence[str],
) -> None:
    """Add `deltas[key][counter]` to the counter columns of the row with that key."""
    if not deltas:
        return
    opts = model._meta
    q = connection.ops.quote_name
    keys = [opts.get_field(name) for name in key_fields]
    counter_fields = [opts.get_field(name) for name in counters]
    fields = keys + counter_fields
    converters = [_converter(f) for f in fields]
    table = q(opts.db_table)
    columns = ", ".join(q(f.column) for f in fields)
    updates = ", ".join(
        f"{q(f.column)} = {table}.{q(f.column)} + EXCLUDED.{q(f.column)}" for f in counter_fields
    )
    rows = []
    for key in sorted(deltas, key=lambda k: tuple(str(part) for part in k)):
        raw = [*key, *(deltas[key].get(f.name, 0) for f in counter_fields)]
        rows.append([convert(value) for convert, value in zip(converters, raw, strict=True)])
    with _cursor() as cursor:
        for chunk in _chunks(rows, len(fields)):
            source, params = _source(fields, chunk)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {source}"
                f" ON CONFLICT ({', '.join(q(f.column) for f in keys)}) DO UPDATE SET {updates}",
                params,
            )
