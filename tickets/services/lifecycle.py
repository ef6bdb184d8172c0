"""Every change to an existing ticket, whatever the channel: replies and notes, logged calls,
status, priority, workaround, assignment, details, and the support desk's edit of several at
once.

Each public function owns one durable transaction: it locks the ticket row, applies its steps
(`TicketWork`), and finishes with one UPDATE of what changed and the events of every step, in
the same transaction. All take `now` from the caller, so one operation sees one instant. The
steps are private and open no transaction, so the desk's edit runs several of them in one.
"""

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from contracts.sla_names import Priority
from portal.models import Team
from tickets.clock_replay import clocks_replay
from tickets.clock_store import clocks_as_data, clocks_load, clocks_store
from tickets.models import Message, PhoneCall, Ticket, TicketEvent
from tickets.rules import (
    CUSTOMER_STATUSES,
    CallDetails,
    TicketError,
    attachments_check,
    call_check,
    reopen_deadline,
    root_cause_refusal,
    sanitise_html,
    status_refusal,
    ticket_priority_refusal,
)
from tickets.services.creation import attachments_store
from tickets.services.history import TicketWork, is_agent, ticket_lock

Status = Ticket.Status


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


# `ticket_update(team=UNCHANGED)`: leave this part of the ticket as it is (the default).
UNCHANGED = _Unchanged.UNCHANGED
Unchanged = Literal[_Unchanged.UNCHANGED]


def _check_customer_of(ticket: Ticket, user: User, action: str) -> None:
    member = getattr(user, "member", None)
    if member is None or member.organisation_id != ticket.organisation_id:
        raise TicketError(
            _("Only the customer's own people can %(action)s this ticket.") % {"action": action}
        )


def _check_reopen_window(ticket: Ticket, now: datetime) -> None:
    deadline = reopen_deadline(ticket)
    if deadline is not None and now > deadline:
        raise TicketError(
            _(
                "%(reference)s was resolved more than %(days)d days ago and can no longer be "
                "reopened; please open a new ticket."
            )
            % {"reference": ticket.reference, "days": settings.REOPEN_WINDOW_DAYS}
        )


def _check_open_to_change(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketError(
            _("%(reference)s is closed and cannot change.") % {"reference": ticket.reference}
        )


# --- Steps: each applies one change to a locked ticket, inside the caller's transaction ---------


def _status_step(work: TicketWork, status: str, actor: User | None) -> None:
    ticket, now = work.ticket, work.now
    old = ticket.status
    refusal = status_refusal(reference=ticket.reference, old=old, new=status)
    if refusal:
        raise TicketError(refusal, field="status")
    changes = work.state.change_status(now, status) if work.state else []
    ticket.status = status
    work.changed("status")
    if status in (Status.RESOLVED, Status.CLOSED) and old not in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = now
        work.changed("resolved_at")
    if status == Status.CLOSED:
        ticket.closed_at = now
        work.changed("closed_at")
    if old == Status.RESOLVED and status != Status.CLOSED:
        ticket.resolved_at = None
        work.changed("resolved_at")
    if status == Status.RESOLVED:
        kind = TicketEvent.Kind.RESOLVED
    elif status == Status.CLOSED:
        kind = TicketEvent.Kind.CLOSED
    elif old == Status.RESOLVED:
        kind = TicketEvent.Kind.REOPENED
    else:
        kind = TicketEvent.Kind.STATUS
    work.history.add(kind, actor, {"old": old, "new": status}, changes=changes)


def _reply_step(
    work: TicketWork,
    *,
    author: User | None,
    body_text: str,
    internal: bool,
    channel: str,
    body_html: str = "",
    email_message_id: str = "",
    email_in_reply_to: str = "",
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    ticket, now = work.ticket, work.now
    agent = is_agent(author)
    if ticket.status == Status.CLOSED:
        raise TicketError(
            _("%(reference)s is closed; open a new ticket instead.")
            % {"reference": ticket.reference}
        )
    if not agent and author is not None:
        _check_customer_of(ticket, author, _("reply to"))
        _check_reopen_window(ticket, now)
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_kind=Message.AuthorKind.AGENT if agent else Message.AuthorKind.CUSTOMER,
        visibility=Message.Visibility.INTERNAL if internal else Message.Visibility.PUBLIC,
        channel=channel,
        body_text=body_text,
        body_html=sanitise_html(body_html),
        email_message_id=email_message_id,
        email_in_reply_to=email_in_reply_to,
        created_at=now,
    )
    attachments_store(ticket=ticket, message=message, files=attachments, uploader=author, now=now)
    if internal:
        kind, changes = TicketEvent.Kind.NOTE, []
    elif agent:
        kind = TicketEvent.Kind.RESPONDED
        changes = work.state.agent_response(now) if work.state else []
    else:
        kind = TicketEvent.Kind.MESSAGE
        changes = work.state.customer_message(now) if work.state else []
        ticket.last_customer_message_at = now
        work.changed("last_customer_message_at")
    work.history.add(kind, author, {"message": message.pk}, changes=changes)
    if not internal:
        # An agent's answer opens a new ticket; a customer's message brings it back to work.
        follow_ups: dict[tuple[bool, str], str] = {
            (True, Status.NEW): Status.OPEN,
            (False, Status.PENDING): Status.OPEN,
            (False, Status.RESOLVED): Status.OPEN,
        }
        follow_up = follow_ups.get((agent, ticket.status))
        if follow_up:
            _status_step(work, follow_up, author)
    return message


def _priority_step(work: TicketWork, priority: str, actor: User | None) -> None:
    ticket = work.ticket
    if priority not in Priority.values:
        raise TicketError(
            _("Unknown priority %(priority)r.") % {"priority": priority}, field="priority"
        )
    if ticket.priority == priority:
        return
    refusal = ticket_priority_refusal(ticket, priority)
    if refusal:
        raise TicketError(refusal, field="priority")
    old = ticket.priority
    changes = work.state.change_priority(work.now, priority) if work.state else []
    ticket.priority = priority
    work.changed("priority")
    work.history.add(
        TicketEvent.Kind.PRIORITY, actor, {"old": old, "new": priority}, changes=changes
    )


def _workaround_step(work: TicketWork, actor: User, note: str) -> None:
    ticket = work.ticket
    if not ticket.is_open:
        raise TicketError(
            _("%(reference)s is %(status)s.")
            % {"reference": ticket.reference, "status": ticket.get_status_display().lower()},
            field="workaround",
        )
    if ticket.workaround_met_at is not None:
        raise TicketError(
            _("%(reference)s already has a workaround.") % {"reference": ticket.reference},
            field="workaround",
        )
    changes = work.state.workaround(work.now) if work.state else []
    if work.state is None:
        ticket.workaround_met_at = work.now
        work.changed("workaround_met_at")
    work.history.add(TicketEvent.Kind.WORKAROUND, actor, {"note": note}, changes=changes)


def _root_cause_step(work: TicketWork, actor: User, summary: str, detail: str) -> None:
    ticket = work.ticket
    summary, detail = summary.strip(), detail.strip()
    refusal = root_cause_refusal(summary)
    if refusal:
        raise TicketError(refusal, field="root_cause_summary")
    revised = bool(ticket.root_cause_summary)
    if revised and (summary, detail) == (ticket.root_cause_summary, ticket.root_cause_detail):
        return
    # The first record meets the clock (whatever the status: a root cause is often found after
    # the fix); a later one revises the text and leaves the clock as it is (met already), but,
    # like every transition, records the breaches of other clocks at its instant.
    changes = work.state.root_cause(work.now) if work.state else []
    if work.state is None and ticket.root_cause_met_at is None:
        ticket.root_cause_met_at = work.now
        work.changed("root_cause_met_at")
    ticket.root_cause_summary, ticket.root_cause_detail = summary, detail
    work.changed("root_cause_summary", "root_cause_detail")
    # The internal detail stays on the ticket, out of the history customers may read.
    work.history.add(
        TicketEvent.Kind.ROOT_CAUSE,
        actor,
        {"summary": summary, "revised": revised, "with_detail": bool(detail)},
        changes=changes,
    )


def _assign_step(
    work: TicketWork,
    *,
    team: Team | None,
    assignee: User | None,
    actor: User | None,
    reason: str,
) -> None:
    ticket = work.ticket
    if assignee is not None and not is_agent(assignee):
        raise TicketError(_("Tickets are assigned to agents."), field="assignee")
    old = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
    ticket.team = team
    ticket.assignee = assignee
    if team is not None:
        ticket.region_id = team.region_id
    new = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
    if new == old:
        return
    work.changed("team", "assignee", "region")
    work.history.add(TicketEvent.Kind.ASSIGNED, actor, {"old": old, "new": new, "reason": reason})


def _details_step(work: TicketWork, *, subject: str, product_area: str, actor: User | None) -> None:
    ticket = work.ticket
    subject = " ".join(subject.split())[:200]
    if not subject:
        raise TicketError(_("A ticket needs a subject."), field="subject")
    if product_area not in Ticket.ProductArea.values:
        raise TicketError(
            _("Unknown product area %(area)r.") % {"area": product_area}, field="product_area"
        )
    old = {"subject": ticket.subject, "product_area": ticket.product_area}
    new = {"subject": subject, "product_area": product_area}
    if new == old:
        return
    ticket.subject, ticket.product_area = subject, product_area
    work.changed("subject", "product_area")
    work.history.add(TicketEvent.Kind.DETAILS, actor, {"old": old, "new": new})


# --- Services --------------------------------------------------------------------------------


def ticket_reply(
    *,
    ticket: Ticket,
    author: User | None,
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
        raise TicketError(_("A message needs some text."), field="body")
    if internal and not is_agent(author):
        raise TicketError(_("Only agents can write internal notes."), field="internal")
    with transaction.atomic(durable=True):
        work = TicketWork.on(ticket_lock(ticket), now=now)
        message = _reply_step(
            work,
            author=author,
            body_text=body_text,
            internal=internal,
            channel=channel,
            body_html=body_html,
            email_message_id=email_message_id,
            email_in_reply_to=email_in_reply_to,
            attachments=attachments,
        )
        work.finish()
    return message


def ticket_system_note(
    *,
    ticket: Ticket,
    body_text: str,
    now: datetime,
    channel: str = Ticket.Channel.EMAIL,
    email_message_id: str = "",
    email_in_reply_to: str = "",
    data: dict[str, str] | None = None,
) -> Message:
    """An internal note Meridian writes itself (an out-of-office reply, a stranger's message
    naming the ticket): agents see it, customers do not, and it moves no status or clock."""
    with transaction.atomic(durable=True):
        work = TicketWork.on(ticket_lock(ticket), now=now)
        message = Message.objects.create(
            ticket=work.ticket,
            author=None,
            author_kind=Message.AuthorKind.SYSTEM,
            visibility=Message.Visibility.INTERNAL,
            channel=channel,
            body_text=body_text,
            email_message_id=email_message_id,
            email_in_reply_to=email_in_reply_to,
            created_at=now,
        )
        work.history.add(
            TicketEvent.Kind.NOTE, None, {"message": message.pk, **(data or {})}, with_clocks=False
        )
        work.finish()
    return message


def ticket_change_status(
    *, ticket: Ticket, status: str, now: datetime, actor: User | None
) -> Ticket:
    """Move a ticket to another status; pausing statuses pause and resume the tier's clocks."""
    if status not in Status.values:
        raise TicketError(_("Unknown status %(status)r.") % {"status": status}, field="status")
    with transaction.atomic(durable=True):
        ticket = ticket_lock(ticket)
        if ticket.status == status:
            return ticket
        _check_open_to_change(ticket)
        if actor is not None and not is_agent(actor):
            _check_customer_of(ticket, actor, _("change"))
            if status not in CUSTOMER_STATUSES or (
                status == Status.OPEN and ticket.status != Status.RESOLVED
            ):
                raise TicketError(
                    _("Customers can resolve a ticket or reopen a resolved one."), field="status"
                )
            if status == Status.OPEN:
                _check_reopen_window(ticket, now)
        work = TicketWork.on(ticket, now=now)
        _status_step(work, status, actor)
        return work.finish()


def ticket_change_priority(
    *, ticket: Ticket, priority: str, now: datetime, actor: User | None
) -> Ticket:
    """Change priority; running clocks are re-targeted from the ticket's start."""
    if actor is not None and not is_agent(actor):
        raise TicketError(_("Only agents change the priority of a ticket."), field="priority")
    with transaction.atomic(durable=True):
        ticket = ticket_lock(ticket)
        if ticket.priority == priority:
            return ticket
        _check_open_to_change(ticket)
        work = TicketWork.on(ticket, now=now)
        _priority_step(work, priority, actor)
        return work.finish()


def ticket_mark_workaround(*, ticket: Ticket, now: datetime, actor: User, note: str = "") -> Ticket:
    """An agent records that the customer has a workaround: the workaround clock is met."""
    if not is_agent(actor):
        raise TicketError(_("Only agents mark a workaround."), field="workaround")
    with transaction.atomic(durable=True):
        work = TicketWork.on(ticket_lock(ticket), now=now)
        _workaround_step(work, actor, note)
        return work.finish()


def ticket_record_root_cause(
    *, ticket: Ticket, now: datetime, actor: User, summary: str, detail: str = ""
) -> Ticket:
    """An agent records the root cause: a summary the customer reads and an optional internal
    detail. The first record meets the root-cause clock; a later one revises the text."""
    if not is_agent(actor):
        raise TicketError(_("Only agents record a root cause."), field="root_cause_summary")
    with transaction.atomic(durable=True):
        work = TicketWork.on(ticket_lock(ticket), now=now)
        _root_cause_step(work, actor, summary, detail)
        return work.finish()


def ticket_assign(
    *,
    ticket: Ticket,
    now: datetime,
    actor: User | None,
    team: Team | None,
    assignee: User | None,
    reason: str = "",
) -> Ticket:
    """Give the ticket to a team and (optionally) an agent of it."""
    with transaction.atomic(durable=True):
        ticket = ticket_lock(ticket)
        if (ticket.team_id, ticket.assignee_id) == (
            team.pk if team else None,
            assignee.pk if assignee else None,
        ):
            return ticket
        work = TicketWork.on(ticket, now=now)
        _assign_step(work, team=team, assignee=assignee, actor=actor, reason=reason)
        return work.finish()


def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    now: datetime,
    subject: str | Unchanged = UNCHANGED,
    product_area: str | Unchanged = UNCHANGED,
    team: Team | None | Unchanged = UNCHANGED,
    assignee: User | None | Unchanged = UNCHANGED,
    priority: str | Unchanged = UNCHANGED,
    reply: str = "",
    internal: bool = False,
    workaround: bool = False,
    workaround_note: str = "",
    root_cause_summary: str = "",
    root_cause_detail: str = "",
    status: str | Unchanged = UNCHANGED,
    reason: str = "",
    attachments: Sequence[UploadedFile] = (),
    channel: str = Message.Channel.DESK,
) -> Ticket:
    """An agent's edit of a ticket in the support desk or through the API, all or nothing:
    details, team and assignee, priority, a reply or an internal note (with its files, checked
    as the portal checks them), the workaround, the root cause (when a summary is given), then
    the status, each with its events, in one
    transaction. Parts left `UNCHANGED` (or empty) are not touched; a part equal to what the
    ticket has already changes nothing. The reply is recorded as coming through `channel`.
    """
    if not is_agent(actor):
        raise TicketError(_("Only agents edit tickets in the support desk."))
    if internal and not reply.strip():
        raise TicketError(_("Write the note."), field="reply")
    if attachments and not reply.strip():
        raise TicketError(_("Files go with a reply or a note: write one."), field="reply")
    attachments_check(attachments)
    with transaction.atomic(durable=True):
        ticket = ticket_lock(ticket)
        work = TicketWork.on(ticket, now=now)
        if subject is not UNCHANGED or product_area is not UNCHANGED:
            _check_open_to_change(ticket)
            _details_step(
                work,
                subject=ticket.subject if subject is UNCHANGED else subject,
                product_area=ticket.product_area if product_area is UNCHANGED else product_area,
                actor=actor,
            )
        if team is not UNCHANGED or assignee is not UNCHANGED:
            _assign_step(
                work,
                team=ticket.team if team is UNCHANGED else team,
                assignee=ticket.assignee if assignee is UNCHANGED else assignee,
                actor=actor,
                reason=reason or _("changed in the support desk"),
            )
        if priority is not UNCHANGED and priority != ticket.priority:
            _check_open_to_change(ticket)
            _priority_step(work, priority, actor)
        if reply.strip():
            _reply_step(
                work,
                author=actor,
                body_text=reply,
                internal=internal,
                channel=channel,
                attachments=attachments,
            )
        if workaround:
            _workaround_step(work, actor, workaround_note)
        if root_cause_summary.strip() or root_cause_detail.strip():
            _root_cause_step(work, actor, root_cause_summary, root_cause_detail)
        if status is not UNCHANGED and status != ticket.status:
            _check_open_to_change(ticket)
            _status_step(work, status, actor)
        return work.finish()


def call_log(
    *,
    ticket: Ticket,
    agent: User,
    caller_name: str,
    phone_number: str,
    direction: str,
    started_at: datetime,
    duration: timedelta,
    summary: str,
    now: datetime,
    late_reason: str = "",
) -> PhoneCall:
    """Record a phone call an agent took or made on an existing ticket; it is a public
    response on the ticket, counted when it is logged (the ticket's history since the call's
    start stands as recorded)."""
    details = CallDetails(caller_name, phone_number, direction, started_at, duration, late_reason)
    if not is_agent(agent):
        raise TicketError(_("Only agents log calls."))
    call_check(details, summary, now=now)
    with transaction.atomic(durable=True):
        work = TicketWork.on(ticket_lock(ticket), now=now)
        ticket = work.ticket
        if ticket.status == Status.CLOSED:
            raise TicketError(
                _("%(reference)s is closed; open a new ticket instead.")
                % {"reference": ticket.reference},
                field="ticket",
            )
        if started_at < ticket.created_at:
            raise TicketError(
                _("The call cannot start before its ticket was opened."), field="started_at"
            )
        message = Message.objects.create(
            ticket=ticket,
            author=agent,
            author_kind=Message.AuthorKind.AGENT,
            visibility=Message.Visibility.PUBLIC,
            channel=Ticket.Channel.PHONE,
            body_text=summary,
            created_at=now,
        )
        phone_call = PhoneCall.objects.create(
            ticket=ticket,
            message=message,
            agent=agent,
            caller_name=caller_name,
            phone_number=phone_number,
            direction=direction,
            started_at=started_at,
            duration=duration,
            summary=summary,
            late_reason=late_reason.strip(),
            created_at=now,
        )
        changes = work.state.agent_response(now) if work.state else []
        work.history.add(
            TicketEvent.Kind.CALL,
            agent,
            {
                "call": phone_call.pk,
                "direction": direction,
                "called_at": started_at.isoformat(),
                "logged_at": now.isoformat(),
                "late_reason": late_reason.strip(),
            },
            changes=changes,
        )
        if ticket.status == Status.NEW:
            _status_step(work, Status.OPEN, agent)
        work.finish()
    return phone_call


def ticket_clocks_fix(*, ticket: Ticket, now: datetime) -> list[str]:
    """Set the stored clocks to what the event history replays to; returns the fields changed.

    Recorded as a `corrected` event with the old and new values, so the fix itself is history.
    """
    with transaction.atomic(durable=True):
        ticket = ticket_lock(ticket)
        state = clocks_replay(ticket, ticket.events.order_by("id"))
        stored = clocks_load(ticket, state.schedule) if state is not None else None
        if state is None or stored is None:
            return []
        before = clocks_as_data(stored)
        changed = clocks_store(ticket, state)
        if not changed:
            return []
        ticket.save(update_fields=changed)
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.CORRECTED,
            at=now,
            data={"before": before, "after": clocks_as_data(state), "fields": changed},
        )
    return changed
