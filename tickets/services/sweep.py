"""The deadline sweep: the only source of SLA timing. Beat runs it every minute.

Each batch runs in its own transaction: claim tickets with a clock due for attention (an indexed
range scan per clock on `<clock>_alert_at`; `FOR UPDATE SKIP LOCKED` on PostgreSQL, so sweeps
running at once split the work), move their clocks with `Clocks.sweep`, record the alerts and
escalate them; a backlog (more than a batch due) calls in helper sweeps on other workers. Then
unacknowledged escalations due to be repeated, then notifications whose email is late. Nothing
is ever scheduled as a far-future broker message.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from contracts.escalation_policy import policies_by_key
from portal.bulk import bulk_set, rows_insert
from tickets.clock_store import clocks_load, clocks_store
from tickets.clocks import CLOCKS, NEXT_RESPONSE, Change
from tickets.models import Escalation, Notification, OutboundEmail, Ticket, TicketEvent
from tickets.roster import Roster
from tickets.services.alerts import EVENT_COLUMNS, alerts_raise
from tickets.services.outbox import (
    SEND_CUSTOMER_EMAILS_TASK,
    SEND_NOTIFICATIONS_TASK,
    notifications_dispatch,
    outbox_dispatch,
)


@dataclass
class SweepResult:
    """What one sweep recorded."""

    warnings: int = 0
    breaches: int = 0
    repeats: int = 0
    resent: int = 0
    resent_to_customers: int = 0
    tickets: int = 0

    def __getitem__(self, key: str) -> int:
        return getattr(self, key)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _claim_due_tickets(now: datetime, limit: int) -> list[int]:
    """Lock up to `limit` tickets with a clock whose alert instant has passed."""
    ids: list[int] = []
    for clock in CLOCKS:
        if len(ids) >= limit:
            break
        field = f"{clock}_alert_at"
        ids += (
            Ticket.objects.filter(**{f"{field}__lt": now})
            .exclude(pk__in=ids)
            .order_by(field)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
    return ids


def deadlines_sweep(
    *,
    now: datetime,
    batch_size: int | None = None,
    on_backlog: Callable[[], object] | None = None,
) -> SweepResult:
    """Record every warning and breach that is due, repeat unacknowledged escalations, and
    hand late emails to a sender again. Returns the counts.

    `on_backlog` is called once, as soon as a claim comes back full (more than one batch is
    due): the Celery task uses it to ask other workers to sweep alongside this one.
    """
    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    result = SweepResult()
    roster: Roster | None = None
    policies: dict = {}
    while True:
        with transaction.atomic(durable=True):
            ids = _claim_due_tickets(now, batch_size)
            if not ids:
                break
            if on_backlog is not None and len(ids) == batch_size:
                # Now rather than after this batch commits: helpers need nothing from this
                # transaction, and they claim the next batches while this one is written.
                on_backlog()
                on_backlog = None
            roster = roster or Roster.load(now)
            tickets = list(Ticket.objects.filter(pk__in=ids).select_related("organisation"))
            new_tiers = {t.sla_tier_id for t in tickets if t.sla_tier_id} - {
                key[0] for key in policies
            }
            if new_tiers:
                policies.update(policies_by_key(new_tiers))
            items: list[tuple[Ticket, list[Change]]] = []
            changed: list[Ticket] = []
            fields: set[str] = set()
            for ticket in tickets:
                state = clocks_load(ticket)
                if state is None:
                    continue  # only tickets with an SLA have alert instants
                changes = state.sweep(now)
                stored = clocks_store(ticket, state)
                if stored:
                    changed.append(ticket)
                    fields.update(stored)
                items.append((ticket, changes))
            if changed:
                bulk_set(changed, sorted(fields))
            counts = alerts_raise(items=items, now=now, roster=roster, policies=policies)
            result.warnings += counts.warnings
            result.breaches += counts.breaches
            result.tickets += len(tickets)
        if len(ids) < batch_size:
            break
    result.repeats = _repeat_escalations(now, batch_size)
    result.resent = _resend_late_emails(
        now,
        batch_size,
        Notification.objects.filter(email_sent_at__isnull=True),
        SEND_NOTIFICATIONS_TASK,
    )
    result.resent_to_customers = _resend_late_emails(
        now,
        batch_size,
        OutboundEmail.objects.filter(sent_at__isnull=True, skipped_reason=""),
        SEND_CUSTOMER_EMAILS_TASK,
    )
    return result


def _clock_met(escalation: Escalation) -> bool:
    ticket, alert = escalation.ticket, escalation.alert
    if getattr(ticket, f"{alert.clock}_met_at") is None:
        return False
    # A next-response alert belongs to one cycle; a newer cycle does not answer it.
    return alert.clock != NEXT_RESPONSE or ticket.next_response_started_at == alert.cycle_started_at


def _repeat_escalations(now: datetime, batch_size: int) -> int:
    """Notify again every unacknowledged escalation whose repeat is due, until its clock is met."""
    repeated = 0
    while True:
        with transaction.atomic(durable=True):
            due = list(
                Escalation.objects.filter(next_repeat_at__lt=now)
                .select_related("alert", "ticket")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("next_repeat_at")[:batch_size]
            )
            if not due:
                break
            notifications, events = [], []
            for escalation in due:
                if (
                    escalation.acknowledged_at
                    or escalation.repeat_every is None
                    or _clock_met(escalation)
                ):
                    escalation.next_repeat_at = None
                    continue
                escalation.repeats += 1
                # After an outage, one reminder now, not one per missed interval.
                escalation.next_repeat_at = now + escalation.repeat_every
                notifications.append(
                    (
                        escalation.pk,
                        escalation.recipient_id,
                        escalation.ticket_id,
                        escalation.repeats,
                        now,
                        now,
                    )
                )
                events.append(
                    (
                        escalation.ticket_id,
                        TicketEvent.Kind.ESCALATED,
                        escalation.alert.clock,
                        now,
                        {
                            "alert": escalation.alert_id,
                            "recipients": [
                                {"user": escalation.recipient_id, "role": escalation.role}
                            ],
                            "repeat": escalation.repeats,
                        },
                    )
                )
            bulk_set(due, ["repeats", "next_repeat_at"])
            created = rows_insert(
                Notification,
                (
                    "escalation_id",
                    "recipient_id",
                    "ticket_id",
                    "sequence",
                    "created_at",
                    "dispatched_at",
                ),
                notifications,
            )
            rows_insert(TicketEvent, EVENT_COLUMNS, events)
            notifications_dispatch(created)
            repeated += len(created)
        if len(due) < batch_size:
            break
    return repeated


def _resend_late_emails(now: datetime, batch_size: int, unsent: QuerySet, task_name: str) -> int:
    """Emails whose sender never reported back (a worker died after the commit, a broker lost
    the message) are handed to a sender again, all of them, a batch per transaction; the
    sender's claim keeps it from sending twice."""
    late = now - timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    resent = 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(
                unsent.filter(created_at__lt=late)
                .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=late))
                .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=late))
                .order_by("created_at")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if ids:
                # Handed out now: the next batch's query no longer finds them.
                unsent.model.objects.filter(pk__in=ids).update(dispatched_at=now)
                outbox_dispatch(task_name, ids)
        resent += len(ids)
        if len(ids) < batch_size:
            return resent


__all__ = ["SweepResult", "deadlines_sweep"]
