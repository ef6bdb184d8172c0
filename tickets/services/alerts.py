"""Warnings and breaches: recorded once each, then escalated to whoever the policy names."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from contracts.escalation import Policy, policies_by_key, policy_for
from tickets.clocks import Change
from tickets.escalation import Roster
from tickets.models import Escalation, Notification, SLAAlert, Ticket, TicketEvent

ALERTING = {"warned": SLAAlert.Kind.WARNING, "breached": SLAAlert.Kind.BREACH}
DISPATCH_CHUNK = 100


@dataclass
class AlertCounts:
    warnings: int = 0
    breaches: int = 0


def alerts_raise(
    *,
    items: Sequence[tuple[Ticket, Sequence[Change]]],
    now: datetime,
    roster: Roster | None = None,
    policies: dict[tuple[int, str, str], Policy] | None = None,
) -> AlertCounts:
    """Record the warnings and breaches among `changes` and escalate them.

    Call inside the transaction that stores the tickets' clocks, with the tickets locked: a clock
    crosses each threshold once under that lock, so each alert is written once; the database's
    unique constraint (`slaalert_exactly_once`) guards it. Emails go out after commit.
    """
    pending = [
        (ticket, change)
        for ticket, changes in items
        for change in changes
        if change.what in ALERTING
    ]
    counts = AlertCounts()
    if not pending:
        return counts
    roster = roster or Roster.load(now)
    if policies is None:
        policies = policies_by_key({ticket.sla_tier_id for ticket, _ in pending})
    alerts = SLAAlert.objects.bulk_create(
        [
            SLAAlert(
                ticket=ticket,
                clock=change.clock,
                cycle_started_at=change.cycle_started_at,
                threshold=change.threshold or SLAAlert.BREACH_THRESHOLD,
                kind=ALERTING[change.what],
                due_at=change.due_before,
                at=now,
            )
            for ticket, change in pending
        ]
    )
    events: list[TicketEvent] = []
    escalations: list[Escalation] = []
    moves: dict[int, tuple[Ticket, int]] = {}
    for alert, (ticket, _change) in zip(alerts, pending, strict=True):
        if alert.kind == SLAAlert.Kind.BREACH:
            counts.breaches += 1
        else:
            counts.warnings += 1
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.BREACH
                if alert.kind == SLAAlert.Kind.BREACH
                else TicketEvent.Kind.WARNING,
                clock=alert.clock,
                at=now,
                data={
                    "alert": alert.pk,
                    "threshold": alert.threshold,
                    "due_at": alert.due_at.isoformat(),
                    "cycle_started_at": alert.cycle_started_at.isoformat(),
                },
            )
        )
        policy = policy_for(
            policies, tier_id=ticket.sla_tier_id, priority=ticket.priority, trigger=alert.kind
        )
        every = (
            timedelta(minutes=policy.repeat_minutes)
            if policy.repeat_minutes and alert.kind == SLAAlert.Kind.BREACH
            else None
        )
        recipients = roster.recipients(ticket, policy)
        escalations += [
            Escalation(
                alert=alert,
                ticket=ticket,
                recipient_id=user_id,
                role=role,
                created_at=now,
                repeat_every=every,
                next_repeat_at=now + every if every else None,
            )
            for user_id, role in recipients
        ]
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.ESCALATED,
                clock=alert.clock,
                at=now,
                data={
                    "alert": alert.pk,
                    "recipients": [{"user": user_id, "role": role} for user_id, role in recipients],
                    "repeat_minutes": policy.repeat_minutes if every else None,
                },
            )
        )
        l2 = roster.l2_team_of(ticket.region_id) if policy.move_to_l2 else None
        if alert.kind == SLAAlert.Kind.BREACH and l2 is not None and ticket.team_id != l2.pk:
            moves[ticket.pk] = (ticket, l2.pk)
    Escalation.objects.bulk_create(escalations)
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                escalation=escalation,
                recipient_id=escalation.recipient_id,
                ticket_id=escalation.ticket_id,
                created_at=now,
                dispatched_at=now,
            )
            for escalation in escalations
        ]
    )
    by_team: dict[int, list[int]] = {}
    for ticket, team_id in moves.values():
        old = {"team": ticket.team_id, "assignee": ticket.assignee_id}
        ticket.team_id, ticket.assignee_id, ticket.updated_at = team_id, None, now
        by_team.setdefault(team_id, []).append(ticket.pk)
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.ASSIGNED,
                at=now,
                data={
                    "old": old,
                    "new": {"team": team_id, "assignee": None},
                    "reason": "breach: escalated to L2",
                },
            )
        )
    for team_id, ticket_ids in by_team.items():
        Ticket.objects.filter(pk__in=ticket_ids).update(
            team_id=team_id, assignee=None, updated_at=now
        )
    TicketEvent.objects.bulk_create(events)
    notifications_dispatch([n.pk for n in notifications])
    return counts


def notifications_dispatch(ids: Sequence[int]) -> None:
    """Hand notifications to sender tasks once the current transaction commits."""
    if not ids:
        return
    # Imported here: the tasks module imports the services.
    from tickets.tasks import send_notifications

    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = list(ids[start : start + DISPATCH_CHUNK])
        transaction.on_commit(lambda chunk=chunk: send_notifications.delay(chunk))
