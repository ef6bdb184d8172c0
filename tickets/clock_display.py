"""Clocks as people see them: each clock's state and due instant in the viewer's zone, the
business time left, and durations in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.sla_names import Clock as ClockName
from tickets.clock_store import clocks_load
from tickets.clocks import CLOCKS, urgent_owed
from tickets.models import Ticket


@dataclass(frozen=True)
class Urgent:
    """A ticket's most urgent promise: which clock, when it is (or was) due, and whether it is
    already broken."""

    name: str
    label: str
    due_at: datetime
    breached: bool  # recorded by the sweep, or its due instant has passed


def most_urgent(ticket: Ticket, *, now: datetime) -> Urgent | None:
    """The promise a ticket is furthest behind on or closest to: a breached clock still owed
    comes first (its due instant is past), then the running clock due first. A resolved or
    closed ticket owes nothing now. Reads only the ticket's columns."""
    if not ticket.is_open:
        return None
    owed = []
    for name in CLOCKS:
        due_at = getattr(ticket, f"{name}_due_at")
        breached_at = getattr(ticket, f"{name}_breached_at")
        if urgent_owed(
            due_at=due_at,
            met_at=getattr(ticket, f"{name}_met_at"),
            breached_at=breached_at,
            paused_at=getattr(ticket, f"{name}_paused_at"),
        ):
            owed.append((due_at, name, breached_at is not None or due_at < now))
    if not owed:
        return None
    due_at, name, breached = min(owed)
    return Urgent(name, str(ClockName(name).label), due_at, breached)


@dataclass(frozen=True)
class ClockView:
    """One clock as a person sees it, in their time zone."""

    name: str
    label: str
    state: str  # running, paused, met, breached, no_target, not_started
    due_at: datetime | None
    due_local: datetime | None
    met_at_local: datetime | None
    business_time_left: timedelta | None
    # The milestone: what was promised and what was achieved.
    target: timedelta | None = None
    around_the_clock: bool = False  # the target counts every hour, not the coverage calendar
    met_at: datetime | None = None
    breached_at: datetime | None = None
    taken: timedelta | None = None  # once met or breached, pauses excluded
    missed_by: timedelta | None = None  # a broken promise: how far past its target

    @property
    def overdue(self) -> bool:
        return self.business_time_left is not None and self.business_time_left < timedelta(0)

    @property
    def left_text(self) -> str:
        return format_duration(self.business_time_left)

    @property
    def missed_by_text(self) -> str:
        return format_duration(self.missed_by)


def clock_views(
    ticket: Ticket, *, now: datetime, time_zone: str, not_started: bool = False
) -> list[ClockView]:
    """Every clock of the ticket that has started, for the admin and the portal; with
    `not_started`, also the promises that have not started yet (a next response before the
    customer writes again), in state `not_started`."""
    state = clocks_load(ticket)
    if state is None:
        return []
    zone = ZoneInfo(time_zone)
    views = []
    for name in CLOCKS:
        clock = state.clocks[name]
        if clock.started_at is None and not_started and state.target(name) is not None:
            views.append(
                ClockView(
                    name=name,
                    label=str(ClockName(name).label),
                    state="not_started",
                    due_at=None,
                    due_local=None,
                    met_at_local=None,
                    business_time_left=None,
                    target=state.target(name),
                    around_the_clock=state.schedule_of(name) is not state.schedule,
                )
            )
            continue
        if clock.started_at is None or (clock.due_at is None and clock.met_at is None):
            continue  # not started, or nothing promised for this priority
        kind = clock.state
        if kind == "running" and clock.due_at is not None and clock.due_at < now:
            kind = "breached"  # overdue; the sweep records it within the minute
        target = state.target(name)
        left = state.business_time_left(name, now)
        missed_by = None
        if kind == "breached" and target is not None:
            if clock.met_at is not None and clock.taken is not None:
                missed_by = max(clock.taken - target, timedelta(0))
            elif left is not None:
                missed_by = max(-left, timedelta(0))
        views.append(
            ClockView(
                name=name,
                label=str(ClockName(name).label),
                state=kind,
                due_at=clock.due_at,
                due_local=clock.due_at.astimezone(zone) if clock.due_at else None,
                met_at_local=clock.met_at.astimezone(zone) if clock.met_at else None,
                business_time_left=left,
                target=target,
                around_the_clock=state.schedule_of(name) is not state.schedule,
                met_at=clock.met_at,
                breached_at=clock.breached_at,
                taken=clock.taken,
                missed_by=missed_by,
            )
        )
    return views


def format_duration(delta: timedelta | None) -> str:
    """`2h 05m`, `80h 00m` or `overdue 12m`. Counted in hours, never days: a business day is as
    long as the calendar's opening hours, not 24 hours."""
    if delta is None:
        return "—"
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        # Translators: a duration in hours and minutes, e.g. "2h 05m".
        text = _("%(hours)dh %(minutes)02dm") % {"hours": hours, "minutes": minutes}
    else:
        # Translators: a duration in minutes, e.g. "12m".
        text = _("%(minutes)dm") % {"minutes": minutes}
    if delta < timedelta(0):
        return _("overdue %(duration)s") % {"duration": text}
    return text


def format_instant(instant: datetime | None, *, year: bool = True) -> str:
    """`Mon 02 Mar 2026 11:00 CET` (without the year: `Mon 02 Mar 11:00 CET`): an instant in
    the active time zone (the viewer's, set by `portal.middleware.ViewerTimeZoneMiddleware`),
    with the zone's name, so nobody mistakes it for UTC."""
    if instant is None:
        return "—"
    local = timezone.localtime(instant)
    return f"{local:%a %d %b %Y %H:%M %Z}" if year else f"{local:%a %d %b %H:%M %Z}"
