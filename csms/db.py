"""Database helpers shared by the apps' services: many rows in one statement run for each row
(executemany), for the gateway's batches.

Django's bulk_create and bulk_update compile one placeholder expression per field and row
(bulk_update a CASE per row and field), and psycopg's client-side binding then writes every
value into the SQL text in Python: together they cost more than the database's own work. Here
the statement is built once; on PostgreSQL it runs on a server-side binding cursor (values
sent apart from the SQL, pipelined), and values are converted only where the driver cannot
take them as they are (JSON). Django's execute wrappers and error translation still apply."""

from collections.abc import Callable, Sequence
from contextlib import nullcontext

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper


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


def _preparer(field: models.Field, db: BaseDatabaseWrapper) -> Callable | None:
    """How to turn a model's value into a query parameter; None when the driver takes it as is."""
    if db.vendor == "postgresql" and not isinstance(field, models.JSONField):
        return None  # psycopg adapts str, int, Decimal, bool, UUID and aware datetimes itself
    return lambda value: field.get_db_prep_save(value, db)


def _executemany(db: BaseDatabaseWrapper, sql: str, params: list[Sequence]) -> None:
    with db.cursor() as cursor:
        if db.vendor != "postgresql":
            cursor.executemany(sql, params)
            return
        import psycopg  # only with PostgreSQL

        raw = psycopg.Cursor(db.connection)

        def run(sql: str, params, many: bool, context) -> None:
            with db.wrap_database_errors:
                raw.executemany(sql, params)

        _through_django(cursor, sql, params, run)


def _through_django(cursor, sql: str, params: list[Sequence], run: Callable) -> None:
    """Run a statement of our own through Django's execute_wrapper hooks (as tests use) and,
    when it is on, its query log."""
    logged = cursor.debug_sql(sql, params, many=True) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
    with logged:
        cursor._execute_with_wrappers(sql, params, many=True, executor=run)


def _values(instances: list[models.Model], fields: list[models.Field], db: BaseDatabaseWrapper, *, add: bool):
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


def update_rows(instances: list[models.Model], fields: list[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Save `fields` of many existing rows of one model."""
    if not instances:
        return
    db = connections[using]
    meta = instances[0]._meta
    columns = [meta.get_field(name) for name in fields]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [*values, instance.pk]
        for values, instance in zip(_values(instances, columns, db, add=False), instances, strict=True)
    ]
    _executemany(db, sql, params)


def insert_rows(instances: list[models.Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert many new rows of one model, for rows whose ids nobody needs back. On PostgreSQL
    with COPY, the cheapest way in for both sides."""
    if not instances:
        return
    db = connections[using]
    meta = instances[0]._meta
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = db.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    rows = _values(instances, columns, db, add=True)
    if db.vendor == "postgresql":
        _copy(db, f"COPY {quote(meta.db_table)} ({names}) FROM STDIN", rows)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    _executemany(db, f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})", rows)  # noqa: S608


def _copy(db: BaseDatabaseWrapper, sql: str, rows: list[Sequence]) -> None:
    with db.cursor() as cursor:

        def run(sql: str, params, many: bool, context) -> None:
            with db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for row in params:
                    copy.write_row(row)

        _through_django(cursor, sql, rows, run)
