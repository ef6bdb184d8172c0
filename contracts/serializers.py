"""API representations of SLA tiers, contracts and compliance statements (read-only)."""

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import ComplianceStatement, Contract, ServiceCreditBand, SLATarget, SLATier
from contracts.sla_names import Clock, Priority
from portal.api.base import ModelRepresentation
from portal.serializers import OrganisationRefSerializer, PersonSerializer


class SLATargetSerializer(ModelRepresentation):
    """What a tier promises for one priority, in business minutes of its coverage calendar (or
    every minute of the week, for the clocks named in `around_the_clock`)."""

    workaround_minutes = serializers.IntegerField(
        allow_null=True, read_only=True, help_text="Null when no workaround is promised."
    )
    root_cause_minutes = serializers.IntegerField(
        allow_null=True, read_only=True, help_text="Null when no root cause is promised."
    )
    around_the_clock = serializers.ListField(
        child=serializers.ChoiceField(choices=Clock.choices),
        read_only=True,
        help_text="The clocks whose target counts every minute of the week rather than the "
        "coverage calendar's hours (on a 24x7 tier, every clock does anyway).",
    )

    class Meta:
        model = SLATarget
        fields = ["priority", *SLATarget.PROMISE_FIELDS]


class ServiceCreditBandSerializer(ModelRepresentation):
    """Monthly compliance below `below_percent` earns `credit_percent` of the monthly fee."""

    class Meta:
        model = ServiceCreditBand
        fields = ["below_percent", "credit_percent"]


class SLATierSerializer(ModelRepresentation):
    url = serializers.HyperlinkedIdentityField(view_name="api-tier-detail", lookup_field="code")
    targets = SLATargetSerializer(many=True, read_only=True)
    credit_bands = ServiceCreditBandSerializer(many=True, read_only=True)
    pause_statuses = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Ticket statuses that pause the clocks in paused_clocks.",
    )
    paused_clocks = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Clocks those statuses pause."
    )

    class Meta:
        model = SLATier
        fields = [
            "url",
            "code",
            "name",
            "description",
            "monthly_fee",
            "currency",
            "coverage",
            "pause_statuses",
            "paused_clocks",
            "compliance_objective",
            "targets",
            "credit_bands",
        ]


class TierRefSerializer(ModelRepresentation):
    class Meta:
        model = SLATier
        fields = ["code", "name"]


# A component of its own, so that the schema's `StatusEnum` is unambiguously a ticket's status.
@extend_schema_field(
    {"type": "string", "enum": Contract.Status.values}, component_name="ContractStatus"
)
class ContractStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Contract.Status.choices, read_only=True, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": Contract.Standing.values}, component_name="ContractStanding"
)
class ContractStandingField(serializers.Field):
    """The contract's standing on the viewer's today (the view puts `today` in the context)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, contract: Contract) -> str:
        return contract.standing_on(self.context["today"]).value


class ContractSerializer(ModelRepresentation):
    url = serializers.HyperlinkedIdentityField(
        view_name="api-contract-detail", lookup_field="reference"
    )
    organisation = OrganisationRefSerializer(read_only=True)
    tier = TierRefSerializer(read_only=True)
    status = ContractStatusField(
        help_text="draft, active, ended or cancelled, as last set; `standing` says what it "
        "means today."
    )
    standing = ContractStandingField(
        help_text="draft, upcoming (signed, not started yet), active, ended or cancelled on "
        "today's date in your time zone: a contract past its end date has ended."
    )
    signed_by = PersonSerializer(read_only=True, allow_null=True)
    terms = serializers.DictField(
        read_only=True, help_text="The terms as accepted at signing (targets, fee, credits)."
    )

    class Meta:
        model = Contract
        fields = [
            "url",
            "reference",
            "organisation",
            "tier",
            "status",
            "standing",
            "starts_on",
            "ends_on",
            "signed_by",
            "signed_at",
            "terms",
            "terms_hash",
        ]


# --- Compliance statements (`docs/statements.md` documents the shapes) -------------------------


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-10"})
class MonthField(serializers.Field):
    """A month as `YYYY-MM` (stored as its first day)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: date) -> str:
        return f"{value:%Y-%m}"


@extend_schema_field(
    {"type": "string", "enum": ComplianceStatement.Status.values},
    component_name="StatementStatus",
)
class StatementStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ComplianceStatement.Status.choices, read_only=True, **kwargs)


class StatementLineSerializer(serializers.Serializer):
    """The figures of one priority and clock."""

    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True)
    clock = serializers.ChoiceField(choices=Clock.choices, read_only=True)
    in_scope = serializers.IntegerField(read_only=True, help_text="Promises due in the month.")
    met = serializers.IntegerField(read_only=True, help_text="Met at or before their due.")
    breached = serializers.IntegerField(read_only=True, help_text="Met late, or still running.")
    compliance_percent = serializers.CharField(
        read_only=True, allow_null=True, help_text="met / in scope, two decimals."
    )
    median_minutes = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Business minutes taken to meet, median."
    )
    p90_minutes = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Business minutes taken to meet, 90th pct."
    )


class StatementBreachSerializer(serializers.Serializer):
    """A promise broken in the month (instants in UTC)."""

    reference = serializers.CharField(read_only=True, help_text="The ticket's reference.")
    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True)
    clock = serializers.ChoiceField(choices=Clock.choices, read_only=True)
    due_at = serializers.DateTimeField(read_only=True)
    met_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null while the clock still runs."
    )
    overrun_minutes = serializers.FloatField(
        read_only=True, help_text="Wall-clock minutes from the due instant."
    )


class StatementCoverageSerializer(serializers.Serializer):
    """A contract in force during the month: the days it covers and the credit it earns
    (amounts are decimal strings)."""

    reference = serializers.CharField(read_only=True)
    tier = serializers.CharField(read_only=True)
    starts_on = serializers.DateField(read_only=True)
    ends_on = serializers.DateField(read_only=True, allow_null=True)
    days = serializers.IntegerField(read_only=True)
    days_in_month = serializers.IntegerField(read_only=True)
    monthly_fee = serializers.CharField(read_only=True)
    prorated_fee = serializers.CharField(read_only=True)
    band_below_percent = serializers.CharField(read_only=True, allow_null=True)
    band_credit_percent = serializers.CharField(read_only=True, allow_null=True)
    band_credit = serializers.CharField(read_only=True)
    p1_breaches = serializers.IntegerField(read_only=True)
    p1_credit = serializers.CharField(read_only=True)
    cap = serializers.CharField(read_only=True)
    credit = serializers.CharField(read_only=True)


class ComplianceStatementSerializer(ModelRepresentation):
    """One revision of an organisation's monthly SLA compliance statement. The queryset
    annotates `superseded`."""

    organisation = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The organisation's slug."
    )
    month = MonthField()
    status = StatementStatusField(help_text="draft (account managers only) or issued.")
    reason = serializers.CharField(
        read_only=True, help_text="Why this revision corrects the one before (empty for 1)."
    )
    content_hash = serializers.CharField(
        read_only=True, help_text="SHA-256 of the issued figures' canonical JSON; empty on a draft."
    )
    credit = serializers.DecimalField(
        source="credit_amount",
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text="The service credit owed for the month, in `currency`.",
    )
    superseded = serializers.BooleanField(
        read_only=True, help_text="A later revision of this month was issued."
    )
    lines = StatementLineSerializer(many=True, read_only=True)
    breaches = StatementBreachSerializer(many=True, read_only=True)
    coverage = StatementCoverageSerializer(many=True, read_only=True)

    class Meta:
        model = ComplianceStatement
        fields = [
            "id",
            "organisation",
            "month",
            "revision",
            "status",
            "reason",
            "content_hash",
            "compliance_percent",
            "objective",
            "credit",
            "currency",
            "issued_at",
            "superseded",
            "lines",
            "breaches",
            "coverage",
        ]
