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
