"""Rows as COPY text, primary keys handed out up front, and how the rows reach the database.

Rows are built as PostgreSQL COPY text (tab-separated columns, `\\N` for NULL, backslash escapes),
mostly from pieces formatted once (`chunks`). On PostgreSQL each table's rows of a chunk go in
with one `COPY ... FROM STDIN` of one buffer; elsewhere (SQLite, for tests) the same text is
decoded into model instances for `bulk_create`, so both get the same data.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from django.db import connection, models

from tickets.loadgen.organisations import LoadgenError

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_ESCAPED = re.compile(r"\\(.)")


def escape(text: str) -> str:
    """`text` as one COPY text column."""
    return text.translate(_ESCAPES)


def copy_text(value: object) -> str:
    """A Python value as one COPY text column, as PostgreSQL reads it back."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.seconds
        return (
            f"{value.days} days {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            f".{value.microseconds:06d}"
        )
    if isinstance(value, dict | list):
        return escape(json.dumps(value))
    return str(value)


class Table:
    """One table's COPY layout: `columns` as the rows give them, then every other column with its
    constant default (`suffix`, already as text)."""

    def __init__(self, model: type[models.Model], columns: tuple[str, ...], now: datetime) -> None:
        self.model = model
        extra, values = [], []
        for f in model._meta.concrete_fields:
            if f.attname in columns or (f.primary_key and "id" not in columns):
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif f.has_default():
                value = f.get_default()
            elif f.null:
                value = None
            else:
                raise LoadgenError(f"loadgen does not know how to fill {model.__name__}.{f.name}.")
            extra.append(f.attname)
            values.append(value)
        self.columns = (*columns, *extra)
        self.suffix = "".join("\t" + copy_text(value) for value in values)
        quote = connection.ops.quote_name
        self.sql = (
            f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in self.columns)}) "
            "FROM STDIN"
        )


class Ids:
    """Primary keys handed out before their rows are written, so rows can point at each other.

    PostgreSQL: one statement per chunk and table takes a block of sequence values (`nextval`
    over `generate_series`); they are consecutive unless another writer took values meanwhile,
    and only then are they all sent back. Sequences are not transactional: a chunk that fails
    leaves a gap. Elsewhere: counting on from the table's highest id, read again at the start of
    each chunk's write transaction (SQLite lets no one else write meanwhile).
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.table = model._meta.db_table
        self.next = 0

    def chunk_begin(self) -> None:
        """Call inside the chunk's transaction, before `take`."""
        if connection.vendor == "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(self.table)}")  # noqa: S608
            self.next = (cursor.fetchone()[0] or 0) + 1

    def take(self, count: int) -> range | list[int]:
        if count == 0:
            return range(0)
        if connection.vendor != "postgresql":
            taken = range(self.next, self.next + count)
            self.next += count
            return taken
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
                "ELSE array_agg(v ORDER BY v) END "
                "FROM (SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS v "
                "FROM generate_series(1, %s)) AS block",
                [self.table, count],
            )
            low, high, scattered = cursor.fetchone()
        return range(low, high + 1) if scattered is None else scattered


def write(table: Table, text: str) -> None:
    """Insert the rows of `text` (COPY text, one line per row) into `table`."""
    if not text:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(table.sql) as copy:
            copy.write(text)
        return
    table.model.objects.bulk_create(_decode(table, text))


def _decode(table: Table, text: str) -> list[models.Model]:
    """COPY text back into model instances, for databases without COPY."""
    fields = {f.attname: f for f in table.model._meta.concrete_fields}
    convert = [
        json.loads if isinstance(fields[c], models.JSONField) else fields[c].to_python
        for c in table.columns
    ]
    objects = []
    for line in text.split("\n"):
        if not line:
            continue
        values = {}
        for column, to_python, raw in zip(table.columns, convert, line.split("\t"), strict=True):
            if raw == NULL:
                values[column] = None
            else:
                values[column] = to_python(_ESCAPED.sub(lambda m: _UNESCAPES[m.group(1)], raw))
        objects.append(table.model(**values))
    return objects
