"""Applying routing decisions: on creation and escalation (`ticket_route`, run by a task after
commit) and at the end of a team's shift (`handovers_run`, run by beat). Each move is a
`routed` event with where the ticket came from, where it went and why."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from contracts.models import BusinessCalendar
from portal.models import Agent, Region, Team
from tickets.clock_display import clock_views, format_duration
from tickets.models import OPEN_STATUSES, Handover, Message, Ticket, TicketEvent
from tickets.region_queues import region_in_memory, region_queue
from tickets.routing import (
    Decision,
    Level,
    RoutingWorld,
    decide,
    next_team_on_shift,
    shift_ends,
)
from tickets.services.history import TicketWork

logger = logging.getLogger(__name__)

# Handovers look back this far for a shift end they have not handled (a beat that was down).
HANDOVER_LOOKBACK = timedelta(hours=6)
# Tickets that follow the sun at a shift change: the urgent ones on round-the-clock contracts.
HANDOVER_PRIORITIES = ("p1", "p2")


# The task of `tickets.tasks` that runs `ticket_route` (tasks import the services, not back).
ROUTE_TICKET_TASK = "tickets.tasks.route_ticket"


def route_after_commit(ticket: Ticket, *, trigger: str) -> None:
    """Route the ticket in a task on its region's queue once the current transaction commits."""
    transaction.on_commit(
        functools.partial(
            _route_send,
            ticket_id=ticket.pk,
            region_id=ticket.region_id,
            known=region_in_memory(ticket),
            trigger=trigger,
        )
    )


def _route_send(*, ticket_id: int, region_id: int, known: Region | None, trigger: str) -> None:
    queue = region_queue(region_id, known=known)
    current_app.send_task(ROUTE_TICKET_TASK, args=[ticket_id, trigger], queue=queue)


class Trigger:
    CREATED = "created"
    ESCALATED = "escalated"
    HANDOVER = "handover"
    REQUESTED = "requested"


def _route_step(work: TicketWork, decision: Decision, *, trigger: str) -> bool:
    """Move the locked ticket as decided and record it; False when it stays where it is."""
    ticket = work.ticket
    team_id = decision.team.pk if decision.team else None
    assignee_id = decision.assignee.pk if decision.assignee else None
    if (ticket.team_id, ticket.assignee_id) == (team_id, assignee_id):
        return False
    old = {"team": ticket.team_id, "assignee": ticket.assignee_id, "region": ticket.region_id}
    ticket.team = decision.team
    ticket.assignee = decision.assignee
    if decision.team is not None:
        ticket.region_id = decision.team.region_id
    new = {"team": team_id, "assignee": assignee_id, "region": ticket.region_id}
    work.changed("team", "assignee", "region")
    work.history.add(
        TicketEvent.Kind.ROUTED,
        None,
        {"from": old, "to": new, "trigger": trigger, "reason": decision.reason},
        with_clocks=False,
    )
    if assignee_id is not None and assignee_id != old["assignee"]:
        Agent.objects.filter(user_id=assignee_id).update(last_assigned_at=work.now)
    return True


def ticket_route(
    *, ticket_id: int, now: datetime, trigger: str = Trigger.CREATED, level: str = Level.L1
) -> Decision | None:
    """Route an open ticket as `tickets.routing` decides at `now`; None when it is no longer
    open, or, for its creation, when it already has a team. Run after the ticket's own
    transaction commits (a task), so routing never slows a customer's request, and re-running it
    moves nothing that is already in place."""
    world = RoutingWorld.load(now)
    with transaction.atomic(durable=True):
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("organisation", "assignee")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or ticket.status not in OPEN_STATUSES:
            return None
        if trigger == Trigger.CREATED and ticket.team_id is not None:
            # Placed since it was opened (an escalation, an agent, a rule at the seed): the
            # creation's routing arrives late and must not pull it back.
            return None
        decision = decide(ticket, world, level=level)
        work = TicketWork.on(ticket, now=now)
        if _route_step(work, decision, trigger=trigger):
            work.finish()
    return decision


@dataclass(frozen=True)
class HandoverResult:
    handovers: int
    moved: int


def _handover_note(ticket: Ticket, leaving: Team, decision: Decision, now: datetime) -> str:
    last = (
        Message.objects.filter(ticket=ticket, author_kind=Message.AuthorKind.CUSTOMER)
        .order_by("-created_at", "-id")
        .only("body_text", "created_at")
        .first()
    )
    lines = [
        _("Handover: %(leaving)s's shift ended; %(team)s takes over.")
        % {"leaving": leaving, "team": decision.team},
        decision.reason,
        "",
    ]
    if last is not None:
        excerpt = " ".join(last.body_text.split())
        lines += [
            _("Last customer message (%(when)s UTC):")
            % {"when": f"{last.created_at:%a %d %b %H:%M}"},
            excerpt[:500] + ("…" if len(excerpt) > 500 else ""),
            "",
        ]
    views = clock_views(ticket, now=now, time_zone="UTC")
    running = [view for view in views if view.met_at_local is None]
    if running:
        lines.append(_("Time left on each clock:"))
        for view in running:
            lines.append(
                _("- %(clock)s: %(left)s (due %(due)s UTC)")
                % {
                    "clock": view.label,
                    "left": format_duration(view.business_time_left),
                    "due": f"{view.due_local:%a %d %b %H:%M}" if view.due_local else "—",
                }
            )
    return "\n".join(lines)


def _hand_over(team: Team, world: RoutingWorld, now: datetime) -> int:
    """Move the team's urgent 24x7 tickets to the next team on shift (inside the caller's
    transaction, which holds the handover's claim)."""
    candidates = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("organisation", "assignee")
        .filter(
            team=team,
            status__in=OPEN_STATUSES,
            priority__in=HANDOVER_PRIORITIES,
            sla_calendar__hours=BusinessCalendar.Hours.ALWAYS,
        )
        .order_by("pk")
    )
    moved = 0
    for ticket in candidates:
        decision = next_team_on_shift(ticket, world, team)
        if decision.team is None or decision.team.pk == team.pk:
            continue
        work = TicketWork.on(ticket, now=now)
        if not _route_step(work, decision, trigger=Trigger.HANDOVER):
            continue
        note = Message.objects.create(
            ticket=ticket,
            author=None,
            author_kind=Message.AuthorKind.SYSTEM,
            visibility=Message.Visibility.INTERNAL,
            channel=ticket.channel,
            body_text=_handover_note(ticket, team, decision, now),
            created_at=now,
        )
        work.history.add(
            TicketEvent.Kind.NOTE, None, {"message": note.pk, "handover": True}, with_clocks=False
        )
        work.finish()
        if decision.assignee is not None:
            world.assigned(decision.assignee.pk, ticket.priority)
        moved += 1
    return moved


def handovers_run(*, now: datetime) -> HandoverResult:
    """Hand over every team whose shift ended since `now - HANDOVER_LOOKBACK`, each shift end
    exactly once: its `Handover` row is inserted first (unique per team and instant), in the
    same transaction as the moves, so a second beat or a retry finds it and does nothing."""
    world = RoutingWorld.load(now)
    handovers = moved = 0
    for team in world.roster.teams.values():
        for ended_at in shift_ends(team, world.roster, now - HANDOVER_LOOKBACK, now):
            if Handover.objects.filter(team=team, shift_ended_at=ended_at).exists():
                continue
            try:
                with transaction.atomic(durable=True):
                    handover = Handover.objects.create(team=team, shift_ended_at=ended_at, at=now)
                    handover.moved = _hand_over(team, world, now)
                    handover.save(update_fields=["moved"])
            except IntegrityError:
                continue  # another beat claimed this shift end first
            handovers += 1
            moved += handover.moved
            logger.info("handover of %s at %s: %d tickets moved", team, ended_at, handover.moved)
    return HandoverResult(handovers=handovers, moved=moved)
