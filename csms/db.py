"""Database helpers shared by the apps' services."""

from django.db import connection, models


def update_rows(instances: list[models.Model], fields: list[str]) -> None:
    """Save `fields` of many rows of one model with one parametrised UPDATE run for each row
    (executemany). Django's bulk_update builds a CASE expression per row and field, which cost
    more than the database's own work for the gateway's batches."""
    if not instances:
        return
    meta = instances[0]._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in columns] + [instance.pk]
        for instance in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def insert_rows(instances: list[models.Model]) -> None:
    """Insert many new rows of one model with one parametrised INSERT run for each row
    (executemany; pipelined by psycopg 3). For rows whose ids nobody needs back: Django's
    bulk_create compiles one placeholder expression per field and row, which cost more than
    the database's own work for the gateway's batches."""
    if not instances:
        return
    meta = instances[0]._meta
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})"  # noqa: S608
    params = [
        [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in columns]
        for instance in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
