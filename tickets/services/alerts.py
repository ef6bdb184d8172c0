"""Warnings and breaches: recorded once each, then escalated to whoever the policy names."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.escalation_policy import Policy, policies_by_key, policy_for
from portal.bulk import rows_insert
from portal.models import Team
from tickets.clocks import Change
from tickets.models import Escalation, Notification, SLAAlert, Ticket, TicketEvent
from tickets.roster import Roster
from tickets.services.outbox import notifications_dispatch

ALERTING = {"warned": SLAAlert.Kind.WARNING, "breached": SLAAlert.Kind.BREACH}
EVENT_COLUMNS = ("ticket_id", "kind", "clock", "at", "data")


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


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
        (ticket, change, ALERTING[change.what], change.threshold or SLAAlert.BREACH_THRESHOLD)
        for ticket, changes in items
        for change in changes
        if change.what in ALERTING
    ]
    counts = AlertCounts()
    if not pending:
        return counts
    roster = roster or Roster.load(now)
    if policies is None:
        policies = policies_by_key({t.sla_tier_id for t, *_ in pending if t.sla_tier_id})
    # Rows as tuples, written with COPY on PostgreSQL: a sweep may raise thousands at once.
    alert_ids = rows_insert(
        SLAAlert,
        ("ticket_id", "clock", "cycle_started_at", "threshold", "kind", "due_at", "at"),
        [
            (
                ticket.pk,
                change.clock,
                change.cycle_started_at,
                threshold,
                kind,
                change.due_before,
                now,
            )
            for ticket, change, kind, threshold in pending
        ],
    )
    events: list[tuple] = []
    escalations: list[tuple] = []
    moves: dict[int, tuple[Ticket, Team]] = {}
    for alert_id, (ticket, change, kind, threshold) in zip(alert_ids, pending, strict=True):
        breach = kind == SLAAlert.Kind.BREACH
        if breach:
            counts.breaches += 1
        else:
            counts.warnings += 1
        events.append(
            (
                ticket.pk,
                TicketEvent.Kind.BREACH if breach else TicketEvent.Kind.WARNING,
                change.clock,
                now,
                {
                    "alert": alert_id,
                    "threshold": threshold,
                    "due_at": _iso(change.due_before),
                    "cycle_started_at": _iso(change.cycle_started_at),
                },
            )
        )
        policy = policy_for(
            policies, tier_id=ticket.sla_tier_id or 0, priority=ticket.priority, trigger=kind
        )
        every = (
            timedelta(minutes=policy.repeat_minutes) if policy.repeat_minutes and breach else None
        )
        recipients = roster.recipients(ticket, policy)
        escalations += [
            (alert_id, ticket.pk, user_id, role, now, every, now + every if every else None)
            for user_id, role in recipients
        ]
        events.append(
            (
                ticket.pk,
                TicketEvent.Kind.ESCALATED,
                change.clock,
                now,
                {
                    "alert": alert_id,
                    "recipients": [{"user": user_id, "role": role} for user_id, role in recipients],
                    "repeat_minutes": policy.repeat_minutes if every else None,
                },
            )
        )
        l2 = roster.escalation_team(ticket) if policy.move_to_l2 else None
        if breach and l2 is not None and ticket.team_id != l2.pk:
            moves[ticket.pk] = (ticket, l2)
    escalation_ids = rows_insert(
        Escalation,
        (
            "alert_id",
            "ticket_id",
            "recipient_id",
            "role",
            "created_at",
            "repeat_every",
            "next_repeat_at",
        ),
        escalations,
    )
    notification_ids = rows_insert(
        Notification,
        ("escalation_id", "recipient_id", "ticket_id", "created_at", "dispatched_at"),
        [
            (escalation_id, row[2], row[1], now, now)
            for escalation_id, row in zip(escalation_ids, escalations, strict=True)
        ],
    )
    by_team: dict[int, list[int]] = {}
    for ticket, team in moves.values():
        old = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
        ticket.team_id, ticket.assignee_id, ticket.updated_at = team.pk, None, now
        by_team.setdefault(team.pk, []).append(ticket.pk)
        events.append(
            (
                ticket.pk,
                TicketEvent.Kind.ROUTED,
                "",
                now,
                {
                    "from": old,
                    "to": {"team": team.pk, "assignee": None, "region": ticket.region_id},
                    "trigger": "escalated",
                    "reason": f"Breach: escalated to {team}.",
                },
            )
        )
    for team_id, ticket_ids in by_team.items():
        Ticket.objects.filter(pk__in=ticket_ids).update(
            team_id=team_id, assignee=None, updated_at=now
        )
    rows_insert(TicketEvent, EVENT_COLUMNS, events)
    region_of = {ticket.pk: ticket.region_id for ticket, _changes in items}
    by_region: dict[int | None, list[int]] = {}
    for notification_id, row in zip(notification_ids, escalations, strict=True):
        by_region.setdefault(region_of.get(row[1]), []).append(notification_id)
    for region_id, ids in by_region.items():
        notifications_dispatch(ids, region_id=region_id)
    return counts
