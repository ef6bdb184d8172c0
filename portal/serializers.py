"""API representations owned by the portal app: people, regions and organisations.

Serializers here only validate and represent; writes go through services, called by the views.
"""

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.base import ModelRepresentation
from portal.models import Member, Organisation, Region

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


class RegionSerializer(ModelRepresentation):
    # A plain string in the schema, not an enum of every IANA zone.
    time_zone = serializers.CharField(
        read_only=True, help_text="IANA time zone, e.g. Asia/Singapore."
    )

    class Meta:
        model = Region
        fields = ["code", "name", "time_zone"]


class OrganisationRefSerializer(ModelRepresentation):
    """An organisation named inside another object."""

    class Meta:
        model = Organisation
        fields = ["slug", "name"]


class OrganisationSerializer(ModelRepresentation):
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


class MembershipSerializer(ModelRepresentation):
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
