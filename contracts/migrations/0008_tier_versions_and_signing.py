"""Tier versions, the signer's typed name, and the contract history.

Every existing tier gets its terms as version 1; contracts whose terms are those of version 1
point at it. The terms are built here as `contracts.terms.tier_terms` builds them (historical
models have no methods, and a migration must not follow later changes of that function).
"""

import hashlib
import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CLOCK_FIELDS = (
    ("first_response", "first_response_minutes"),
    ("next_response", "next_response_minutes"),
    ("workaround", "workaround_minutes"),
    ("root_cause", "root_cause_minutes"),
    ("resolution", "resolution_minutes"),
)


def _amount(value):
    return f"{value:.2f}"


def _terms(tier):
    targets = list(tier.targets.order_by("priority"))
    return {
        "tier": {"code": tier.code, "name": tier.name},
        "monthly_fee": _amount(tier.monthly_fee),
        "currency": tier.currency,
        "coverage": tier.coverage,
        "compliance_objective": _amount(tier.compliance_objective),
        "pause_statuses": list(tier.pause_statuses),
        "paused_clocks": list(tier.paused_clocks),
        "warning_thresholds": list(tier.warning_thresholds),
        "targets": {
            t.priority: {clock: getattr(t, name) for clock, name in CLOCK_FIELDS} for t in targets
        },
        "around_the_clock": {
            t.priority: list(t.around_the_clock) for t in targets if t.around_the_clock
        },
        "service_credits": [
            {"below_percent": _amount(b.below_percent), "credit_percent": _amount(b.credit_percent)}
            for b in tier.credit_bands.order_by("-below_percent")
        ],
        "p1_breach_credit_percent": _amount(tier.p1_breach_credit_percent),
        "credit_cap_percent": _amount(tier.credit_cap_percent),
    }


def _hash(terms):
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def first_versions(apps, schema_editor):
    SLATier = apps.get_model("contracts", "SLATier")
    TierVersion = apps.get_model("contracts", "TierVersion")
    Contract = apps.get_model("contracts", "Contract")
    for tier in SLATier.objects.all():
        terms = _terms(tier)
        version = TierVersion.objects.create(
            tier=tier, version=1, terms=terms, terms_hash=_hash(terms)
        )
        for contract in Contract.objects.filter(tier=tier, tier_version__isnull=True):
            if contract.terms and _hash(contract.terms) == version.terms_hash:
                contract.tier_version = version
                contract.save(update_fields=["tier_version"])


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0007_statements_revisions_and_credit_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="contract",
            name="signed_name",
            field=models.CharField(
                blank=True, help_text="The full name the signer typed.", max_length=200
            ),
        ),
        migrations.CreateModel(
            name="TierVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField()),
                (
                    "terms",
                    models.JSONField(help_text="`contracts.terms.tier_terms` at this version."),
                ),
                (
                    "terms_hash",
                    models.CharField(
                        help_text="SHA-256 of the terms' canonical JSON.", max_length=64
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tier",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="contracts.slatier",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA tier version",
                "ordering": ["tier", "-version"],
            },
        ),
        migrations.AddField(
            model_name="contract",
            name="tier_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contracts",
                to="contracts.tierversion",
            ),
        ),
        migrations.CreateModel(
            name="ContractEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("drafted", "Drafted"),
                            ("changed", "Draft changed"),
                            ("signed", "Signed"),
                            ("ended", "End date set"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=10,
                    ),
                ),
                ("at", models.DateTimeField()),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="contract_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "contract",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="contracts.contract",
                    ),
                ),
            ],
            options={
                "ordering": ["contract", "at", "pk"],
                "indexes": [
                    models.Index(fields=["contract", "at"], name="contractevent_contract_idx")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("kind__in", ["drafted", "changed", "signed", "ended", "cancelled"])
                        ),
                        name="contractevent_kind_valid",
                    )
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="tierversion",
            constraint=models.UniqueConstraint(
                fields=("tier", "version"), name="tierversion_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="tierversion",
            constraint=models.CheckConstraint(
                condition=models.Q(("version__gte", 1)), name="tierversion_positive"
            ),
        ),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
    ]
