"""API representations of SLA tiers and contracts (read-only)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import Contract, ServiceCreditBand, SLATarget, SLATier
from contracts.sla_names import Clock
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
