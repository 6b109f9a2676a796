"""Database helpers shared by the apps' services: many rows of one model written in one
statement, for the gateway's batches.

Django's bulk_create and bulk_update compile one placeholder expression per field and row
(bulk_update a CASE per row and field), and psycopg's client-side binding then writes every
value into the SQL text in Python: together they cost more than the database's own work. Here
the statement is built once and, on PostgreSQL, runs with its values sent apart from the SQL:
inserts with COPY, updates as one UPDATE joined to arrays of the new values (one statement
for the database to plan and run, not one per row). Values are converted only where the
driver cannot take them as they are (JSON). Django's execute wrappers and error translation
still apply."""

import re
from collections.abc import Callable, Collection, Sequence
from contextlib import nullcontext

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper
from django.db.models.options import Options
from psycopg.types.json import Jsonb


def batch_atomic(function: Callable) -> Callable:
    """The transaction of a batch service: its own when called alone; inside the caller's (a
    group-commit round) without a savepoint, which would cost two more round trips per batch.
    A failure then fails the caller's whole transaction, which the round retries group by group."""
    return transaction.atomic(savepoint=False)(function)


def with_fresh_connection(function: Callable, *args):
    """Run `function(*args)` in a long-lived worker thread (a writer, a reader) as Django does
    around each request: the thread's connection is dropped before and after if it broke (an
    outage) or is older than CONN_MAX_AGE, and kept otherwise."""
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


def _column_fields(meta: Options, names: list[str]) -> list[models.Field]:
    """The model's fields named, each one a column of its table: a reverse relation or a
    generic foreign key (which get_field also finds) has no column to write."""
    columns: list[models.Field] = []
    for name in names:
        field = meta.get_field(name)
        if not isinstance(field, models.Field):
            raise ValueError(f"{meta.label}.{name} is not a column")
        columns.append(field)
    return columns


def _column(field: models.Field) -> str:
    """The field's column name: every field these helpers write is concrete, so it has one."""
    if field.column is None:
        raise ValueError(f"{field.name} has no column")
    return field.column


def _preparer(field: models.Field, db: BaseDatabaseWrapper) -> Callable | None:
    """How to turn a model's value into a query parameter; None when the driver takes it as is."""
    if db.vendor == "postgresql":
        if not isinstance(field, models.JSONField):
            return None  # psycopg adapts str, int, Decimal, bool, UUID and aware datetimes itself
        if field.encoder is None:  # what Django does, with a faster encoder
            return lambda value: None if value is None else Jsonb(value, dumps=orjson.dumps)
    return lambda value: field.get_db_prep_save(value, db)


def _executemany(db: BaseDatabaseWrapper, sql: str, params: Sequence[Sequence]) -> None:
    """Elsewhere than PostgreSQL, which writes with COPY and joins to arrays instead."""
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def execute_bound(db: BaseDatabaseWrapper, sql: str, params: Sequence) -> list[tuple]:
    """One PostgreSQL statement with its values sent apart from the SQL (server-side binding:
    arrays go as arrays, not as text built in Python), through Django's wrappers. Returns
    the rows it returns (RETURNING), if any."""
    rows: list[tuple] = []
    with db.cursor() as cursor:
        raw = psycopg.Cursor(db.connection)

        def run(sql: str, params, many: bool, context) -> None:
            with db.wrap_database_errors:
                raw.execute(sql, params)
                if raw.description is not None:
                    rows.extend(raw.fetchall())

        _through_django(cursor, sql, params, run, many=False)
    return rows


def _through_django(cursor, sql: str, params: Sequence, run: Callable, *, many: bool) -> None:
    """Run a statement of our own through Django's execute_wrapper hooks (as tests use) and,
    when it is on, its query log."""
    logged = cursor.debug_sql(sql, params, many=many) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
    with logged:
        cursor._execute_with_wrappers(sql, params, many=many, executor=run)


def _values(instances: Sequence[models.Model], fields: list[models.Field], db: BaseDatabaseWrapper, *, add: bool):
    preparers = [_preparer(field, db) for field in fields]
    # pre_save only where it does something (auto_now fields); otherwise the attribute.
    stamped = [add and (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)) for field in fields]
    rows = []
    for instance in instances:
        row = []
        for field, prepare, stamp in zip(fields, preparers, stamped, strict=True):
            value = field.pre_save(instance, add=True) if stamp else getattr(instance, field.attname)
            row.append(prepare(value) if prepare else value)
        rows.append(row)
    return rows


def update_rows(instances: Sequence[models.Model], fields: list[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Save `fields` of many existing rows of one model. On PostgreSQL in one statement that
    joins the rows to arrays of the new values (one plan, one result), elsewhere executemany.
    A row given twice is saved once, with the last values, as consecutive saves would leave it."""
    if not instances:
        return
    instances = list({instance.pk: instance for instance in instances}.values())
    db = connections[using]
    meta = instances[0]._meta
    columns = _column_fields(meta, fields)
    rows = [
        [*values, instance.pk]
        for values, instance in zip(_values(instances, columns, db, add=False), instances, strict=True)
    ]
    if db.vendor == "postgresql":
        _update_from_arrays(db, meta, columns, rows)
        return
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(_column(meta.pk))} = %s"  # noqa: S608
    _executemany(db, sql, rows)


def _update_from_arrays(db: BaseDatabaseWrapper, meta, columns: list[models.Field], rows: list[list]) -> None:
    quote = db.ops.quote_name
    typed = [*columns, meta.pk]
    arrays = ", ".join(f"%s::{_array_type(field, db)}" for field in typed)
    names = ", ".join(f"c{index}" for index in range(len(typed)))
    assignments = ", ".join(f"{quote(_column(field))} = v.c{index}" for index, field in enumerate(columns))
    table = quote(meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names})"  # noqa: S608
        f" WHERE {table}.{quote(_column(meta.pk))} = v.c{len(columns)}"
    )
    execute_bound(db, sql, [list(column) for column in zip(*rows, strict=True)])


def _array_type(field: models.Field, db: BaseDatabaseWrapper) -> str:
    """The column's type without its length or precision: an explicit cast to varchar(n) would
    cut a value that is too long, where storing it must fail as a single UPDATE would (R8)."""
    db_type = field.db_type(db)
    if db_type is None:
        raise ValueError(f"{field.name} has no column type")
    return re.sub(r"\(.*\)", "", db_type) + "[]"


def insert_rows(instances: Sequence[models.Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert many new rows of one model, for rows whose ids nobody needs back. On PostgreSQL
    with COPY, the cheapest way in for both sides."""
    if not instances:
        return
    db = connections[using]
    meta = instances[0]._meta
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    _insert(db, meta, columns, _values(instances, columns, db, add=True))


def insert_values(
    model: type[models.Model],
    fields: list[str],
    rows: Sequence[Sequence],
    using: str = DEFAULT_DB_ALIAS,
    *,
    json_text: Collection[str] = (),
) -> None:
    """Like insert_rows, from tuples of the values of `fields` instead of model instances (for
    the message log: building an instance per frame cost more than writing it). The JSON
    fields named in `json_text` come as JSON text already, and are written as they are."""
    if not rows:
        return
    db = connections[using]
    meta = model._meta
    columns = _column_fields(meta, fields)
    preparers = [None if field.name in json_text else _preparer(field, db) for field in columns]
    if any(preparers):
        rows = [
            [prepare(value) if prepare else value for prepare, value in zip(preparers, row, strict=True)]
            for row in rows
        ]
    _insert(db, meta, columns, rows)


def _insert(db: BaseDatabaseWrapper, meta, columns: list[models.Field], rows: Sequence[Sequence]) -> None:
    quote = db.ops.quote_name
    names = ", ".join(quote(_column(field)) for field in columns)
    if db.vendor == "postgresql":
        _copy(db, f"COPY {quote(meta.db_table)} ({names}) FROM STDIN", rows)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    _executemany(db, f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})", rows)  # noqa: S608


def _copy(db: BaseDatabaseWrapper, sql: str, rows: Sequence[Sequence]) -> None:
    with db.cursor() as cursor:

        def run(sql: str, params, many: bool, context) -> None:
            with db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for row in params:
                    copy.write_row(row)

        _through_django(cursor, sql, rows, run, many=True)
