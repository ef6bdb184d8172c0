"""Every write to a ticket goes through these functions, whatever the channel.

Each public function owns its transaction and records what changed in `TicketEvent` rows in the
same transaction. All take `now` from the caller so that one operation sees one instant.
"""

from datetime import datetime, timedelta

import nh3
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from contracts.models import Priority
from portal.models import Member, Organisation
from tickets.models import Message, PhoneCall, ReferenceCounter, Ticket, TicketEvent

REFERENCE_PREFIX = "MRD-"


class TicketError(Exception):
    """A request the ticket rules refuse; the message says why, for the person who asked."""


def references_reserve(*, count: int) -> list[str]:
    """Reserve `count` consecutive ticket references. Call inside the caller's transaction.

    The counter row stays locked until that transaction ends, so numbers are never handed out
    twice; a rolled-back transaction gives its numbers back.
    """
    ReferenceCounter.objects.filter(name="ticket").update(value=F("value") + count)
    last = ReferenceCounter.objects.values_list("value", flat=True).get(name="ticket")
    return [f"{REFERENCE_PREFIX}{number:06d}" for number in range(last - count + 1, last + 1)]


def sanitise_html(html: str) -> str:
    """Keep formatting, drop scripts, styles, event handlers and foreign URLs schemes."""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}) if html else ""


def _event(
    *,
    ticket: Ticket,
    kind: str,
    now: datetime,
    actor: AbstractBaseUser | None,
    clock: str = "",
    data: dict | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, at=now, actor=actor, clock=clock, data=data or {}
    )


def ticket_create(
    *,
    organisation: Organisation,
    requester: Member | None,
    channel: str,
    subject: str,
    body_text: str,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    priority: str = Priority.P3,
    product_area: str = Ticket.ProductArea.OTHER,
    body_html: str = "",
    email_message_id: str = "",
) -> Ticket:
    """Open a ticket with its first message, from any channel."""
    if requester is not None and requester.organisation_id != organisation.pk:
        raise TicketError("The requester belongs to another organisation.")
    subject = subject.strip()
    if not subject:
        raise TicketError("A ticket needs a subject.")
    if not body_text.strip():
        raise TicketError("A ticket needs a description.")
    with transaction.atomic(durable=True):
        (reference,) = references_reserve(count=1)
        ticket = Ticket(
            reference=reference,
            organisation=organisation,
            requester=requester,
            channel=channel,
            subject=subject[:200],
            product_area=product_area,
            priority=priority,
            status=Ticket.Status.NEW,
            region_id=organisation.home_region_id,
            created_at=now,
            updated_at=now,
        )
        ticket.full_clean(exclude=["reference"], validate_unique=False)
        ticket.save(force_insert=True)
        author = actor if actor is not None else (requester.user if requester else None)
        Message.objects.create(
            ticket=ticket,
            author=author,
            author_kind=Message.AuthorKind.CUSTOMER
            if channel != Ticket.Channel.ALERT
            else Message.AuthorKind.SYSTEM,
            visibility=Message.Visibility.PUBLIC,
            channel=channel,
            body_text=body_text,
            body_html=sanitise_html(body_html),
            email_message_id=email_message_id,
            created_at=now,
        )
        _event(
            ticket=ticket,
            kind=TicketEvent.Kind.CREATED,
            now=now,
            actor=actor,
            data={"channel": channel, "priority": priority, "status": ticket.status},
        )
    return ticket


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def ticket_reply(
    *,
    ticket: Ticket,
    author: AbstractBaseUser | None,
    body_text: str,
    now: datetime,
    internal: bool = False,
    channel: str = Ticket.Channel.WEB,
    body_html: str = "",
    email_message_id: str = "",
    email_in_reply_to: str = "",
) -> Message:
    """Add a message. Agents (staff) reply publicly or leave internal notes; customers reply."""
    if not body_text.strip():
        raise TicketError("A message needs some text.")
    is_agent = bool(author is not None and author.is_staff)
    if internal and not is_agent:
        raise TicketError("Only agents can write internal notes.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if ticket.status == Ticket.Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed; open a new ticket instead.")
        message = Message.objects.create(
            ticket=ticket,
            author=author,
            author_kind=Message.AuthorKind.AGENT if is_agent else Message.AuthorKind.CUSTOMER,
            visibility=Message.Visibility.INTERNAL if internal else Message.Visibility.PUBLIC,
            channel=channel,
            body_text=body_text,
            body_html=sanitise_html(body_html),
            email_message_id=email_message_id,
            email_in_reply_to=email_in_reply_to,
            created_at=now,
        )
        if internal:
            kind = TicketEvent.Kind.NOTE
        elif is_agent:
            kind = TicketEvent.Kind.RESPONDED
        else:
            kind = TicketEvent.Kind.MESSAGE
        _event(ticket=ticket, kind=kind, now=now, actor=author, data={"message": message.pk})
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return message


def ticket_change_status(
    *, ticket: Ticket, status: str, now: datetime, actor: AbstractBaseUser | None
) -> Ticket:
    """Move a ticket to another status, keeping the instants that go with it."""
    if status not in Ticket.Status.values:
        raise TicketError(f"Unknown status {status!r}.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        old = ticket.status
        if old == status:
            return ticket
        if old == Ticket.Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed and cannot change.")
        fields = ["status", "updated_at"]
        ticket.status = status
        ticket.updated_at = now
        if status == Ticket.Status.RESOLVED:
            ticket.resolved_at = now
            fields.append("resolved_at")
        elif status == Ticket.Status.CLOSED:
            ticket.closed_at = now
            ticket.resolved_at = ticket.resolved_at or now
            fields += ["closed_at", "resolved_at"]
        elif old == Ticket.Status.RESOLVED:
            ticket.resolved_at = None
            fields.append("resolved_at")
        ticket.save(update_fields=fields)
        if status == Ticket.Status.RESOLVED:
            kind = TicketEvent.Kind.RESOLVED
        elif status == Ticket.Status.CLOSED:
            kind = TicketEvent.Kind.CLOSED
        elif old == Ticket.Status.RESOLVED:
            kind = TicketEvent.Kind.REOPENED
        else:
            kind = TicketEvent.Kind.STATUS
        _event(ticket=ticket, kind=kind, now=now, actor=actor, data={"old": old, "new": status})
    return ticket


def call_log(
    *,
    ticket: Ticket,
    agent: AbstractBaseUser,
    caller_name: str,
    phone_number: str,
    direction: str,
    started_at: datetime,
    duration: timedelta,
    summary: str,
    now: datetime,
) -> PhoneCall:
    """Record a phone call an agent took or made; its summary is a public message."""
    if not agent.is_staff:
        raise TicketError("Only agents log calls.")
    if duration < timedelta(0):
        raise TicketError("A call cannot last less than nothing.")
    if not summary.strip():
        raise TicketError("Summarise the call.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        message = Message.objects.create(
            ticket=ticket,
            author=agent,
            author_kind=Message.AuthorKind.AGENT,
            visibility=Message.Visibility.PUBLIC,
            channel=Ticket.Channel.PHONE,
            body_text=summary,
            created_at=now,
        )
        call = PhoneCall.objects.create(
            ticket=ticket,
            message=message,
            agent=agent,
            caller_name=caller_name,
            phone_number=phone_number,
            direction=direction,
            started_at=started_at,
            duration=duration,
            summary=summary,
            created_at=now,
        )
        _event(
            ticket=ticket,
            kind=TicketEvent.Kind.CALL,
            now=now,
            actor=agent,
            data={"call": call.pk, "direction": direction},
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return call
