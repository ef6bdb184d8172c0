"""Emails to customers, written in the transaction of the change they report (the outbox).

`History.write` hands every operation's events here: a new ticket is acknowledged, a public
agent reply is copied, waiting-on-customer and resolution are announced, a root cause recorded
or revised is told (its public summary only, never the internal detail), each to the ticket's
requester if they chose to receive it and their address is not bouncing. The rows are sent
after commit by `tickets.tasks.send_customer_emails` (`tickets.channels.email.outbound`), which
caps automatic mail to one address per hour: two auto-responders can never ping-pong.
"""

import secrets
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from portal.models import Member
from tickets.models import OutboundEmail, Ticket, TicketEvent
from tickets.services.outbox import SEND_CUSTOMER_EMAILS_TASK, outbox_dispatch

Kind = OutboundEmail.Kind
# The member's choice that lets each kind through.
PREFERENCE: dict[str, str] = {
    Kind.ACKNOWLEDGEMENT: "email_on_created",
    Kind.REPLY: "email_on_reply",
    Kind.WAITING: "email_on_waiting",
    Kind.RESOLVED: "email_on_resolved",
    # What support found, written by an agent: news from support, as a reply is.
    Kind.ROOT_CAUSE: "email_on_reply",
}


def new_message_id() -> str:
    # Not `email.utils.make_msgid`: its random part comes from the `random` module, which a
    # seeded caller (a test framework, a library) makes repeat.
    return f"<{time.time_ns()}.{secrets.token_hex(12)}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def subject_for(ticket: Ticket, kind: str) -> str:
    token = f"[{ticket.reference}]"
    if kind == Kind.ACKNOWLEDGEMENT:
        return _("%(token)s Received: %(subject)s") % {"token": token, "subject": ticket.subject}
    if kind == Kind.RESOLVED:
        return _("%(token)s Resolved: %(subject)s") % {"token": token, "subject": ticket.subject}
    if kind == Kind.ROOT_CAUSE:
        return _("%(token)s Root cause: %(subject)s") % {"token": token, "subject": ticket.subject}
    if kind == Kind.WAITING:
        return _("%(token)s Waiting for your answer: %(subject)s") % {
            "token": token,
            "subject": ticket.subject,
        }
    return f"Re: {token} {ticket.subject}"


def automatic_cap_reached(email: OutboundEmail, now: datetime) -> bool:
    """Whether the email is automatic and its address has had its hour's share of automatic
    mail (acknowledgements, notices, refusals) already. Checked by the sender, outside the
    write path: two auto-responders writing to each other are stopped here."""
    if email.kind not in OutboundEmail.AUTOMATIC:
        return False
    sent = OutboundEmail.objects.filter(
        to_address=email.to_address,
        sent_at__gt=now - timedelta(hours=1),
        kind__in=OutboundEmail.AUTOMATIC,
    ).count()
    return sent >= settings.EMAIL_AUTOMATIC_PER_HOUR


def _kinds_of(events: Sequence[TicketEvent]) -> list[tuple[str, int | None, dict]]:
    """What each event calls for: the kind of email, the reply it copies, its data."""
    kinds: list[tuple[str, int | None, dict]] = []
    for event in events:
        if event.kind == TicketEvent.Kind.CREATED:
            kinds.append((Kind.ACKNOWLEDGEMENT, None, {}))
        elif event.kind == TicketEvent.Kind.RESPONDED:
            kinds.append((Kind.REPLY, event.data.get("message"), {}))
        elif event.kind == TicketEvent.Kind.STATUS and event.data.get("new") == "pending":
            kinds.append((Kind.WAITING, None, {}))
        elif event.kind == TicketEvent.Kind.RESOLVED:
            kinds.append((Kind.RESOLVED, None, {}))
        elif event.kind == TicketEvent.Kind.ROOT_CAUSE:
            # The summary as it was recorded (a later revision sends its own email); the
            # event never holds the internal detail, and neither does the email.
            data = {"summary": event.data["summary"], "revised": event.data["revised"]}
            kinds.append((Kind.ROOT_CAUSE, None, data))
    return kinds


def customer_mail_queue(
    ticket: Ticket, events: Sequence[TicketEvent], *, now: datetime, acknowledge: bool = True
) -> list[OutboundEmail]:
    """Write the customer emails these events call for. Call inside the operation's transaction."""
    kinds = _kinds_of(events)
    if not acknowledge:
        kinds = [row for row in kinds if row[0] != Kind.ACKNOWLEDGEMENT]
    if not kinds or ticket.requester_id is None:
        return []
    member = _requester(ticket)
    address = member.user.email.strip()
    if not address or member.email_bouncing_since is not None:
        return []
    rows = []
    for kind, reply_id, event_data in kinds:
        if not getattr(member, PREFERENCE[kind]):
            continue
        data = dict(event_data)
        if kind == Kind.ACKNOWLEDGEMENT and ticket.first_response_due_at is not None:
            data["first_response_due_at"] = ticket.first_response_due_at.isoformat()
        rows.append(
            OutboundEmail(
                kind=kind,
                ticket=ticket,
                reply_id=reply_id,
                member=member,
                to_address=address,
                subject=subject_for(ticket, kind)[:255],
                message_id=new_message_id(),
                data=data,
                created_at=now,
            )
        )
    if rows:
        OutboundEmail.objects.bulk_create(rows)
        outbox_dispatch(SEND_CUSTOMER_EMAILS_TASK, [row.pk for row in rows])
    return rows


def _requester(ticket: Ticket) -> Member:
    member = ticket.requester if Ticket.requester.is_cached(ticket) else None
    if member is not None and Member.user.is_cached(member):
        return member
    return Member.objects.select_related("user").get(pk=ticket.requester_id or 0)


def refusal_queue(*, address: str, subject: str, reason: str, now: datetime) -> OutboundEmail:
    """Tell a sender once why their message was not stored (quarantined as too large, say)."""
    row = OutboundEmail.objects.create(
        kind=Kind.REFUSED,
        to_address=address,
        subject=(_("Not delivered: %(subject)s") % {"subject": subject or _("(no subject)")})[:255],
        message_id=new_message_id(),
        data={"reason": reason},
        created_at=now,
    )
    outbox_dispatch(SEND_CUSTOMER_EMAILS_TASK, [row.pk])
    return row
