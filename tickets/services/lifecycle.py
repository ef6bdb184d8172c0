"""Every write to a ticket goes through these functions, whatever the channel.

Each public function owns its transaction, locks the ticket row, moves its SLA clocks with the
transitions of `tickets.clocks`, and records what changed (who, when, old and new due instants) in
`TicketEvent` rows in the same transaction. All take `now` from the caller, so one operation
sees one instant.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

import nh3
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat

from contracts.models import Priority
from contracts.selectors import sla_terms_for
from portal.models import Member, Organisation, Team
from tickets.clocks import Change, Clocks
from tickets.models import (
    Attachment,
    Message,
    PhoneCall,
    ReferenceCounter,
    Ticket,
    TicketEvent,
)
from tickets.services.alerts import alerts_raise
from tickets.sla import (
    clocks_as_data,
    clocks_load,
    clocks_replay,
    clocks_store,
    ticket_schedule,
)

REFERENCE_PREFIX = "MRD-"

Status = Ticket.Status
# Which status a ticket may move to from each status.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# What a customer may do with their own ticket: resolve it, or reopen it.
CUSTOMER_STATUSES = frozenset({Status.RESOLVED, Status.OPEN})


class TicketError(Exception):
    """A request the ticket rules refuse; the message says why, for the person who asked."""


@dataclass(frozen=True)
class CallDetails:
    """A phone call as an agent logs it."""

    caller_name: str
    phone_number: str
    direction: str
    started_at: datetime
    duration: timedelta


def references_reserve(*, count: int) -> list[str]:
    """Reserve `count` consecutive ticket references. Call inside the caller's transaction.

    The counter row stays locked until that transaction ends, so numbers are never handed out
    twice; a rolled-back transaction gives its numbers back.
    """
    if not ReferenceCounter.objects.filter(name="ticket").update(value=F("value") + count):
        # The row comes with the migrations; made again should it ever be missing.
        ReferenceCounter.objects.get_or_create(name="ticket")
        ReferenceCounter.objects.filter(name="ticket").update(value=F("value") + count)
    last = ReferenceCounter.objects.values_list("value", flat=True).get(name="ticket")
    return [f"{REFERENCE_PREFIX}{number:06d}" for number in range(last - count + 1, last + 1)]


def sanitise_html(html: str) -> str:
    """Keep formatting, drop scripts, styles, event handlers and foreign URL schemes."""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}) if html else ""


def _is_agent(user: AbstractBaseUser | None) -> bool:
    return bool(user is not None and user.is_staff)


def _event(
    ticket: Ticket,
    kind: str,
    now: datetime,
    actor: AbstractBaseUser | None,
    *,
    clock: str = "",
    data: dict | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, at=now, actor=actor, clock=clock, data=data or {}
    )


def _record(
    ticket: Ticket,
    kind: str,
    now: datetime,
    actor: AbstractBaseUser | None,
    data: dict,
    changes: Sequence[Change],
) -> TicketEvent:
    """The event of an operation, one event per clock it paused or resumed, then the breaches
    it found, recorded and escalated like the sweep's."""
    event = _event(
        ticket, kind, now, actor, data={**data, "clocks": [c.as_data() for c in changes]}
    )
    derived = {"paused": TicketEvent.Kind.PAUSED, "resumed": TicketEvent.Kind.RESUMED}
    for change in changes:
        # A clock with nothing promised (no target at this priority) pauses silently.
        promised = change.due_before is not None or change.due_after is not None
        if change.what in derived and promised:
            _event(
                ticket,
                derived[change.what],
                now,
                actor,
                clock=change.clock,
                data=change.as_data(),
            )
    alerts_raise(items=[(ticket, changes)], now=now)
    return event


def _save(ticket: Ticket, state: Clocks | None, now: datetime, *fields: str) -> None:
    changed = clocks_store(ticket, state) if state is not None else []
    ticket.updated_at = now
    ticket.save(update_fields=[*fields, *changed, "updated_at"])


def _check_customer_of(ticket: Ticket, user: AbstractBaseUser, action: str) -> None:
    member = getattr(user, "member", None)
    if member is None or member.organisation_id != ticket.organisation_id:
        raise TicketError(f"Only the customer's own people can {action} this ticket.")


def reopen_deadline(ticket: Ticket) -> datetime | None:
    """Until when the customer may reopen a resolved ticket."""
    if ticket.status != Status.RESOLVED or ticket.resolved_at is None:
        return None
    return ticket.resolved_at + timedelta(days=settings.REOPEN_WINDOW_DAYS)


def _check_reopen_window(ticket: Ticket, now: datetime) -> None:
    deadline = reopen_deadline(ticket)
    if deadline is not None and now > deadline:
        raise TicketError(
            f"{ticket.reference} was resolved more than {settings.REOPEN_WINDOW_DAYS} days ago "
            "and can no longer be reopened; please open a new ticket."
        )


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def attachments_check(files: Sequence[UploadedFile]) -> None:
    """Refuse uploads the portal does not take, naming the file and the reason."""
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise TicketError(
            f"At most {settings.ATTACHMENT_MAX_FILES} files per message; {len(files)} were sent."
        )
    allowed = {ext.lower().lstrip(".") for ext in settings.ATTACHMENT_EXTENSIONS}
    limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    for upload in files:
        name = upload.name or "unnamed"
        extension = PurePath(name).suffix.lower().lstrip(".")
        if extension not in allowed:
            raise TicketError(
                f"{name}: files of type .{extension or '?'} are not accepted "
                f"(accepted: {', '.join(sorted(allowed))})."
            )
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise TicketError(f"{name} is larger than {limit}.")
        if upload.size == 0:
            raise TicketError(f"{name} is empty.")


def _attach(
    ticket: Ticket,
    message: Message,
    files: Sequence[UploadedFile],
    uploader: AbstractBaseUser | None,
    now: datetime,
) -> None:
    attachments_check(files)
    for upload in files:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        Attachment.objects.create(
            ticket=ticket,
            message=message,
            file=upload,
            filename=upload.name[:255],
            content_type=(upload.content_type or "application/octet-stream")[:127],
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=uploader,
            created_at=now,
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
    attachments: Sequence[UploadedFile] = (),
    call: CallDetails | None = None,
) -> Ticket:
    """Open a ticket with its first message, take its SLA snapshot and start its clocks.

    The snapshot is the contract active on the organisation's local day, its signed targets for
    every priority, and the coverage calendar at its current version. Without an active contract
    the ticket has no deadlines. A ticket logged from a phone call (`call`) has had its first
    response: the caller spoke to an agent.
    """
    if requester is not None and requester.organisation_id != organisation.pk:
        raise TicketError("The requester belongs to another organisation.")
    subject = " ".join(subject.split())
    if not subject:
        raise TicketError("A ticket needs a subject.")
    if not body_text.strip():
        raise TicketError("A ticket needs a description.")
    if priority not in Priority.values:
        raise TicketError(f"Unknown priority {priority!r}.")
    if call is not None:
        _check_call(actor, call, body_text)
    with transaction.atomic(durable=True):
        terms = sla_terms_for(organisation=organisation, at=now)
        if terms is not None and not terms.allows(priority):
            allowed = ", ".join(p.upper() for p in sorted(terms.targets))
            raise TicketError(
                f"The {terms.tier.name} contract does not cover {priority.upper()}; "
                f"choose one of {allowed}."
            )
        (reference,) = references_reserve(count=1)
        ticket = Ticket(
            reference=reference,
            organisation=organisation,
            requester=requester,
            channel=channel,
            subject=subject[:200],
            product_area=product_area,
            priority=priority,
            status=Status.NEW,
            region_id=organisation.home_region_id,
            created_at=now,
            updated_at=now,
        )
        state, changes = None, []
        if terms is not None:
            ticket.sla_contract = terms.contract
            ticket.sla_tier = terms.tier
            ticket.sla_calendar = terms.calendar
            ticket.sla_calendar_version = terms.calendar_version
            ticket.sla_targets = terms.targets
            ticket.sla_pause_statuses = terms.pause_statuses
            ticket.sla_paused_clocks = terms.paused_clocks
            ticket.sla_warning_thresholds = terms.warning_thresholds
            state, changes = Clocks.start(
                schedule=ticket_schedule(ticket),
                targets=terms.targets,
                pause_statuses=terms.pause_statuses,
                paused_clocks=terms.paused_clocks,
                priority=priority,
                status=Status.NEW,
                at=now,
                thresholds=terms.warning_thresholds,
            )
            clocks_store(ticket, state)
        ticket.full_clean(exclude=["reference"], validate_unique=False)
        ticket.save(force_insert=True)
        if call is not None:
            author_kind = Message.AuthorKind.AGENT
        elif channel == Ticket.Channel.ALERT:
            author_kind = Message.AuthorKind.SYSTEM
        else:
            author_kind = Message.AuthorKind.CUSTOMER
        message = Message.objects.create(
            ticket=ticket,
            author=actor if actor is not None else (requester.user if requester else None),
            author_kind=author_kind,
            visibility=Message.Visibility.PUBLIC,
            channel=channel,
            body_text=body_text,
            body_html=sanitise_html(body_html),
            email_message_id=email_message_id,
            created_at=now,
        )
        _attach(ticket, message, attachments, actor or (requester.user if requester else None), now)
        _record(
            ticket,
            TicketEvent.Kind.CREATED,
            now,
            actor,
            {
                "channel": channel,
                "priority": priority,
                "status": Status.NEW,
                "contract": terms.contract.reference if terms else None,
                "tier": terms.tier.code if terms else None,
            },
            changes,
        )
        if call is not None:
            _log_call(ticket, state, actor, call, body_text, message, now)
            _change_status(ticket, state, Status.OPEN, now, actor)
    return ticket


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
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """Add a message. Agents (staff) reply publicly or leave internal notes; customers reply.

    A public agent reply meets first and next response (and opens a new ticket); a customer
    message starts a next-response clock, and brings a pending or resolved ticket back to open.
    """
    if not body_text.strip():
        raise TicketError("A message needs some text.")
    is_agent = _is_agent(author)
    if internal and not is_agent:
        raise TicketError("Only agents can write internal notes.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if ticket.status == Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed; open a new ticket instead.")
        if not is_agent and author is not None:
            _check_customer_of(ticket, author, "reply to")
            _check_reopen_window(ticket, now)
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
        _attach(ticket, message, attachments, author, now)
        state = clocks_load(ticket)
        changes: list[Change] = []
        if internal:
            kind = TicketEvent.Kind.NOTE
        elif is_agent:
            kind = TicketEvent.Kind.RESPONDED
            changes = state.agent_response(now) if state else []
        else:
            kind = TicketEvent.Kind.MESSAGE
            changes = state.customer_message(now) if state else []
        _save(ticket, state, now)
        _record(ticket, kind, now, author, {"message": message.pk}, changes)
        if not internal:
            follow_up = {
                (True, Status.NEW): Status.OPEN,
                (False, Status.PENDING): Status.OPEN,
                (False, Status.RESOLVED): Status.OPEN,
            }.get((is_agent, ticket.status))
            if follow_up:
                _change_status(ticket, state, follow_up, now, author)
    return message


def _change_status(
    ticket: Ticket,
    state: Clocks | None,
    status: str,
    now: datetime,
    actor: AbstractBaseUser | None,
) -> None:
    old = ticket.status
    if status not in STATUS_TRANSITIONS[old]:
        raise TicketError(
            f"{ticket.reference} cannot go from {Status(old).label.lower()} to "
            f"{Status(status).label.lower()}."
        )
    changes = state.change_status(now, status) if state else []
    ticket.status = status
    fields = ["status"]
    if status in (Status.RESOLVED, Status.CLOSED) and old not in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = now
        fields.append("resolved_at")
    if status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    if old == Status.RESOLVED and status != Status.CLOSED:
        ticket.resolved_at = None
        fields.append("resolved_at")
    _save(ticket, state, now, *fields)
    if status == Status.RESOLVED:
        kind = TicketEvent.Kind.RESOLVED
    elif status == Status.CLOSED:
        kind = TicketEvent.Kind.CLOSED
    elif old == Status.RESOLVED:
        kind = TicketEvent.Kind.REOPENED
    else:
        kind = TicketEvent.Kind.STATUS
    _record(ticket, kind, now, actor, {"old": old, "new": status}, changes)


def ticket_change_status(
    *, ticket: Ticket, status: str, now: datetime, actor: AbstractBaseUser | None
) -> Ticket:
    """Move a ticket to another status; pausing statuses pause and resume the tier's clocks."""
    if status not in Status.values:
        raise TicketError(f"Unknown status {status!r}.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if ticket.status == status:
            return ticket
        if ticket.status == Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed and cannot change.")
        if actor is not None and not _is_agent(actor):
            _check_customer_of(ticket, actor, "change")
            if status not in CUSTOMER_STATUSES or (
                status == Status.OPEN and ticket.status != Status.RESOLVED
            ):
                raise TicketError("Customers can resolve a ticket or reopen a resolved one.")
            if status == Status.OPEN:
                _check_reopen_window(ticket, now)
        _change_status(ticket, clocks_load(ticket), status, now, actor)
    return ticket


def ticket_change_priority(
    *, ticket: Ticket, priority: str, now: datetime, actor: AbstractBaseUser | None
) -> Ticket:
    """Change priority; running clocks are re-targeted from the ticket's start."""
    if actor is not None and not _is_agent(actor):
        raise TicketError("Only agents change the priority of a ticket.")
    if priority not in Priority.values:
        raise TicketError(f"Unknown priority {priority!r}.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if ticket.priority == priority:
            return ticket
        if ticket.status == Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed and cannot change.")
        if ticket.has_sla and priority not in ticket.sla_targets:
            raise TicketError(
                f"{ticket.reference}'s contract ({ticket.sla_tier}) does not cover "
                f"{priority.upper()}."
            )
        state = clocks_load(ticket)
        old = ticket.priority
        changes = state.change_priority(now, priority) if state else []
        ticket.priority = priority
        _save(ticket, state, now, "priority")
        _record(
            ticket, TicketEvent.Kind.PRIORITY, now, actor, {"old": old, "new": priority}, changes
        )
    return ticket


def ticket_mark_workaround(
    *, ticket: Ticket, now: datetime, actor: AbstractBaseUser, note: str = ""
) -> Ticket:
    """An agent records that the customer has a workaround: the workaround clock is met."""
    if not _is_agent(actor):
        raise TicketError("Only agents mark a workaround.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if not ticket.is_open:
            raise TicketError(f"{ticket.reference} is {ticket.get_status_display().lower()}.")
        if ticket.workaround_met_at is not None:
            raise TicketError(f"{ticket.reference} already has a workaround.")
        state = clocks_load(ticket)
        changes = state.workaround(now) if state else []
        if state is None:
            ticket.workaround_met_at = now
        _save(ticket, state, now, *([] if state else ["workaround_met_at"]))
        _record(ticket, TicketEvent.Kind.WORKAROUND, now, actor, {"note": note}, changes)
    return ticket


def ticket_assign(
    *,
    ticket: Ticket,
    now: datetime,
    actor: AbstractBaseUser | None,
    team: Team | None,
    assignee: AbstractBaseUser | None,
    reason: str = "",
) -> Ticket:
    """Give the ticket to a team and (optionally) an agent of it."""
    if assignee is not None and not _is_agent(assignee):
        raise TicketError("Tickets are assigned to agents.")
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        old = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
        ticket.team = team
        ticket.assignee = assignee
        if team is not None:
            ticket.region_id = team.region_id
        new = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
        if new == old:
            return ticket
        _save(ticket, None, now, "team", "assignee", "region")
        _record(
            ticket,
            TicketEvent.Kind.ASSIGNED,
            now,
            actor,
            {"old": old, "new": new, "reason": reason},
            [],
        )
    return ticket


def _check_call(agent: AbstractBaseUser | None, call: CallDetails, summary: str) -> None:
    if not _is_agent(agent):
        raise TicketError("Only agents log calls.")
    if call.duration < timedelta(0):
        raise TicketError("A call cannot last less than nothing.")
    if not summary.strip():
        raise TicketError("Summarise the call.")
    if call.direction not in PhoneCall.Direction.values:
        raise TicketError(f"Unknown call direction {call.direction!r}.")


def _log_call(
    ticket: Ticket,
    state: Clocks | None,
    agent: AbstractBaseUser,
    call: CallDetails,
    summary: str,
    message: Message,
    now: datetime,
) -> PhoneCall:
    phone_call = PhoneCall.objects.create(
        ticket=ticket,
        message=message,
        agent=agent,
        caller_name=call.caller_name,
        phone_number=call.phone_number,
        direction=call.direction,
        started_at=call.started_at,
        duration=call.duration,
        summary=summary,
        created_at=now,
    )
    changes = state.agent_response(now) if state else []
    _save(ticket, state, now)
    _record(
        ticket,
        TicketEvent.Kind.CALL,
        now,
        agent,
        {"call": phone_call.pk, "direction": call.direction},
        changes,
    )
    return phone_call


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
    """Record a phone call an agent took or made; it is a public response on the ticket."""
    details = CallDetails(caller_name, phone_number, direction, started_at, duration)
    _check_call(agent, details, summary)
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        if ticket.status == Status.CLOSED:
            raise TicketError(f"{ticket.reference} is closed; open a new ticket instead.")
        message = Message.objects.create(
            ticket=ticket,
            author=agent,
            author_kind=Message.AuthorKind.AGENT,
            visibility=Message.Visibility.PUBLIC,
            channel=Ticket.Channel.PHONE,
            body_text=summary,
            created_at=now,
        )
        state = clocks_load(ticket)
        phone_call = _log_call(ticket, state, agent, details, summary, message, now)
        if ticket.status == Status.NEW:
            _change_status(ticket, state, Status.OPEN, now, agent)
    return phone_call


def ticket_clocks_fix(*, ticket: Ticket, now: datetime) -> list[str]:
    """Set the stored clocks to what the event history replays to; returns the fields changed.

    Recorded as a `corrected` event with the old and new values, so the fix itself is history.
    """
    with transaction.atomic(durable=True):
        ticket = _lock(ticket)
        state = clocks_replay(ticket, ticket.events.order_by("id"))
        if state is None:
            return []
        before = clocks_as_data(clocks_load(ticket, state.schedule))
        changed = clocks_store(ticket, state)
        if not changed:
            return []
        ticket.save(update_fields=changed)
        _event(
            ticket,
            TicketEvent.Kind.CORRECTED,
            now,
            None,
            data={"before": before, "after": clocks_as_data(state), "fields": changed},
        )
    return changed
