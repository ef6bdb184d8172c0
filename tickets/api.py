"""Tickets over the REST API: list, file, read, reply, change status; agents also re-prioritise,
assign, merge duplicates and record root causes. Attachments are listed on the ticket and
downloaded one by one.

Every lookup goes through `tickets_visible_to`: a ticket the caller may not see answers 404,
exactly like one that does not exist; what a customer may read of a ticket is the selectors'
(`messages_visible_to`, `attachments_visible_to`). Writes go through `tickets.services`.
"""

import re
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.selectors import sla_terms_for
from portal.api.base import ApiCursorPagination, ApiViewMixin, StrictJSONParser, error_responses
from portal.api.errors import refusal_as_field_error
from portal.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from portal.models import Member
from portal.selectors import member_of
from tickets.models import Message, Ticket
from tickets.queue import SLAState, filter_assignee, filter_sla, filter_team
from tickets.selectors import (
    attachments_visible_to,
    conversation_visible_to,
    tickets_visible_to,
)
from tickets.serializers import (
    AttachmentSerializer,
    MessageSerializer,
    ReplyCreateJsonSerializer,
    ReplyCreateSerializer,
    RootCauseRecordSerializer,
    StatusChangeSerializer,
    TicketCreateJsonSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketFilterSerializer,
    TicketMergeSerializer,
    TicketSummarySerializer,
    TicketUpdateSerializer,
)
from tickets.services import (
    UNCHANGED,
    OpenedTicket,
    ticket_change_status,
    ticket_merge,
    ticket_open,
    ticket_record_root_cause,
    ticket_reply,
    ticket_update,
)

# A stored content type is shown to browsers only if it looks like one.
CONTENT_TYPE_PATTERN = re.compile(r"[\w.+-]{1,60}/[\w.+-]{1,60}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# The list's orders, each a cursor ordering (a unique column last).
ORDERINGS = {"updated": ("updated_at", "id"), "next_deadline": ("next_due_at", "id")}
# The service's names for the root cause's inputs, as the API calls them.
ROOT_CAUSE_FIELDS = {"root_cause_summary": "summary", "root_cause_detail": "detail"}
# What an agent may change in one PATCH (`ticket_update`).
UPDATABLE = ("subject", "product_area", "priority", "team", "assignee")
LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        {"type": "array", "items": {"type": "string", "enum": Ticket.Status.values}},
        style="form",
        explode=False,
        description="Only these statuses, comma-separated: `new,open`.",
    ),
    OpenApiParameter(
        "priority",
        {"type": "array", "items": {"type": "string", "enum": Ticket.Priority.values}},
        style="form",
        explode=False,
        description="Only these priorities, comma-separated: `p1,p2`.",
    ),
    OpenApiParameter(
        "ordering",
        {"type": "string", "enum": list(ORDERINGS)},
        description="`updated` (default): least recently updated first, for keeping in sync. "
        "`next_deadline`: most urgent first; a breached promise before every healthy ticket.",
    ),
    OpenApiParameter(
        "team",
        str,
        description="Agents: `mine` (your team's tickets, and for a first-line team its "
        "region's untaken ones; everything if you have no team), `none` (no team yet), or a "
        "team id.",
    ),
    OpenApiParameter(
        "assignee",
        str,
        description="Agents: `me`, `unassigned`, or an agent's user id.",
    ),
    OpenApiParameter(
        "sla",
        {"type": "string", "enum": list(SLAState.values)},
        description="Open tickets by their next deadline now: `breached` (due), `at_risk` "
        "(due within 30 minutes), `ok` (due later), `paused` (nothing counting down, e.g. "
        "waiting on the customer), `none` (no SLA).",
    ),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="Only tickets updated at or after this instant (ISO 8601; without an offset "
        "it is UTC).",
    ),
]
ATTACHMENT_ID = OpenApiParameter(
    "attachment_id", int, OpenApiParameter.PATH, description="The attachment's id."
)


@extend_schema_view(
    list=extend_schema(
        summary="Tickets you can see, least recently updated first",
        description="Cursor pages ordered by `updated_at`, then `id`: to keep in sync, list "
        "with `updated_since` set to the last `updated_at` you saw and follow `next` to the end.",
        parameters=LIST_PARAMETERS,
        responses={200: TicketSummarySerializer(many=True), **error_responses(400)},
    ),
    create=extend_schema(
        summary="File a ticket (customers)",
        description="JSON, or multipart/form-data to attach files (repeat `attachments`).",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "application/json": TicketCreateJsonSerializer,
            "multipart/form-data": TicketCreateSerializer,
        },
        responses={
            201: TicketDetailSerializer,
            **error_responses(400, 403, 409, 413, 415, 422, 429),
        },
    ),
    retrieve=extend_schema(
        summary="A ticket with its SLA clocks, conversation and attachments",
        responses={200: TicketDetailSerializer, **error_responses(404)},
    ),
    partial_update=extend_schema(
        summary="Change subject, product area, priority, team or assignee (agents)",
        request={"application/json": TicketUpdateSerializer},
        responses={200: TicketDetailSerializer, **error_responses(400, 403, 404, 415, 429)},
    ),
)
class TicketViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Support tickets. Customers see their organisation's (a requester only their own unless the
    organisation shares tickets); agents see all. A ticket you may not see answers 404."""

    serializer_class = TicketSummarySerializer
    pagination_class = ApiCursorPagination
    cursor_ordering = ("updated_at", "id")
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]{1,32}"
    parser_classes = [StrictJSONParser, MultiPartParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Ticket]:
        return tickets_visible_to(self.request.user).select_related(
            "organisation", "requester__user", "team", "assignee"
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": self.now}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.now = timezone.now()  # one instant per request
        super().initial(request, *args, **kwargs)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A download answers with the file whatever the client says it accepts.
        return super().perform_content_negotiation(
            request, force=force or self.action == "attachment_download"
        )

    # --- Lookups ----------------------------------------------------------------------------

    def get_object(self, queryset: QuerySet[Ticket] | None = None) -> Ticket:
        tickets = self.get_queryset() if queryset is None else queryset
        # A unique lookup: not the model's order (by creation), which costs a sort to plan.
        ticket = tickets.filter(reference=self.kwargs["reference"].upper()).order_by().first()
        if ticket is None:
            raise Http404("No such ticket.")
        return ticket

    def _with_conversation(self, tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
        """What the detail shows besides the ticket: its SLA snapshot, the messages and the
        attachments the caller may read (a constant number of queries)."""
        user = self.request.user
        return tickets.select_related("sla_contract", "sla_tier", "sla_calendar").prefetch_related(
            Prefetch("messages", queryset=conversation_visible_to(user), to_attr="api_messages"),
            Prefetch(
                "attachments", queryset=attachments_visible_to(user), to_attr="api_attachments"
            ),
        )

    def _render(self, ticket: Ticket) -> dict[str, Any]:
        context = {**self.get_serializer_context(), "ticket": ticket}
        return TicketDetailSerializer(ticket, context=context).data

    def _render_written(self, ticket: Ticket) -> dict[str, Any]:
        """The detail of a ticket just written: the row as the service left it, its
        conversation read afresh (two queries)."""
        user = self.request.user
        ticket.api_messages = list(conversation_visible_to(user).filter(ticket=ticket))
        ticket.api_attachments = [
            attachment
            for message in ticket.api_messages
            for attachment in message.visible_attachments
        ]
        return self._render(ticket)

    def _member(self) -> Member:
        """The customer filing a ticket; agents and users of no organisation may not."""
        user = self.request.user
        if user.is_staff:
            raise exceptions.PermissionDenied(
                "Tickets are filed by customers; agents log them in the support desk."
            )
        member = member_of(user)
        if member is None:
            raise exceptions.PermissionDenied(
                "Only members of a customer organisation can file tickets."
            )
        return member

    # --- Endpoints --------------------------------------------------------------------------

    def list(self, request: Request) -> Response:
        query = TicketFilterSerializer(data=request.query_params, context={"user": request.user})
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        tickets = self.get_queryset()
        if "status" in filters:
            tickets = tickets.filter(status__in=filters["status"])
        if "priority" in filters:
            tickets = tickets.filter(priority__in=filters["priority"])
        if "updated_since" in filters:
            tickets = tickets.filter(updated_at__gte=filters["updated_since"])
        # The support desk's filters, with the same queries as its views.
        if "team" in filters:
            tickets = filter_team(tickets, filters["team"], user=request.user)
        if "assignee" in filters:
            tickets = filter_assignee(tickets, filters["assignee"], user=request.user)
        if "sla" in filters:
            tickets = filter_sla(tickets, filters["sla"], now=self.now)
        self.cursor_ordering = ORDERINGS[filters.get("ordering", "updated")]
        page = self.paginate_queryset(tickets)
        data = TicketSummarySerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)

    def create(self, request: Request) -> Response:
        member = self._member()
        now = self.now

        def perform() -> OpenedTicket:
            body = request.data  # a body that cannot be read is refused before any query
            # Read once: the serializer checks the priority with them, the service keeps them.
            terms = sla_terms_for(organisation=member.organisation, at=now)
            serializer = TicketCreateSerializer(data=body, context={"terms": terms})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            return ticket_open(
                organisation=member.organisation,
                requester=member,
                channel=Ticket.Channel.API,
                subject=data["subject"],
                body_text=data["description"],
                priority=data["priority"],
                product_area=data["product_area"],
                attachments=data.get("attachments", []),
                actor=request.user,
                now=now,
                terms=terms,
            )

        def render(opened: OpenedTicket) -> Response:
            # Shown as written: the new ticket, its first message and files (no read-back).
            ticket = opened.ticket
            opened.message.visible_attachments = opened.attachments
            ticket.api_messages = [opened.message]
            ticket.api_attachments = opened.attachments
            body = self._render(ticket)
            # A plain str: Django's development server refuses a str subclass in a header.
            location = str(body["url"])
            return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

        return idempotent(request, perform=perform, render=render)

    def retrieve(self, request: Request, reference: str) -> Response:
        ticket = self.get_object(self._with_conversation(self.get_queryset()))
        return Response(self._render(ticket))

    def partial_update(self, request: Request, reference: str) -> Response:
        if not request.user.is_staff:
            self.get_object()  # a ticket the caller cannot see is a 404 first
            raise exceptions.PermissionDenied(
                "Only agents change a ticket's subject, product area, priority, team or assignee."
            )
        serializer = TicketUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        ticket = self.get_object(
            self.get_queryset().select_related("sla_contract", "sla_tier", "sla_calendar")
        )
        # All of it in one transaction: a refused part leaves the ticket as it was.
        ticket = ticket_update(
            ticket=ticket,
            actor=request.user,
            now=self.now,
            **{name: changes.get(name, UNCHANGED) for name in UPDATABLE},
            reason="changed through the API",
        )
        return Response(self._render_written(ticket))

    @extend_schema(
        summary="Reply on a ticket (agents may leave internal notes)",
        description="JSON, or multipart/form-data to attach files (repeat `attachments`).",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "application/json": ReplyCreateJsonSerializer,
            "multipart/form-data": ReplyCreateSerializer,
        },
        responses={
            201: MessageSerializer,
            **error_responses(400, 403, 404, 409, 413, 415, 422, 429),
        },
    )
    @action(detail=True, methods=["post"], url_path="replies")
    def reply(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()

        def perform() -> Message:
            serializer = ReplyCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            if data["internal"] and not request.user.is_staff:
                raise exceptions.PermissionDenied("Only agents can write internal notes.")
            return ticket_reply(
                ticket=ticket,
                author=request.user,
                body_text=data["body"],
                internal=data["internal"],
                channel=Ticket.Channel.API,
                attachments=data.get("attachments", []),
                now=self.now,
            )

        def render(message: Message) -> Response:
            message = conversation_visible_to(request.user).get(pk=message.pk)
            context = {**self.get_serializer_context(), "ticket": ticket}
            data = MessageSerializer(message, context=context).data
            return Response(data, status=status.HTTP_201_CREATED)

        return idempotent(request, perform=perform, render=render)

    @extend_schema(
        summary="Change a ticket's status",
        description="Customers resolve a ticket, or reopen a resolved one within the reopen "
        "window; agents move it to any status its current one allows.",
        request={"application/json": StatusChangeSerializer},
        responses={200: TicketDetailSerializer, **error_responses(400, 404, 415, 429)},
    )
    @action(detail=True, methods=["post"], url_path="status", parser_classes=[StrictJSONParser])
    def change_status(self, request: Request, reference: str) -> Response:
        ticket = self.get_object(
            self.get_queryset().select_related("sla_contract", "sla_tier", "sla_calendar")
        )
        serializer = StatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusal_as_field_error("status"):
            ticket = ticket_change_status(
                ticket=ticket,
                status=serializer.validated_data["status"],
                actor=request.user,
                now=self.now,
            )
        return Response(self._render_written(ticket))

    @extend_schema(
        summary="Merge duplicates into this ticket (agents)",
        description="The duplicates (same organisation) are closed as merged into this ticket, "
        "all or none: each gets a public note pointing here and stops owing its SLA; this "
        "ticket gets an internal note listing them.",
        request={"application/json": TicketMergeSerializer},
        responses={200: TicketDetailSerializer, **error_responses(400, 403, 404, 415, 429)},
    )
    @action(detail=True, methods=["post"], url_path="merge", parser_classes=[StrictJSONParser])
    def merge(self, request: Request, reference: str) -> Response:
        related = ("organisation", "requester__user", "sla_contract", "sla_tier", "sla_calendar")
        primary = self.get_object(self.get_queryset().select_related(*related))
        if not request.user.is_staff:
            raise exceptions.PermissionDenied(_("Only agents merge tickets."))
        serializer = TicketMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        references = [ref.upper() for ref in serializer.validated_data["duplicates"]]
        found = {
            ticket.reference: ticket
            for ticket in self.get_queryset()
            .select_related(*related)
            .filter(reference__in=references)
            .order_by()
        }
        missing = [ref for ref in references if ref not in found]
        if missing:
            raise exceptions.ValidationError(
                {
                    "duplicates": [
                        _("No such ticket: %(references)s.") % {"references": ", ".join(missing)}
                    ]
                }
            )
        with refusal_as_field_error("duplicates"):
            primary = ticket_merge(
                primary=primary,
                duplicates=[found[ref] for ref in references],
                actor=request.user,
                now=self.now,
            )
        return Response(self._render_written(primary))

    @extend_schema(
        summary="Record or revise the root cause (agents)",
        description="The first record meets the ticket's root-cause milestone; a later one "
        "revises the text and leaves the milestone as it was. `summary` is what the customer "
        "reads (on the ticket and by email); `detail` is internal and only agents ever see it.",
        request={"application/json": RootCauseRecordSerializer},
        responses={200: TicketDetailSerializer, **error_responses(400, 403, 404, 415, 429)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="root-cause",
        url_name="root-cause",
        parser_classes=[StrictJSONParser],
    )
    def root_cause(self, request: Request, reference: str) -> Response:
        ticket = self.get_object(
            self.get_queryset().select_related("sla_contract", "sla_tier", "sla_calendar")
        )
        if not request.user.is_staff:
            raise exceptions.PermissionDenied(_("Only agents record a root cause."))
        serializer = RootCauseRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusal_as_field_error("summary", renamed=ROOT_CAUSE_FIELDS):
            ticket = ticket_record_root_cause(
                ticket=ticket,
                now=self.now,
                actor=request.user,
                summary=serializer.validated_data["summary"],
                detail=serializer.validated_data["detail"],
            )
        return Response(self._render_written(ticket))

    @extend_schema(
        summary="A ticket's attachments (customers: those of the public conversation)",
        responses={200: AttachmentSerializer(many=True), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="attachments", pagination_class=None)
    def attachments(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        attachments = attachments_visible_to(request.user).filter(ticket=ticket)
        context = {**self.get_serializer_context(), "ticket": ticket}
        return Response(AttachmentSerializer(attachments, many=True, context=context).data)

    @extend_schema(
        summary="Download an attachment",
        description="The file itself, as an attachment, with the type it was uploaded with.",
        parameters=[ATTACHMENT_ID],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The file's bytes."
            ),
            **error_responses(404),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]{1,18})",
        url_name="attachment-download",
    )
    def attachment_download(
        self, request: Request, reference: str, attachment_id: str
    ) -> FileResponse:
        ticket = self.get_object()
        attachment = (
            attachments_visible_to(request.user)
            .filter(ticket=ticket, pk=int(attachment_id))
            .first()
        )
        if attachment is None:
            raise Http404("No such attachment.")
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError as exc:
            raise exceptions.NotFound("The file of this attachment is no longer stored.") from exc
        content_type = attachment.content_type
        if not CONTENT_TYPE_PATTERN.fullmatch(content_type):
            content_type = "application/octet-stream"
        # A control character in a header would fail the response; names came from anywhere.
        filename = CONTROL_CHARACTERS.sub("_", attachment.filename)
        response = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
        # Uploaded by anyone: never let a browser run it in our origin.
        response["Content-Security-Policy"] = "sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response
