"""Many rows in one statement, for the batch paths (the deadline sweep) where Django's
`bulk_create`/`bulk_update` spend most of their time building SQL.

On PostgreSQL new rows go in with `COPY` (psycopg formats the rows in C; about four times as
fast as a multi-row INSERT), their primary keys taken from the sequence first and handed back, so
the caller can point other rows at them. Updates send each column as one array parameter and join
`unnest(...)` on the primary key, where `bulk_update` builds a CASE expression per field and row.
Other databases get Django's own methods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# Rows per statement: a few megabytes of parameters at most, whatever the batch.
CHUNK = 5000


def _array(field: models.Field, objs: Sequence[models.Model]) -> list:
    # JSON goes as text[]: the UPDATE casts it back (::jsonb).
    return [_value(field, field.pre_save(obj, False)) for obj in objs]


def _array_type(field: models.Field) -> str:
    if isinstance(field, models.JSONField):
        return "text[]"
    return f"{field.db_type(connection)}[]"


def _select_list(fields: Sequence[models.Field], alias: str) -> list[str]:
    quote = connection.ops.quote_name
    return [
        f"{alias}.{quote(f.column)}::jsonb"
        if isinstance(f, models.JSONField)
        else f"{alias}.{quote(f.column)}"
        for f in fields
    ]


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def rows_insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert `rows` (values of the fields named in `columns`, by attname: `ticket_id`) and
    return their new primary keys in order. The other fields get their defaults.

    Plain tuples, not model instances: building tens of thousands of instances costs more than
    writing them.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows]
        )
        return [obj.pk for obj in created]
    meta = model._meta
    given = [meta.get_field(name) for name in columns]
    rest = [f for f in meta.concrete_fields if f is not meta.pk and f not in given]
    defaults = tuple(_value(f, f.get_default()) for f in rest)
    json_at = [i for i, f in enumerate(given) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in [meta.pk, *given, *rest])
    sql = f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        chunk_ids = _reserve_ids(model, len(chunk))
        started = time.monotonic()
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for pk, row in zip(chunk_ids, chunk, strict=True):
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = _value(given[i], row[i])
                copy.write_row((pk, *row, *defaults))
        _log(f"{sql} -- {len(chunk)} rows", started)
        ids += chunk_ids
    return ids


def _value(field: models.Field, value: Any) -> Any:
    """A value as COPY and the array parameters take it: JSON as text."""
    if isinstance(field, models.JSONField) and value is not None:
        return json.dumps(value, cls=field.encoder)
    return value


def _log(sql: str, started: float) -> None:
    """COPY bypasses Django's cursor wrapper: record it where query counts look."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def bulk_set(objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write `field_names` of saved instances (all of one model), each row its own values."""
    if not objs or not field_names:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, field_names)
        return
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    values = _select_list(fields, "u")
    assignments = ", ".join(
        f"{quote(f.column)} = {value}" for f, value in zip(fields, values, strict=True)
    )
    arrays = ", ".join(f"%s::{_array_type(f)}" for f in [pk, *fields])
    names = ", ".join(quote(f.column) for f in [pk, *fields])
    key = quote(pk.column)
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}) AS u({names}) WHERE {table}.{key} = u.{key}"
    )
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        with connection.cursor() as cursor:
            cursor.execute(sql, [_array(f, chunk) for f in [pk, *fields]])
