"""Sending notification emails, reading and acknowledging escalations."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from contracts.sla_names import Clock
from portal.errors import Refusal
from tickets.clock_display import format_duration
from tickets.models import Escalation, Notification, SLAAlert, TicketEvent
from tickets.services.outbox import outbox_claim, outbox_deliver


class NotificationError(Refusal):
    """A request about notifications the rules refuse."""


def _recipient_zone(user: User) -> ZoneInfo:
    profile = getattr(user, "agent", None) or getattr(user, "member", None)
    return ZoneInfo(profile.time_zone if profile else "UTC")


def notification_email(notification: Notification, *, now: datetime) -> EmailMultiAlternatives:
    """The email for a notification, in the recipient's time zone."""
    escalation = notification.escalation
    alert, ticket, recipient = escalation.alert, notification.ticket, notification.recipient
    zone = _recipient_zone(recipient)
    due_local = alert.due_at.astimezone(zone)
    left = alert.due_at - now
    breach = alert.kind == SLAAlert.Kind.BREACH
    clock = str(Clock(alert.clock).label)
    what = "breached" if breach else f"{alert.threshold}% of its time used"
    reminder = f" (reminder {notification.sequence})" if notification.sequence else ""
    context = {
        "notification": notification,
        "escalation": escalation,
        "alert": alert,
        "ticket": ticket,
        "recipient": recipient,
        "clock": clock,
        "what": what,
        "breach": breach,
        # Formatted here: template date filters would convert back to the active zone.
        "due_text": f"{due_local:%a} {due_local.day} {due_local:%b %Y, %H:%M %Z}",
        "time_zone": str(zone),
        "overdue": left < timedelta(0),
        "time_left": format_duration(abs(left)),
        "ticket_url": settings.SITE_URL + reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        "acknowledge_url": settings.SITE_URL
        + reverse("admin:tickets_escalation_change", args=[escalation.pk]),
        "reminder": reminder,
    }
    tag = "Breach" if breach else f"Warning {alert.threshold}%"
    subject = (
        f"[{tag}] {ticket.reference} {ticket.organisation.name}: {clock.lower()} "
        f"{'overdue' if breach else 'due ' + due_local.strftime('%a %H:%M %Z')}{reminder}"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("tickets/email/notification.txt", context),
        to=[recipient.email],
        headers={"X-Meridian-Notification": str(notification.pk)},
    )
    message.attach_alternative(
        render_to_string("tickets/email/notification.html", context), "text/html"
    )
    return message


def notification_send(*, notification_id: int, now: datetime) -> bool:
    """Send one notification's email unless it was sent or another sender holds it.

    The claim (a conditional UPDATE) makes concurrent senders skip each other; a claim older
    than the resend delay is considered abandoned (its sender died). Returns True if sent now.
    """
    unsent = Notification.objects.filter(email_sent_at__isnull=True)
    if not outbox_claim(unsent, pk=notification_id, now=now, attempts="email_attempts"):
        return False
    notification = Notification.objects.select_related(
        "escalation__alert", "ticket__organisation", "recipient"
    ).get(pk=notification_id)
    message = notification_email(notification, now=now) if notification.recipient.email else None
    outbox_deliver(Notification, pk=notification_id, message=message, sent="email_sent_at", now=now)
    return True


def notifications_mark_read(*, user: User, ids: list[int], now: datetime) -> int:
    return Notification.objects.filter(recipient=user, pk__in=ids, read_at__isnull=True).update(
        read_at=now
    )


def escalation_acknowledge(*, escalation: Escalation, user: User, now: datetime) -> Escalation:
    """The recipient takes ownership: no more reminders for this alert, to anyone."""
    with transaction.atomic(durable=True):
        escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.recipient_id != user.pk:
            raise NotificationError(_("Only the person it was escalated to can acknowledge it."))
        if escalation.acknowledged_at is not None:
            return escalation
        escalation.acknowledged_at = now
        escalation.next_repeat_at = None
        escalation.save(update_fields=["acknowledged_at", "next_repeat_at"])
        Escalation.objects.filter(alert_id=escalation.alert_id).update(next_repeat_at=None)
        Notification.objects.filter(escalation=escalation, read_at__isnull=True).update(read_at=now)
        TicketEvent.objects.create(
            ticket_id=escalation.ticket_id,
            kind=TicketEvent.Kind.ACKNOWLEDGED,
            clock=escalation.alert.clock,
            actor=user,
            at=now,
            data={"alert": escalation.alert_id, "escalation": escalation.pk},
        )
    return escalation
