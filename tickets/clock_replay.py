"""Replay: a ticket's clocks rebuilt from its SLA snapshot and its event history, with the same
transitions the services apply, to check (and correct) the stored clocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tickets.clock_store import clocks_as_data, clocks_load, ticket_schedule
from tickets.clocks import CLOCKS, Clocks
from tickets.models import Ticket, TicketEvent

# Event kinds that drive the clocks; every other kind (notes, assignment, routing, pause and
# resume records, warnings, escalations) is a consequence or has no effect on them.
STATUS_KINDS = {
    TicketEvent.Kind.STATUS,
    TicketEvent.Kind.RESOLVED,
    TicketEvent.Kind.REOPENED,
    TicketEvent.Kind.CLOSED,
}


def clocks_replay(ticket: Ticket, events: Iterable[TicketEvent]) -> Clocks | None:
    """Rebuild the clocks from the ticket's SLA snapshot, its calendar and its event history.

    `events` must be the ticket's events in the order they were written (by id).
    """
    if not ticket.has_sla:
        return None
    schedule = ticket_schedule(ticket)
    state: Clocks | None = None
    for event in events:
        if event.kind == TicketEvent.Kind.CREATED:
            state, _ = Clocks.start(
                schedule=schedule,
                targets=ticket.sla_targets,
                pause_statuses=ticket.sla_pause_statuses,
                paused_clocks=ticket.sla_paused_clocks,
                priority=event.data["priority"],
                status=event.data["status"],
                at=event.at,
                thresholds=ticket.sla_warning_thresholds,
                around_the_clock=ticket.sla_around_the_clock,
            )
        elif state is None:
            raise ValueError(f"{ticket.reference}: events before its creation event")
        elif event.kind in STATUS_KINDS:
            state.change_status(event.at, event.data["new"])
        elif event.kind == TicketEvent.Kind.PRIORITY:
            state.change_priority(event.at, event.data["new"])
        elif event.kind in (TicketEvent.Kind.RESPONDED, TicketEvent.Kind.CALL):
            state.agent_response(event.at)
        elif event.kind == TicketEvent.Kind.MESSAGE:
            state.customer_message(event.at)
        elif event.kind == TicketEvent.Kind.WORKAROUND:
            state.workaround(event.at)
        elif event.kind == TicketEvent.Kind.ROOT_CAUSE:
            state.root_cause(event.at)
        elif event.kind == TicketEvent.Kind.BREACH:
            state.observe(event.at)
        elif event.kind == TicketEvent.Kind.WARNING:
            state.warn(event.clock, event.data["threshold"])
    return state


@dataclass(frozen=True)
class ReplayDifference:
    reference: str
    clock: str
    field: str
    stored: str | None
    replayed: str | None


def replay_differences(ticket: Ticket, events: Iterable[TicketEvent]) -> list[ReplayDifference]:
    """Where the stored clocks differ from the replay of the history (empty: they agree)."""
    state = clocks_replay(ticket, events)
    stored_state = clocks_load(ticket, state.schedule) if state is not None else None
    if state is None or stored_state is None:
        return []
    stored = clocks_as_data(stored_state)
    replayed = clocks_as_data(state)
    return [
        ReplayDifference(ticket.reference, name, part, stored[name][part], value)
        for name in CLOCKS
        for part, value in replayed[name].items()
        if stored[name][part] != value
    ]
