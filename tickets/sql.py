"""Two statements the ORM writes slowly or cannot say, for PostgreSQL and SQLite (3.35+):

- insert_new: INSERT ... ON CONFLICT DO NOTHING RETURNING id, which both inserts race-free and
  tells whether this call inserted (bulk_create(ignore_conflicts) cannot);
- bulk_set: UPDATE ... FROM (VALUES ...), one statement setting different values on many rows.
  QuerySet.bulk_update builds a CASE WHEN expression per row and field, which costs more
  Python than the whole rest of an SLA watcher batch (profiled: ~60 % of a 100-clock batch).

Generic database helpers with no app knowledge (the ticket core's level: any app may use
them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection, models


def _field(meta: Any, name: str) -> models.Field[Any, Any]:
    return cast("models.Field[Any, Any]", meta.get_field(name))


def insert_new(model: type[models.Model], values: dict[str, Any],
               conflict: tuple[str, ...]) -> int | None:
    """Insert a row of `model` unless one with the same `conflict` columns exists; returns the
    new id, or None when it existed. `values` are by field name, prepared as the ORM would."""
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(str(_field(meta, name).column))

    params = [_field(meta, n).get_db_prep_save(v, connection) for n, v in values.items()]
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


def bulk_set(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of every object (all of one model, already saved) in one UPDATE."""
    if not objs:
        return
    meta = type(objs[0])._meta
    quote = connection.ops.quote_name
    assert meta.pk is not None
    targets = [meta.pk, *(_field(meta, name) for name in fields)]
    postgres = connection.vendor == "postgresql"
    # PostgreSQL types a VALUES list from its parameters: cast each to its column's type.
    row = "({})".format(", ".join(
        f"%s::{f.cast_db_type(connection)}" if postgres else "%s" for f in targets
    ))
    params: list[Any] = []
    for obj in objs:
        params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in targets]
    if postgres:
        names = [f"c{i}" for i in range(len(targets))]
        alias = f"v({', '.join(names)})"
    else:  # SQLite names a VALUES list's columns column1, column2, ...
        names = [f"column{i + 1}" for i in range(len(targets))]
        alias = "v"
    table = quote(meta.db_table)
    sets = ", ".join(f"{quote(str(f.column))} = v.{n}" for f, n in zip(targets[1:], names[1:],
                                                                        strict=True))
    sql = (
        f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(objs))}) AS {alias} "  # noqa: S608
        f"WHERE {table}.{quote(str(meta.pk.column))} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
