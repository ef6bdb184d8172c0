"""Statements get revisions and their breakdowns; tiers a per-P1-breach credit and a cap.

An issued statement is immutable, enforced by the database as the event history is: PostgreSQL
refuses UPDATE and DELETE of an issued row, SQLite refuses UPDATE (its test databases are
emptied with DELETE). A draft changes freely, and issuing it is an update of a draft.
SQLite rebuilds a table to alter most columns, which drops its triggers: a later migration that
alters `contracts_compliancestatement` must run `seal_issued` again.
"""

from decimal import Decimal

import django.core.validators
from django.conf import settings
from django.db import migrations, models

PG_FORWARD = """
CREATE FUNCTION contracts_statement_issued_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued statement % is immutable (% refused); issue a new revision',
        OLD.id, TG_OP;
END;
$$;
CREATE TRIGGER contracts_statement_issued_immutable
    BEFORE UPDATE OR DELETE ON contracts_compliancestatement
    FOR EACH ROW WHEN (OLD.status = 'issued')
    EXECUTE FUNCTION contracts_statement_issued_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS contracts_statement_issued_immutable ON contracts_compliancestatement;
DROP FUNCTION IF EXISTS contracts_statement_issued_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER contracts_statement_issued_immutable
BEFORE UPDATE ON contracts_compliancestatement
WHEN OLD.status = 'issued'
BEGIN
    SELECT RAISE(ABORT, 'issued statements are immutable (UPDATE refused); issue a new revision');
END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS contracts_statement_issued_immutable;"


def seal_issued(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def unseal_issued(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0006_root_cause_and_around_the_clock"),
        ("portal", "0005_routing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="compliancestatement",
            options={"ordering": ["-month", "organisation__name", "-revision"]},
        ),
        migrations.RemoveConstraint(
            model_name="compliancestatement",
            name="statement_one_per_month",
        ),
        migrations.RemoveField(
            model_name="compliancestatement",
            name="contracts",
        ),
        migrations.RemoveField(
            model_name="compliancestatement",
            name="credit_percent",
        ),
        migrations.RemoveField(
            model_name="compliancestatement",
            name="figures",
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="breached",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="coverage",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The contracts in force, their days and credits.",
            ),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="in_scope",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="lines",
            field=models.JSONField(blank=True, default=list, help_text="Per priority and clock."),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="met",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="reason",
            field=models.TextField(
                blank=True, help_text="Why a revision after the first corrects the one before."
            ),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="revision",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="compliancestatement",
            name="time_zone",
            field=models.CharField(
                default="UTC",
                help_text="The organisation's home zone, in which the month was counted.",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="slatier",
            name="credit_cap_percent",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("100"),
                help_text="The most a month's credits can reach, in percent of the fee for the days the contract covered.",
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("100")),
                ],
            ),
        ),
        migrations.AddField(
            model_name="slatier",
            name="p1_breach_credit_percent",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0"),
                help_text="Credit for each P1 promise broken in a month, in percent of the monthly fee.",
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("100")),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="compliancestatement",
            name="breaches",
            field=models.JSONField(blank=True, default=list, help_text="The promises broken."),
        ),
        migrations.AlterField(
            model_name="slatier",
            name="compliance_objective",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("95.00"),
                help_text="Share of the month's promises (clocks due in the month) that must be met, in percent.",
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("100")),
                ],
            ),
        ),
        migrations.AddIndex(
            model_name="compliancestatement",
            index=models.Index(fields=["organisation", "month"], name="statement_org_month_idx"),
        ),
        migrations.AddIndex(
            model_name="compliancestatement",
            index=models.Index(fields=["month", "status"], name="statement_month_status_idx"),
        ),
        migrations.AddConstraint(
            model_name="compliancestatement",
            constraint=models.UniqueConstraint(
                fields=("organisation", "month", "revision"), name="statement_revision_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="compliancestatement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "draft")),
                fields=("organisation", "month"),
                name="statement_one_draft",
            ),
        ),
        migrations.AddConstraint(
            model_name="compliancestatement",
            constraint=models.CheckConstraint(
                condition=models.Q(("revision__gte", 1)), name="statement_revision_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="compliancestatement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("revision", 1), models.Q(("reason", ""), _negated=True), _connector="OR"
                ),
                name="statement_revision_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="slatier",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("p1_breach_credit_percent__gte", 0),
                    ("p1_breach_credit_percent__lte", 100),
                    ("credit_cap_percent__gte", 0),
                    ("credit_cap_percent__lte", 100),
                ),
                name="tier_credit_percents",
            ),
        ),
        migrations.RunPython(seal_issued, unseal_issued),
    ]
