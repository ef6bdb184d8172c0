"""At most one active contract per organisation per day, and the built-in 24x7 calendar.

The exclusion constraint is PostgreSQL's (a GiST index over date ranges); on SQLite the same
rule is checked by `Contract.clean()`, which every service calls before saving.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

EXCLUSION_SQL = """
ALTER TABLE contracts_contract ADD CONSTRAINT contract_one_active_per_org_day
EXCLUDE USING gist (
    organisation_id WITH =,
    daterange(starts_on, ends_on, '[]') WITH &&
) WHERE (status = 'active')
"""
DROP_EXCLUSION_SQL = (
    "ALTER TABLE contracts_contract DROP CONSTRAINT IF EXISTS contract_one_active_per_org_day"
)

ALWAYS_WEEKLY = {
    day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def add_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXCLUSION_SQL)


def drop_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_EXCLUSION_SQL)


def add_always_calendar(apps, schema_editor):
    BusinessCalendar = apps.get_model("contracts", "BusinessCalendar")
    BusinessCalendar.objects.get_or_create(
        code="24x7",
        defaults={"name": "24x7", "time_zone": "UTC", "weekly": ALWAYS_WEEKLY, "hours": "always"},
    )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(add_exclusion, drop_exclusion),
        migrations.RunPython(add_always_calendar, migrations.RunPython.noop),
    ]
