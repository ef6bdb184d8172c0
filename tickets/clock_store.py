"""The clock store: a ticket's stored SLA clocks, loaded into the pure transitions of
`tickets.clocks` and stored back; the calendar schedule of its SLA snapshot."""

from __future__ import annotations

from datetime import datetime

from contracts.business_time import WorkingSchedule
from contracts.calendars import schedule_for_version
from tickets.clocks import CLOCKS, NEXT_RESPONSE, Clock, Clocks
from tickets.models import Ticket

# In the order of `tickets.clocks.Clock`'s fields after `started_at`.
CLOCK_FIELDS = (
    "due_at",
    "met_at",
    "breached_at",
    "paused_at",
    "paused_for",
    "warned",
    "alert_at",
    "taken",
)


def ticket_schedule(ticket: Ticket) -> WorkingSchedule:
    """The calendar schedule of the ticket's SLA snapshot."""
    if ticket.sla_calendar_id is None or ticket.sla_calendar_version is None:
        raise ValueError(f"{ticket.reference} has no SLA calendar")
    return schedule_for_version(
        calendar_id=ticket.sla_calendar_id, version=ticket.sla_calendar_version
    )


def clocks_load(ticket: Ticket, schedule: WorkingSchedule | None = None) -> Clocks | None:
    """The ticket's stored clocks, or None for a ticket without an SLA."""
    if not ticket.has_sla:
        return None
    state = Clocks(
        schedule=schedule or ticket_schedule(ticket),
        targets=ticket.sla_targets,
        pause_statuses=ticket.sla_pause_statuses,
        paused_clocks=ticket.sla_paused_clocks,
        priority=ticket.priority,
        status=ticket.status,
        thresholds=ticket.sla_warning_thresholds,
        around_the_clock=ticket.sla_around_the_clock,
    )
    for name in CLOCKS:
        started = ticket.next_response_started_at if name == NEXT_RESPONSE else ticket.created_at
        state.clocks[name] = Clock(
            name, started, *(getattr(ticket, f"{name}_{part}") for part in CLOCK_FIELDS)
        )
    return state


def clocks_store(ticket: Ticket, state: Clocks) -> list[str]:
    """Copy the clocks onto the ticket; returns the fields that changed."""
    changed = []
    for name in CLOCKS:
        clock = state.clocks[name]
        for part in CLOCK_FIELDS:
            field = f"{name}_{part}"
            value = getattr(clock, part)
            if getattr(ticket, field) != value:
                setattr(ticket, field, value)
                changed.append(field)
    started = state.clocks[NEXT_RESPONSE].started_at
    if ticket.next_response_started_at != started:
        ticket.next_response_started_at = started
        changed.append("next_response_started_at")
    # Kept with the clocks it summarises, so the desk's queue sorts on an indexed column.
    next_due_at = state.next_due_at
    if ticket.next_due_at != next_due_at:
        ticket.next_due_at = next_due_at
        changed.append("next_due_at")
    return changed


def clocks_as_data(state: Clocks) -> dict[str, dict[str, str | None]]:
    """Clocks as plain values, for comparing and reporting."""
    data = {}
    for name in CLOCKS:
        clock = state.clocks[name]
        values = {part: getattr(clock, part) for part in ("started_at", *CLOCK_FIELDS)}
        data[name] = {
            part: None
            if value is None
            else value.isoformat()
            if isinstance(value, datetime)
            else str(value)
            for part, value in values.items()
        }
    return data
