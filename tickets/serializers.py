"""API representations of tickets, their conversation and attachments, and the input of each
write. Validation only: the views call the services (`tickets.services`)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.serializers import TierRefSerializer
from contracts.sla_names import Clock, Priority
from contracts.terms import SLATerms
from portal.api.base import ModelRepresentation, StrictInputSerializer
from portal.models import Member, Team
from portal.serializers import OrganisationRefSerializer, PersonSerializer, person_name
from tickets.clock_display import clock_views, most_urgent
from tickets.models import Attachment, Message, Ticket
from tickets.queue import SLAState
from tickets.rules import (
    ROOT_CAUSE_SUMMARY_MAX,
    TicketError,
    attachments_check,
    reopen_deadline,
)

# Longest description or message body taken, in characters (a pasted log is welcome; a
# megabyte of it belongs in an attachment).
MAX_TEXT_LENGTH = 100_000
CLOCK_STATES = ["running", "paused", "met", "breached", "no_target"]

# --- Output --------------------------------------------------------------------------------------

_INSTANT = serializers.DateTimeField()


def _instant(value: datetime | None) -> str | None:
    """An instant as every `DateTimeField` of the API writes it."""
    return None if value is None else _INSTANT.to_representation(value)


class TeamRefSerializer(ModelRepresentation):
    class Meta:
        model = Team
        fields = ["id", "name"]


class RequesterSerializer(ModelRepresentation):
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Member
        fields = ["name", "email"]

    def get_name(self, member: Member) -> str:
        return person_name(member.user) or ""


class AttachmentSerializer(ModelRepresentation):
    message = serializers.IntegerField(
        source="message_id", read_only=True, allow_null=True, help_text="The message it came with."
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "filename",
            "content_type",
            "size",
            "sha256",
            "message",
            "created_at",
            "download_url",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, attachment: Attachment) -> str:
        # The views put the ticket in the context: its reference is in the path.
        path = reverse(
            "api-ticket-attachment-download",
            kwargs={"reference": self.context["ticket"].reference, "attachment_id": attachment.pk},
        )
        return self.context["request"].build_absolute_uri(path)


class MessageSerializer(ModelRepresentation):
    author_name = serializers.SerializerMethodField()
    internal = serializers.SerializerMethodField(help_text="An internal note (agents only).")
    # Prefetched by `tickets.selectors.conversation_visible_to`, in upload order.
    attachments = AttachmentSerializer(many=True, read_only=True, source="visible_attachments")

    class Meta:
        model = Message
        fields = [
            "id",
            "author_name",
            "author_kind",
            "internal",
            "channel",
            "body_text",
            "body_html",
            "created_at",
            "attachments",
        ]

    def get_author_name(self, message: Message) -> str | None:
        return person_name(message.author)

    def get_internal(self, message: Message) -> bool:
        return message.visibility == Message.Visibility.INTERNAL


class NextDeadlineSerializer(serializers.Serializer):
    clock = serializers.ChoiceField(choices=Clock.choices)
    label = serializers.CharField()
    due_at = serializers.DateTimeField()
    breached = serializers.BooleanField(
        help_text="Already broken (recorded, or its due instant has passed): the most urgent "
        "thing on a ticket."
    )


class TicketSummarySerializer(ModelRepresentation):
    """A ticket in a list. Needs `now` in the context."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api-ticket-detail", lookup_field="reference"
    )
    organisation = OrganisationRefSerializer(read_only=True)
    requester = RequesterSerializer(read_only=True, allow_null=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    next_deadline = serializers.SerializerMethodField(
        help_text="The most urgent promise still owed: a breached clock first, else the running "
        "clock due first; null when nothing is counting down."
    )

    class Meta:
        model = Ticket
        fields = [
            "url",
            "reference",
            "subject",
            "status",
            "priority",
            "product_area",
            "channel",
            "organisation",
            "requester",
            "team",
            "assignee",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
            "next_deadline",
        ]

    @extend_schema_field(NextDeadlineSerializer(allow_null=True))
    def get_next_deadline(self, ticket: Ticket) -> dict[str, Any] | None:
        urgent = most_urgent(ticket, now=self.context["now"])
        if urgent is None:
            return None
        return {
            "clock": urgent.name,
            "label": urgent.label,
            "due_at": _instant(urgent.due_at),
            "breached": urgent.breached,
        }


class ClockSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=Clock.choices)
    label = serializers.CharField()
    state = serializers.ChoiceField(
        choices=CLOCK_STATES,
        help_text="breached also when the due instant has passed and the sweep has yet to record "
        "it.",
    )
    target_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="The promise for the ticket's priority, in minutes of the coverage calendar "
        "(every minute of the week when `around_the_clock`).",
    )
    around_the_clock = serializers.BooleanField(
        help_text="The target counts every hour of the week, not the coverage calendar's hours."
    )
    due_at = serializers.DateTimeField(allow_null=True)
    met_at = serializers.DateTimeField(allow_null=True)
    breached_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the promise was broken (its due instant), as recorded by the sweep; a "
        "clock met late has both `met_at` and `breached_at`.",
    )
    business_seconds_left = serializers.IntegerField(
        allow_null=True,
        help_text="Business time (calendar open hours) until due; negative when overdue; null "
        "once met.",
    )
    overdue = serializers.BooleanField()
    taken_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="Whole minutes counted from the start to the met or breach instant, in the "
        "clock's own hours, pauses excluded; null while it runs.",
    )
    missed_by_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="A broken promise: whole minutes past its target (so far, while still owed); "
        "null when kept or still running in time.",
    )


class RootCauseSerializer(serializers.Serializer):
    summary = serializers.CharField(help_text="What caused the problem, as the customer reads it.")
    recorded_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was first recorded (revisions keep this instant)."
    )
    detail = serializers.CharField(
        required=False,
        help_text="The internal detail, for agents only: never in a customer's response.",
    )


class RootCauseRecordSerializer(StrictInputSerializer):
    """An agent records (or revises) a ticket's root cause."""

    summary = serializers.CharField(
        max_length=ROOT_CAUSE_SUMMARY_MAX, help_text="Shown to the customer."
    )
    detail = serializers.CharField(
        max_length=MAX_TEXT_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="Internal: agents only.",
    )


def _minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


class CalendarRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="The calendar version frozen at creation.")


class SLASerializer(serializers.Serializer):
    """The SLA snapshot taken when the ticket was created, and its clocks now."""

    contract = serializers.CharField(help_text="Reference of the contract in force at creation.")
    tier = TierRefSerializer()
    calendar = CalendarRefSerializer()
    clocks = ClockSerializer(many=True)


class TicketDetailSerializer(TicketSummarySerializer):
    """A ticket with its SLA, its conversation and its attachments.

    Needs `now` and `ticket` in the context, and the views' prefetches (`api_messages`,
    `api_attachments`) on the ticket.
    """

    reopen_until = serializers.SerializerMethodField(
        help_text="While resolved: until when the customer may reopen it."
    )
    sla = serializers.SerializerMethodField(help_text="Null when the ticket has no contract.")
    root_cause = serializers.SerializerMethodField(
        help_text="Null until an agent records it; `detail` is given to agents only."
    )
    messages = MessageSerializer(many=True, read_only=True, source="api_messages")
    attachments = AttachmentSerializer(many=True, read_only=True, source="api_attachments")

    class Meta(TicketSummarySerializer.Meta):
        fields = [
            *TicketSummarySerializer.Meta.fields,
            "reopen_until",
            "sla",
            "root_cause",
            "messages",
            "attachments",
        ]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reopen_until(self, ticket: Ticket) -> str | None:
        return _instant(reopen_deadline(ticket))

    @extend_schema_field(RootCauseSerializer(allow_null=True))
    def get_root_cause(self, ticket: Ticket) -> dict[str, Any] | None:
        if not ticket.root_cause_summary:
            return None
        root_cause = {
            "summary": ticket.root_cause_summary,
            "recorded_at": _instant(ticket.root_cause_met_at),
        }
        # The internal detail never reaches a customer.
        if self.context["request"].user.is_staff:
            root_cause["detail"] = ticket.root_cause_detail
        return root_cause

    @extend_schema_field(SLASerializer(allow_null=True))
    def get_sla(self, ticket: Ticket) -> dict[str, Any] | None:
        if not ticket.has_sla:
            return None
        targets = ticket.sla_targets.get(ticket.priority, {})
        clocks = [
            {
                "name": view.name,
                "label": view.label,
                "state": view.state,
                "target_minutes": targets.get(view.name),
                "around_the_clock": view.around_the_clock,
                "due_at": view.due_at,
                "met_at": view.met_at,
                "breached_at": view.breached_at,
                "business_seconds_left": None
                if view.business_time_left is None
                else int(view.business_time_left.total_seconds()),
                "overdue": view.overdue,
                "taken_minutes": _minutes(view.taken),
                "missed_by_minutes": _minutes(view.missed_by),
            }
            for view in clock_views(ticket, now=self.context["now"], time_zone="UTC")
        ]
        calendar, tier = ticket.sla_calendar, ticket.sla_tier
        # Plain data in `SLASerializer`'s shape (the schema's): no serializer is built per
        # ticket for values this simple.
        return {
            "contract": ticket.sla_contract.reference,
            "tier": {"code": tier.code, "name": tier.name},
            "calendar": {
                "code": calendar.code,
                "name": calendar.name,
                "version": ticket.sla_calendar_version,
            },
            "clocks": [
                {
                    **clock,
                    "due_at": _instant(clock["due_at"]),
                    "met_at": _instant(clock["met_at"]),
                    "breached_at": _instant(clock["breached_at"]),
                }
                for clock in clocks
            ],
        }


# --- Input ---------------------------------------------------------------------------------------


def _attachments_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(max_length=255, allow_empty_file=True, use_url=False),
        required=False,
        help_text="Files (multipart/form-data only; repeat the field for several files).",
    )


def _refused_attachments(files: list) -> list:
    try:
        attachments_check(files)
    except TicketError as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return files


class TicketCreateSerializer(StrictInputSerializer):
    """A new ticket, filed by a customer for their organisation.

    Context: `terms`, the SLA terms in force for the organisation (None without a contract).
    """

    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        default=Priority.P3,
        help_text="Only the priorities your active contract covers.",
    )
    product_area = serializers.ChoiceField(
        choices=Ticket.ProductArea.choices, default=Ticket.ProductArea.OTHER
    )
    attachments = _attachments_field()

    def validate_priority(self, priority: str) -> str:
        terms: SLATerms | None = self.context["terms"]
        refusal = terms.refusal(priority) if terms is not None else None
        if refusal:
            raise serializers.ValidationError(refusal)
        return priority

    def validate_attachments(self, files: list) -> list:
        return _refused_attachments(files)


class TicketCreateJsonSerializer(TicketCreateSerializer):
    """A new ticket as JSON: the same fields, without files."""

    attachments = None


class ReplyCreateSerializer(StrictInputSerializer):
    body = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    internal = serializers.BooleanField(
        default=False, help_text="An internal note, hidden from the customer (agents only)."
    )
    attachments = _attachments_field()

    def validate_attachments(self, files: list) -> list:
        return _refused_attachments(files)


class ReplyCreateJsonSerializer(ReplyCreateSerializer):
    """A reply as JSON: the same fields, without files."""

    attachments = None


class StatusChangeSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(
        choices=Ticket.Status.choices,
        help_text="Customers: resolved, or open to reopen a resolved ticket within the reopen "
        "window. Agents: any status the current one may move to.",
    )


class TicketMergeSerializer(StrictInputSerializer):
    duplicates = serializers.ListField(
        child=serializers.CharField(max_length=32),
        min_length=1,
        max_length=50,
        help_text="References of the tickets to close as merged into this one (same organisation).",
    )


class TicketUpdateSerializer(StrictInputSerializer):
    """What an agent may change on a ticket; send only what changes. All of it is applied in
    one transaction, or nothing is."""

    subject = serializers.CharField(max_length=200, required=False)
    product_area = serializers.ChoiceField(choices=Ticket.ProductArea.choices, required=False)

    priority = serializers.ChoiceField(
        choices=Priority.choices,
        required=False,
        help_text="Re-targets the running SLA clocks from the ticket's start.",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False, help_text="A team id."
    )
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True),
        allow_null=True,
        required=False,
        help_text="An agent's username; null to unassign.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Send at least one of subject, product_area, priority, team or assignee."
            )
        return attrs


class CommaSeparatedChoicesField(serializers.Field):
    """`new,open`: one or several of the choices."""

    def __init__(self, *, choices: list[str], **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, str):
            raise serializers.ValidationError("Expected a comma-separated list.")
        values = [value.strip().lower() for value in data.split(",") if value.strip()]
        unknown = [value for value in values if value not in self.choices]
        if unknown or not values:
            raise serializers.ValidationError(
                f"Unknown value {', '.join(unknown) or '(none)'}; "
                f"use one or more of {', '.join(self.choices)}."
            )
        return values

    def to_representation(self, value: list[str]) -> str:
        return ",".join(value)


class TicketFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    status = CommaSeparatedChoicesField(choices=Ticket.Status.values, required=False)
    priority = CommaSeparatedChoicesField(choices=Priority.values, required=False)
    updated_since = serializers.DateTimeField(required=False, default_timezone=UTC)
    ordering = serializers.ChoiceField(choices=["updated", "next_deadline"], required=False)
    # The desk's queue filters (`tickets.queue`); team and assignee are for agents.
    team = serializers.RegexField(r"^(mine|none|[0-9]{1,18})$", required=False)
    sla = serializers.ChoiceField(choices=list(SLAState.values), required=False)
    assignee = serializers.RegexField(r"^(me|unassigned|[0-9]{1,18})$", required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        user = self.context.get("user")
        if user is not None and not user.is_staff:
            for name in ("team", "assignee"):
                if name in data:
                    raise serializers.ValidationError({name: "Only agents filter by " + name + "."})
        return data
