"""API representations owned by the portal app: the error shape, people, organisations.

Serializers here only validate and represent; writes go through services, called by the views.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import Member, Organisation, Region

# --- The error shape -----------------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text=(
            "A stable word to branch on: invalid, parse_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, "
            "not_acceptable, unsupported_media_type, too_large, throttled, "
            "idempotency_key_in_progress, idempotency_key_reused."
        )
    )
    message = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per refused input field (or header); empty when none is at fault.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every API error has this shape."""

    error = ErrorBodySerializer()


# --- Input ---------------------------------------------------------------------------------------


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently ignoring a misspelt one."""

    # Sent by HTML forms posting to the API with a session; never data.
    IGNORED = frozenset({"csrfmiddlewaretoken"})

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - self.IGNORED)
            if unknown:
                known = ", ".join(name for name, f in self.fields.items() if not f.read_only)
                raise serializers.ValidationError(
                    {name: [f"Unknown field; this endpoint takes {known}."] for name in unknown}
                )
        return super().to_internal_value(data)


# --- People and places ---------------------------------------------------------------------------


def person_name(user: AbstractBaseUser | None) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


class PersonSerializer(serializers.Serializer):
    """A person as others see them: their name (and username, which PATCH takes for agents)."""

    username = serializers.CharField(source="get_username", read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user: AbstractBaseUser) -> str:
        return person_name(user) or ""


class RegionSerializer(serializers.ModelSerializer):
    # A plain string in the schema, not an enum of every IANA zone.
    time_zone = serializers.CharField(
        read_only=True, help_text="IANA time zone, e.g. Asia/Singapore."
    )

    class Meta:
        model = Region
        fields = ["code", "name", "time_zone"]


class OrganisationRefSerializer(serializers.ModelSerializer):
    """An organisation named inside another object."""

    class Meta:
        model = Organisation
        fields = ["slug", "name"]


class OrganisationSerializer(serializers.ModelSerializer):
    """An organisation as staff (and its own members) see it."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api-organisation-detail", lookup_field="slug"
    )
    home_region = RegionSerializer(read_only=True)
    email_domains = serializers.SerializerMethodField()
    shares_tickets = serializers.BooleanField(
        source="requesters_see_all_tickets",
        read_only=True,
        help_text="Every member sees all of the organisation's tickets, not only their own.",
    )
    account_manager = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Organisation
        fields = [
            "url",
            "slug",
            "name",
            "home_region",
            "email_domains",
            "shares_tickets",
            "account_manager",
            "created_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_email_domains(self, organisation: Organisation) -> list[str]:
        # Prefetched by the views: one query for all organisations of a page.
        return [domain.domain for domain in organisation.email_domains.all()]


class MembershipSerializer(serializers.ModelSerializer):
    """The caller's own organisation, and their role in it."""

    slug = serializers.CharField(source="organisation.slug", read_only=True)
    name = serializers.CharField(source="organisation.name", read_only=True)
    home_region = RegionSerializer(source="organisation.home_region", read_only=True)
    email_domains = serializers.SerializerMethodField()
    shares_tickets = serializers.BooleanField(
        source="organisation.requesters_see_all_tickets",
        read_only=True,
        help_text="Every member sees all of the organisation's tickets, not only their own.",
    )
    role = serializers.ChoiceField(
        choices=Member.Role.choices,
        read_only=True,
        help_text="requester: sees own tickets (all when shared); admin: all of the org's.",
    )

    class Meta:
        model = Member
        fields = ["slug", "name", "home_region", "email_domains", "shares_tickets", "role"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_email_domains(self, member: Member) -> list[str]:
        return [domain.domain for domain in member.organisation.email_domains.all()]
