"""One statement the ORM cannot say: INSERT ... ON CONFLICT DO NOTHING RETURNING id, which
both inserts race-free and tells whether this call inserted (bulk_create(ignore_conflicts)
cannot). PostgreSQL and SQLite (3.35+) both speak it."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection, models


def insert_new(model: type[models.Model], values: dict[str, Any],
               conflict: tuple[str, ...]) -> int | None:
    """Insert a row of `model` unless one with the same `conflict` columns exists; returns the
    new id, or None when it existed. `values` are by field name, prepared as the ORM would."""
    meta = model._meta
    quote = connection.ops.quote_name

    def field(name: str) -> models.Field[Any, Any]:
        return cast("models.Field[Any, Any]", meta.get_field(name))

    def column(name: str) -> str:
        return quote(str(field(name).column))

    params = [field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    assert meta.pk is not None
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(column(n) for n in values)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(params))}) "
        f"ON CONFLICT ({', '.join(column(n) for n in conflict)}) DO NOTHING "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None
