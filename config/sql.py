"""SQL the ORM cannot express, or not cheaply, written once for PostgreSQL and SQLite
(analytics records events and rollups with them, messaging its delivery rows and the
lookups of a send request).

- `insert_new`: INSERT … ON CONFLICT DO NOTHING RETURNING, which tells which rows were
  really inserted (bulk_create(ignore_conflicts=True) does not). Counting only those is
  what makes recording idempotent.
- `copy_insert`: new rows by COPY on PostgreSQL, their primary keys drawn from the
  table's sequence first: several times cheaper than any INSERT, for the delivery rows
  of a broadcast. COPY cannot skip a conflict, so a conflict raises `Conflict` and the
  caller, its transaction rolled back, writes the rows again with `insert_new`.
- `rollup_add`: INSERT … ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n, an atomic
  increment per row on both databases: concurrent workers never lose an update, and
  keys are written in sorted order so two batches cannot deadlock each other.

- `insert_one`: one model instance's INSERT, its statement built once per model: the
  ORM's save() compiles it anew every time, for longer than PostgreSQL takes to run it.
- `instances`: model instances from a hand-written SELECT of some of a model's columns,
  converted as the ORM would convert them. For a lookup on every request: compiling the
  ORM's query costs several times what PostgreSQL spends running it.

Rows are plain dicts keyed by attribute name ("campaign_id"), not model instances:
building instances cost more than the database work on big batches. On PostgreSQL rows
travel as one array per column (`SELECT * FROM unnest(…)`): one parameter per column
instead of one per value is about ten times faster than a multi-row VALUES list
(measured with bench/results_render.py).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
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


def fetch(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one statement that a hot path runs again and again (a send's lookups).

    On PostgreSQL it is bound on the server and prepared on its connection at the first
    run: Django's cursors bind on the client, so PostgreSQL would parse and plan the same
    text on every request, for about as long as it takes to run it. Only for a fixed set
    of statements (psycopg keeps the last 100 prepared per connection).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params, prepare=True)
        rows = cursor.fetchall() if cursor.description else []
    if connection.queries_logged:  # seen by DEBUG's log and the tests' query counts
        connection.queries_log.append(
            {"sql": statement, "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows


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


class Conflict(Exception):
    """A row of a COPY broke a unique constraint; the transaction must be rolled back."""


@functools.cache
def _copy_plan(model: type[models.Model]) -> tuple[str, str, list[tuple[str, Any]]]:
    opts = model._meta
    q = connection.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    plan = []
    for field in fields:
        convert = None
        if field.get_internal_type() == "JSONField":
            # COPY's text format takes JSON as its text; the field's encoder, as save() does.
            encoder = field.encoder
            convert = functools.partial(json.dumps, cls=encoder) if encoder else json.dumps
        plan.append((field.attname, convert))
    columns = ", ".join([q(opts.pk.column), *(q(f.column) for f in fields)])
    statement = f"COPY {q(opts.db_table)} ({columns}) FROM STDIN"
    return statement, opts.db_table, plan


_sequences: dict[str, int] = {}  # table → oid of its primary key's sequence


def copy_insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """PostgreSQL only: insert unsaved `objects` (every field set as it will be stored)
    with one COPY, inside the caller's transaction, and set their primary keys.

    Raises `Conflict` if a row breaks a unique constraint (nothing is inserted then, and
    the transaction can only be rolled back). No signals, no defaults filled in.
    """
    if not objects:
        return
    statement, table, plan = _copy_plan(model)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        sequence = _sequences.get(table)
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)::regclass::oid",
                           [table, model._meta.pk.column])
            sequence = _sequences[table] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::oid) FROM generate_series(1, %s)",
                       [sequence, len(objects)])
        pks = [pk for (pk,) in cursor.fetchall()]
        try:
            with cursor.copy(statement) as copy:
                write = copy.write_row
                for pk, instance in zip(pks, objects, strict=True):
                    values = instance.__dict__
                    write([pk, *(values[name] if convert is None else convert(values[name])
                                 for name, convert in plan)])
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(str(exc)) from exc
    for pk, instance in zip(pks, objects, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias


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


def instances(
    rows: Iterable[Sequence[Any]],
    models_fields: Sequence[tuple[type[models.Model], Sequence[str]]],
) -> list[list[models.Model]]:
    """Build instances from raw rows: each row holds, in order, the columns of each
    (model, attnames) pair; fields not selected are deferred (loaded if touched).

    Returns one list per pair (row by row). Values go through the converters the ORM
    applies (a UUID stored as text on SQLite, a timestamp, JSON).
    """
    plans = []
    for model, attnames in models_fields:
        fields = [model._meta.get_field(name) for name in attnames]
        converters = []
        for field in fields:
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            converters.append((column, found))
        plans.append((model, [f.attname for f in fields], converters))
    built: list[list[models.Model]] = [[] for _ in plans]
    for row in rows:
        offset = 0
        for index, (model, attnames, converters) in enumerate(plans):
            values = list(row[offset:offset + len(attnames)])
            offset += len(attnames)
            for position, (column, found) in enumerate(converters):
                for convert in found:
                    values[position] = convert(values[position], column, connection)
            built[index].append(model.from_db(connection.alias, attnames, values))
    return built


@functools.cache
def _insert_one_plan(model: type[models.Model], vendor: str
                     ) -> tuple[str, list[tuple[models.Field, Callable[[Any], Any]]]]:
    opts = model._meta
    q = connection.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    statement = (
        f"INSERT INTO {q(opts.db_table)} ({', '.join(q(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if vendor == "postgresql":
        statement += f" RETURNING {q(opts.pk.column)}"
    return statement, [(field, _converter(field)) for field in fields]


def insert_one(instance: models.Model) -> None:
    """INSERT a new instance as save(force_insert=True) would, and set its primary key.

    No signals are sent and no parents or validation are handled: for a model without
    multi-table inheritance, whose caller validated it (full_clean) first.
    """
    statement, plan = _insert_one_plan(type(instance), connection.vendor)
    params = [convert(field.pre_save(instance, add=True)) for field, convert in plan]
    if connection.vendor == "postgresql":
        ((instance.pk,),) = fetch(statement, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            instance.pk = cursor.lastrowid
    instance._state.adding = False
    instance._state.db = connection.alias
