"""Ticket events are append-only, enforced by the database; the ticket number series.

PostgreSQL refuses UPDATE and DELETE on event rows (TRUNCATE, an administrator's tool, is not a
row operation and stays possible). SQLite refuses UPDATE; its row deletes stay possible because
SQLite has no TRUNCATE and test databases are emptied with DELETE.

Caution for later migrations: SQLite rebuilds a table to alter most columns, which drops its
triggers. A migration that alters `tickets_ticketevent` columns must run `forward` again.
"""

from django.db import migrations

PG_FORWARD = """
CREATE FUNCTION tickets_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket events are append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER tickets_event_append_only
    BEFORE UPDATE OR DELETE ON tickets_ticketevent
    FOR EACH ROW EXECUTE FUNCTION tickets_event_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS tickets_event_append_only ON tickets_ticketevent;
DROP FUNCTION IF EXISTS tickets_event_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER tickets_event_append_only BEFORE UPDATE ON tickets_ticketevent
BEGIN
    SELECT RAISE(ABORT, 'ticket events are append-only (UPDATE refused)');
END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS tickets_event_append_only;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)
    ReferenceCounter = apps.get_model("tickets", "ReferenceCounter")
    ReferenceCounter.objects.get_or_create(name="ticket", defaults={"value": 0})


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
