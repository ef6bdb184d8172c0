"""Between stored tickets and the pure clock transitions: load, store, replay, display."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.business_time import WorkingSchedule
from contracts.calendars import schedule_for_version
from tickets.clocks import CLOCKS, NEXT_RESPONSE, Clock, Clocks
from tickets.models import Ticket, TicketEvent

CLOCK_FIELDS = ("due_at", "met_at", "breached_at", "paused_at", "paused_for", "warned", "alert_at")
CLOCK_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "workaround": "Workaround",
    "resolution": "Resolution",
}


def ticket_schedule(ticket: Ticket) -> WorkingSchedule:
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


# --- Replay ------------------------------------------------------------------------------------

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
    if state is None:
        return []
    stored = clocks_as_data(clocks_load(ticket, state.schedule))
    replayed = clocks_as_data(state)
    return [
        ReplayDifference(ticket.reference, name, part, stored[name][part], value)
        for name in CLOCKS
        for part, value in replayed[name].items()
        if stored[name][part] != value
    ]


# --- Display -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockView:
    """One clock as a person sees it, in their time zone."""

    name: str
    label: str
    state: str  # running, paused, met, breached, no_target
    due_at: datetime | None
    due_local: datetime | None
    met_at_local: datetime | None
    business_time_left: timedelta | None

    @property
    def overdue(self) -> bool:
        return self.business_time_left is not None and self.business_time_left < timedelta(0)

    @property
    def left_text(self) -> str:
        return format_duration(self.business_time_left)


def clock_views(ticket: Ticket, *, now: datetime, time_zone: str) -> list[ClockView]:
    """Every clock of the ticket that has started, for the admin and the portal."""
    state = clocks_load(ticket)
    if state is None:
        return []
    zone = ZoneInfo(time_zone)
    views = []
    for name in CLOCKS:
        clock = state.clocks[name]
        if clock.started_at is None or (clock.due_at is None and clock.met_at is None):
            continue  # not started, or nothing promised for this priority
        kind = clock.state
        if kind == "running" and clock.due_at < now:
            kind = "breached"  # overdue; the sweep records it within the minute
        views.append(
            ClockView(
                name=name,
                label=CLOCK_LABELS[name],
                state=kind,
                due_at=clock.due_at,
                due_local=clock.due_at.astimezone(zone) if clock.due_at else None,
                met_at_local=clock.met_at.astimezone(zone) if clock.met_at else None,
                business_time_left=state.business_time_left(name, now),
            )
        )
    return views


def format_duration(delta: timedelta | None) -> str:
    """`2h 05m`, `80h 00m` or `overdue 12m`. Counted in hours, never days: a business day is as
    long as the calendar's opening hours, not 24 hours."""
    if delta is None:
        return "—"
    prefix = "overdue " if delta < timedelta(0) else ""
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{prefix}{hours}h {minutes:02d}m"
    return f"{prefix}{minutes}m"
