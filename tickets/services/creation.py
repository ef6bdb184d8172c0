"""Opening a ticket, whatever the channel: its reference, its SLA snapshot, its clocks, its
first message (and the call it came from), and its history, in one transaction.

A ticket's clocks start when the customer asked: for a logged phone call, when the call
started, however long after it the agent logs it.
"""

import enum
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, ParamSpec

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils.translation import gettext as _

from contracts.selectors import sla_terms_for
from contracts.services import calendar_version_snapshot
from contracts.sla_names import Priority
from contracts.terms import SLATerms
from portal.models import Member, Organisation, Region
from tickets.clock_store import clocks_store, ticket_schedule
from tickets.clocks import Change, Clocks
from tickets.models import Attachment, Message, PhoneCall, ReferenceCounter, Ticket, TicketEvent
from tickets.rules import (
    CallDetails,
    TicketError,
    attachments_check,
    call_check,
    sanitise_html,
)
from tickets.selectors import call_terms
from tickets.services.history import History, is_agent
from tickets.services.routing import Trigger, route_after_commit

REFERENCE_PREFIX = "MRD-"
P = ParamSpec("P")
Status = Ticket.Status


class _Load(enum.Enum):
    LOAD = "load"


# `ticket_create(terms=LOAD)`: read the SLA terms in force (the default).
LOAD = _Load.LOAD


def references_reserve(*, count: int) -> list[str]:
    """Reserve `count` consecutive ticket references. Call inside the caller's transaction.

    One `UPDATE ... RETURNING`: the counter row stays locked until that transaction ends, so
    numbers are never handed out twice; a rolled-back transaction gives its numbers back.
    """
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value",  # noqa: S608
            [count, "ticket"],
        )
        row = cursor.fetchone()
    if row is None:
        raise LookupError("the ticket reference counter is missing (migration tickets.0002)")
    last = row[0]
    return [f"{REFERENCE_PREFIX}{number:06d}" for number in range(last - count + 1, last + 1)]


def attachments_store(
    *,
    ticket: Ticket,
    message: Message,
    files: Sequence[UploadedFile],
    uploader: User | None,
    now: datetime,
) -> list[Attachment]:
    """Store the files of a message (checked first). Call inside the caller's transaction."""
    attachments_check(files)
    rows = []
    for upload in files:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        rows.append(
            Attachment(
                ticket=ticket,
                message=message,
                file=upload,
                filename=(upload.name or "unnamed")[:255],
                content_type=(upload.content_type or "application/octet-stream")[:127],
                size=upload.size or 0,
                sha256=digest.hexdigest(),
                uploaded_by=uploader,
                created_at=now,
            )
        )
    return Attachment.objects.bulk_create(rows) if rows else []


def _check_new(
    *,
    organisation: Organisation,
    requester: Member | None,
    channel: str,
    subject: str,
    body_text: str,
    priority: str,
    product_area: str,
) -> None:
    if requester is not None and requester.organisation_id != organisation.pk:
        raise TicketError(_("The requester belongs to another organisation."), field="requester")
    if channel not in Ticket.Channel.values:
        raise TicketError(_("Unknown channel %(channel)r.") % {"channel": channel}, field="channel")
    if not subject:
        raise TicketError(_("A ticket needs a subject."), field="subject")
    if not body_text.strip():
        raise TicketError(_("A ticket needs a description."), field="description")
    if priority not in Priority.values:
        raise TicketError(
            _("Unknown priority %(priority)r.") % {"priority": priority}, field="priority"
        )
    if product_area not in Ticket.ProductArea.values:
        raise TicketError(
            _("Unknown product area %(area)r.") % {"area": product_area}, field="product_area"
        )


@dataclass(frozen=True)
class OpenedTicket:
    """A new ticket with its first message and that message's attachments, as written."""

    ticket: Ticket
    message: Message
    attachments: list[Attachment]


def ticket_open(
    *,
    organisation: Organisation,
    requester: Member | None,
    channel: str,
    subject: str,
    body_text: str,
    now: datetime,
    actor: User | None = None,
    priority: str = Priority.P3,
    product_area: str = Ticket.ProductArea.OTHER,
    body_html: str = "",
    email_message_id: str = "",
    attachments: Sequence[UploadedFile] = (),
    call: CallDetails | None = None,
    terms: SLATerms | None | Literal[_Load.LOAD] = LOAD,
    region: Region | None = None,
    follow_up_of: Ticket | None = None,
    acknowledge: bool = True,
) -> OpenedTicket:
    """Open a ticket with its first message, take its SLA snapshot and start its clocks.

    The snapshot is the contract active on the organisation's local day when the customer
    asked, its signed terms, and the coverage calendar at its current version; without an
    active contract the ticket has no deadlines. A caller that has read the terms already (to
    validate a form) passes them as `terms`.

    The ticket starts in `region` (a mailbox's, say) or the organisation's home region. A ticket
    that continues one resolved too long ago to reopen links it (`follow_up_of`). The requester
    is acknowledged by email unless `acknowledge` is False (a machine wrote in).

    A ticket logged from a phone call (`call`) starts at the call's start: every clock counts
    from then, and the call was its first response (the caller spoke to an agent). Its history
    records both the instant of the call and the instant it was logged.
    """
    subject = " ".join(subject.split())[:200]
    _check_new(
        organisation=organisation,
        requester=requester,
        channel=channel,
        subject=subject,
        body_text=body_text,
        priority=priority,
        product_area=product_area,
    )
    if call is not None and (actor is None or not is_agent(actor)):
        raise TicketError(_("Only agents log calls."))
    asked_at = call.started_at if call is not None else now
    with transaction.atomic(durable=True):
        contract_from = None
        if terms is LOAD and call is not None:
            terms, contract_from = call_terms(organisation=organisation, call=call, now=now)
        elif terms is LOAD:
            terms = sla_terms_for(organisation=organisation, at=asked_at)
        if call is not None:
            call_check(call, body_text, now=now, contract_from=contract_from)
        refusal = terms.refusal(priority) if terms is not None else None
        if refusal:
            raise TicketError(refusal, field="priority")
        (reference,) = references_reserve(count=1)
        ticket = Ticket(
            reference=reference,
            organisation=organisation,
            requester=requester,
            channel=channel,
            subject=subject,
            product_area=product_area,
            priority=priority,
            status=Status.NEW,
            region_id=region.pk if region is not None else organisation.home_region_id,
            follow_up_of=follow_up_of,
            created_at=asked_at,
            updated_at=now,
        )
        history = History(ticket, now, acknowledge=acknowledge)
        state: Clocks | None = None
        changes: list[Change] = []
        if terms is not None:
            calendar_version_snapshot(calendar=terms.calendar)
            ticket.sla_contract = terms.contract
            ticket.sla_tier = terms.tier
            ticket.sla_calendar = terms.calendar
            ticket.sla_calendar_version = terms.calendar_version
            ticket.sla_targets = terms.targets
            ticket.sla_pause_statuses = terms.pause_statuses
            ticket.sla_paused_clocks = terms.paused_clocks
            ticket.sla_warning_thresholds = terms.warning_thresholds
            ticket.sla_around_the_clock = terms.around_the_clock
            state, changes = Clocks.start(
                schedule=ticket_schedule(ticket),
                targets=terms.targets,
                pause_statuses=terms.pause_statuses,
                paused_clocks=terms.paused_clocks,
                priority=priority,
                status=Status.NEW,
                at=asked_at,
                thresholds=terms.warning_thresholds,
                around_the_clock=terms.around_the_clock,
            )
        created = {
            "channel": channel,
            "priority": priority,
            "status": Status.NEW,
            "contract": terms.contract.reference if terms else None,
            "tier": terms.tier.code if terms else None,
        }
        if call is not None:
            created |= {"called_at": asked_at.isoformat(), "logged_at": now.isoformat()}
        if follow_up_of is not None:
            created["follow_up_of"] = follow_up_of.reference
        history.add(TicketEvent.Kind.CREATED, actor, created, changes=changes, at=asked_at)
        if call is not None:
            # The call was the first response; it is logged now, then the ticket is open.
            answered = state.agent_response(asked_at) if state else []
            ticket.status = Status.OPEN
            opened = state.change_status(now, Status.OPEN) if state else []
        if state is not None:
            clocks_store(ticket, state)
        if call is not None:
            author_kind = Message.AuthorKind.AGENT
        elif channel == Ticket.Channel.ALERT:
            author_kind = Message.AuthorKind.SYSTEM
        else:
            author_kind = Message.AuthorKind.CUSTOMER
            ticket.last_customer_message_at = asked_at
        ticket.save(force_insert=True)

        author = actor if actor is not None else (requester.user if requester else None)
        message = Message.objects.create(
            ticket=ticket,
            author=author,
            author_kind=author_kind,
            visibility=Message.Visibility.PUBLIC,
            channel=channel,
            body_text=body_text,
            body_html=sanitise_html(body_html),
            email_message_id=email_message_id,
            created_at=asked_at,
        )
        stored = attachments_store(
            ticket=ticket, message=message, files=attachments, uploader=author, now=now
        )
        if call is not None and actor is not None:
            phone_call = PhoneCall.objects.create(
                ticket=ticket,
                message=message,
                agent=actor,
                caller_name=call.caller_name,
                phone_number=call.phone_number,
                direction=call.direction,
                started_at=call.started_at,
                duration=call.duration,
                summary=body_text,
                late_reason=call.late_reason.strip(),
                created_at=now,
            )
            history.add(
                TicketEvent.Kind.CALL,
                actor,
                {
                    "call": phone_call.pk,
                    "direction": call.direction,
                    "called_at": asked_at.isoformat(),
                    "logged_at": now.isoformat(),
                    "late_reason": call.late_reason.strip(),
                },
                changes=answered,
                at=asked_at,
            )
            history.add(
                TicketEvent.Kind.STATUS,
                actor,
                {"old": Status.NEW, "new": Status.OPEN},
                changes=opened,
            )
        history.write()
        route_after_commit(ticket, trigger=Trigger.CREATED)
    return OpenedTicket(ticket, message, stored)


def _ticket_of(open_: Callable[P, OpenedTicket]) -> Callable[P, Ticket]:
    @functools.wraps(open_)
    def create(*args: P.args, **kwargs: P.kwargs) -> Ticket:
        return open_(*args, **kwargs).ticket

    create.__name__ = create.__qualname__ = "ticket_create"
    create.__doc__ = "`ticket_open`, returning the ticket alone: what most channels need."
    return create


# The same arguments and rules as `ticket_open`; the new ticket.
ticket_create = _ticket_of(ticket_open)
