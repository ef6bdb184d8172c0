"""Sending the customer emails the ticket services queued (`OutboundEmail`), after commit.

Each email carries Meridian's own Message-ID (stored, so the customer's answer threads),
`In-Reply-To`/`References` to the conversation, the reference token in the subject,
`Auto-Submitted: auto-replied` when a machine wrote it, a plain-text and an HTML part (inline
styles, no remote images) and a link to the ticket. A claim by conditional UPDATE keeps two
senders from sending it twice; a failure releases the claim for the retry.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tickets.models import Message, OutboundEmail
from tickets.services.customer_mail import automatic_cap_reached
from tickets.services.outbox import outbox_claim, outbox_deliver

Kind = OutboundEmail.Kind


def _threading(email: OutboundEmail) -> tuple[str, list[str]]:
    """The Message-ID this email answers and the conversation's references, oldest first."""
    if email.ticket_id is None:
        return "", []
    received = list(
        Message.objects.filter(ticket_id=email.ticket_id)
        .exclude(email_message_id="")
        .order_by("created_at", "id")
        .values_list("email_message_id", flat=True)
    )
    first_sent = (
        OutboundEmail.objects.filter(ticket_id=email.ticket_id, created_at__lte=email.created_at)
        .exclude(pk=email.pk)
        .order_by("created_at", "id")
        .values_list("message_id", flat=True)
        .first()
    )
    chain = [*received[:1], *([first_sent] if first_sent else []), *received[-1:]]
    references = list(dict.fromkeys(chain))
    return (received[-1] if received else first_sent or ""), references[-10:]


def _due_text(email: OutboundEmail, zone: ZoneInfo) -> str:
    due = parse_datetime(email.data.get("first_response_due_at") or "")
    if due is None:
        return ""
    local = due.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone.key})"


def customer_email_message(email: OutboundEmail) -> EmailMultiAlternatives:
    """The email, rendered in the recipient's time zone."""
    member = email.member
    zone = ZoneInfo(member.time_zone if member else "UTC")
    ticket = email.ticket
    reply = email.reply
    author = ""
    if reply is not None and reply.author is not None:
        author = reply.author.get_full_name() or _("Meridian Support")
    context = {
        "kind": email.kind,
        "name": member.user.get_full_name() if member else "",
        "ticket": ticket,
        "reply": reply,
        "author": author,
        "due_text": _due_text(email, zone),
        "reason": email.data.get("reason", ""),
        "summary": email.data.get("summary", ""),
        "revised": email.data.get("revised", False),
        "reopen_days": settings.REOPEN_WINDOW_DAYS,
        "ticket_url": settings.SITE_URL
        + (reverse("tickets:detail", args=[ticket.reference]) if ticket else ""),
    }
    in_reply_to, references = _threading(email)
    headers = {
        "Message-ID": email.message_id,
        "X-Meridian-Outbound": email.kind,
        # Asks Exchange and friends not to answer with an out-of-office.
        "X-Auto-Response-Suppress": "All",
    }
    if email.kind in OutboundEmail.AUTOMATIC:
        headers["Auto-Submitted"] = "auto-replied"
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=render_to_string("tickets/email/customer.txt", context),
        to=[email.to_address],
        headers=headers,
    )
    message.attach_alternative(
        render_to_string("tickets/email/customer.html", context), "text/html"
    )
    return message


def customer_email_send(*, email_id: int, now: datetime) -> bool:
    """Send one queued email unless it was sent, skipped, or another sender holds it. It is
    skipped when the address bounces, or when it is automatic and the address has had its
    hour's share of automatic mail."""
    unsent = OutboundEmail.objects.filter(sent_at__isnull=True, skipped_reason="")
    if not outbox_claim(unsent, pk=email_id, now=now, attempts="attempts"):
        return False
    email = OutboundEmail.objects.select_related("ticket", "member__user", "reply__author").get(
        pk=email_id
    )
    skip = ""
    if email.member is not None and email.member.email_bouncing_since is not None:
        skip = "address bouncing"
    elif automatic_cap_reached(email, now):
        skip = f"more than {settings.EMAIL_AUTOMATIC_PER_HOUR} automatic emails an hour"
    if skip:
        OutboundEmail.objects.filter(pk=email_id).update(skipped_reason=skip)
        return False
    message = customer_email_message(email)
    outbox_deliver(OutboundEmail, pk=email_id, message=message, sent="sent_at", now=now)
    return True
