"""SLA clocks of one ticket as pure state transitions.

The services apply these transitions to a ticket's stored clocks as things happen; the replay
applies the same transitions to the ticket's event history. Nothing here touches the database.

Semantics (see also docs/sla-clocks.md):

- First response, workaround and resolution start when the ticket is created; next response
  starts at a customer message once the first response has been given, if it is not already
  waiting for an answer. A clock's due instant is its start plus its target plus the business time
  it has spent paused, in the ticket's calendar.
- A public agent response (reply or logged call) meets first and next response; an agent marks the
  workaround and records the root cause; resolving (or closing) meets resolution: the fix is
  delivered.
- Each target counts in the ticket's coverage calendar, or around the clock when the tier says
  so for that priority and clock (`around_the_clock`): "fix within 48 hours" on a business-hours
  tier is 48 hours of wall-clock time. Pauses are measured in the clock's own schedule.
- A clock that is met or breached keeps what was achieved: the time it took in its schedule, less
  the time paused (`taken`; at a breach, the whole target).
- While the status is one of the tier's pausing statuses, the tier's paused clocks stop; while the
  ticket is resolved or closed, every clock that is still owed stops. Reopening resumes them, and
  the resolution clock is owed again. Due instants move by exactly the business time paused.
- A clock that is still owed when its due instant has passed is breached (at its due instant).
  Every transition first observes breaches at its own instant, so a clock that ran out before it
  was met, paused or re-targeted stays breached. A breached clock keeps its due instant.
- A priority change re-targets every clock still owed and not breached, from its start, keeping the
  time already used; met clocks stay met. When the new priority counts a clock in another schedule
  (around the clock instead of the calendar, or back), the time used so far carries over and the
  rest is counted in the new schedule (capped at what the new schedule has counted since the
  start: a clock cannot have used more time than its schedule had).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from contracts.business_time import WorkingSchedule
from contracts.sla_names import CLOCKS
from contracts.sla_names import Clock as ClockName

FIRST_RESPONSE = ClockName.FIRST_RESPONSE.value
NEXT_RESPONSE = ClockName.NEXT_RESPONSE.value
WORKAROUND = ClockName.WORKAROUND.value
ROOT_CAUSE = ClockName.ROOT_CAUSE.value
RESOLUTION = ClockName.RESOLUTION.value
STOPPED_STATUSES = frozenset({"resolved", "closed"})
# The stored next deadline of a ticket that owes nothing now (`Ticket.next_due_at`): a value
# rather than NULL, so that "most urgent first" is one ascending range of a b-tree index and
# tickets with nothing counting down sort last.
NO_DEADLINE = datetime(9999, 1, 1, tzinfo=UTC)
ZERO = timedelta(0)
# The schedule of a target that counts around the clock: every minute of the week. UTC, as an
# instant plus a duration is the same in every time zone when nothing is closed.
AROUND_THE_CLOCK = WorkingSchedule(
    "UTC", {day: [("00:00", "24:00")] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)


def urgent_owed(
    *,
    due_at: datetime | None,
    met_at: datetime | None,
    breached_at: datetime | None,
    paused_at: datetime | None,
) -> bool:
    """Does a clock count for urgency: promised, still owed, and either broken already or
    counting down (a paused clock waits)? `tickets.selectors.next_due_at` is this rule in SQL."""
    return due_at is not None and met_at is None and (breached_at is not None or paused_at is None)


class Clock(NamedTuple):
    """One clock's stored state. `started_at` is None for a clock that has not started.

    A named tuple rather than a frozen dataclass: transitions copy clocks often (the sweep and
    the load generator do it millions of times) and `_replace` is three times cheaper.
    """

    name: str
    started_at: datetime | None = None
    due_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    paused_at: datetime | None = None
    paused_for: timedelta = ZERO
    warned: int = 0  # the highest warning threshold recorded, in percent
    alert_at: datetime | None = None  # while running: next threshold crossing, or the due instant
    taken: timedelta | None = None  # once met or breached: time counted to it, pauses excluded

    @property
    def owed(self) -> bool:
        """Started and not yet met: someone still owes the customer this."""
        return self.started_at is not None and self.met_at is None

    @property
    def running(self) -> bool:
        """Counting down towards a due instant right now."""
        return (
            self.owed
            and self.due_at is not None
            and self.breached_at is None
            and self.paused_at is None
        )

    @property
    def state(self) -> str:
        if self.started_at is None:
            return "not_started"
        if self.breached_at is not None:
            return "breached"
        if self.met_at is not None:
            return "met"
        if self.due_at is None:
            return "no_target"
        if self.paused_at is not None:
            return "paused"
        return "running"


@dataclass(frozen=True)
class Change:
    """What a transition did to one clock, for the event history."""

    clock: str
    what: str  # started, met, unmet, paused, resumed, breached, warned, retargeted
    due_before: datetime | None
    due_after: datetime | None
    threshold: int | None = None  # for "warned"
    cycle_started_at: datetime | None = None

    def as_data(self) -> dict[str, str | int | None]:
        data: dict[str, str | int | None] = {
            "clock": self.clock,
            "what": self.what,
            "due_before": self.due_before.isoformat() if self.due_before else None,
            "due_after": self.due_after.isoformat() if self.due_after else None,
        }
        if self.threshold is not None:
            data["threshold"] = self.threshold
        return data


@dataclass
class Clocks:
    """All clocks of a ticket plus what they depend on: priority, status and the SLA snapshot."""

    schedule: WorkingSchedule
    targets: Mapping[str, Mapping[str, int | None]]
    pause_statuses: Sequence[str]
    paused_clocks: Sequence[str]
    priority: str
    status: str
    thresholds: Sequence[int] = ()
    clocks: dict[str, Clock] = field(default_factory=dict)
    # Per priority, the clocks whose target counts around the clock rather than in `schedule`.
    around_the_clock: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def next_due_at(self) -> datetime:
        """The due instant of the most urgent promise (`urgent_owed`), or `NO_DEADLINE`: a
        resolved or closed ticket owes nothing. What `Ticket.next_due_at` stores."""
        if self.status in STOPPED_STATUSES:
            return NO_DEADLINE
        owed = [
            clock.due_at
            for clock in self.clocks.values()
            if clock.due_at is not None
            and urgent_owed(
                due_at=clock.due_at,
                met_at=clock.met_at,
                breached_at=clock.breached_at,
                paused_at=clock.paused_at,
            )
        ]
        return min(owed, default=NO_DEADLINE)

    # --- helpers --------------------------------------------------------------------------------

    def schedule_of(self, name: str, priority: str | None = None) -> WorkingSchedule:
        """The schedule a clock's target counts in, at `priority` (default: the ticket's)."""
        if name in self.around_the_clock.get(priority or self.priority, ()):
            return AROUND_THE_CLOCK
        return self.schedule

    def target(self, name: str, priority: str | None = None) -> timedelta | None:
        minutes = self.targets.get(priority or self.priority, {}).get(name)
        return timedelta(minutes=minutes) if minutes else None

    def stopped_by(self, status: str) -> frozenset[str]:
        """The clocks a status stops."""
        if status in STOPPED_STATUSES:
            return frozenset(CLOCKS)
        if status in self.pause_statuses:
            return frozenset(self.paused_clocks)
        return frozenset()

    def _due(self, clock: Clock, priority: str | None = None) -> datetime | None:
        target = self.target(clock.name, priority)
        if target is None or clock.started_at is None:
            return None
        return self.schedule_of(clock.name, priority).add(
            clock.started_at, target + clock.paused_for
        )

    def _taken(self, clock: Clock, at: datetime) -> timedelta | None:
        """The time a clock has counted from its start to `at`: its schedule's time, less its
        pauses (a pause still open at `at` ends there)."""
        if clock.started_at is None:
            return None
        until = min(at, clock.paused_at) if clock.paused_at else at
        used = self.schedule_of(clock.name).elapsed(clock.started_at, until) - clock.paused_for
        return max(used, ZERO)

    def _alert_at(self, clock: Clock) -> datetime | None:
        """When the sweep must next look at this clock: its next warning threshold, then its
        due instant; None while it is not counting down."""
        target = self.target(clock.name)
        if not clock.running or target is None or clock.started_at is None:
            return None
        for threshold in sorted(self.thresholds):
            if threshold > clock.warned:
                used = target * threshold // 100
                return self.schedule_of(clock.name).add(clock.started_at, used + clock.paused_for)
        return clock.due_at

    def _set(
        self,
        clock: Clock,
        what: str,
        changes: list[Change],
        threshold: int | None = None,
        **values: Any,
    ) -> None:
        new = clock._replace(**values)
        new = new._replace(alert_at=self._alert_at(new))
        self.clocks[clock.name] = new
        changes.append(
            Change(clock.name, what, clock.due_at, new.due_at, threshold, clock.started_at)
        )

    def business_time_left(self, name: str, now: datetime) -> timedelta | None:
        """Business time until the due instant (negative when overdue), for display."""
        clock = self.clocks[name]
        if clock.due_at is None or not clock.owed:
            return None
        schedule = self.schedule_of(name)
        since = clock.paused_at or now
        if clock.due_at >= since:
            return schedule.elapsed(since, clock.due_at)
        return -schedule.elapsed(clock.due_at, since)

    def used_share(self, name: str, now: datetime) -> float | None:
        """Share of the target's business time used so far (1.0 at the due instant)."""
        clock = self.clocks[name]
        target = self.target(name)
        if target is None or clock.started_at is None:
            return None
        if clock.taken is not None and clock.met_at is not None:
            return clock.taken / target
        used = self._taken(clock, now)
        return None if used is None else used / target

    # --- transitions ----------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        schedule: WorkingSchedule,
        targets: Mapping[str, Mapping[str, int | None]],
        pause_statuses: Sequence[str],
        paused_clocks: Sequence[str],
        priority: str,
        status: str,
        at: datetime,
        thresholds: Sequence[int] = (),
        around_the_clock: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[Clocks, list[Change]]:
        """The clocks of a ticket created at `at`."""
        state = cls(
            schedule,
            targets,
            pause_statuses,
            paused_clocks,
            priority,
            status,
            thresholds,
            around_the_clock=around_the_clock or {},
        )
        changes: list[Change] = []
        for name in CLOCKS:
            state.clocks[name] = Clock(name)
            if name != NEXT_RESPONSE:
                state._start(name, at, changes)
        return state, changes

    def _start(self, name: str, at: datetime, changes: list[Change]) -> None:
        clock = Clock(name, started_at=at)
        clock = clock._replace(due_at=self._due(clock))
        if name in self.stopped_by(self.status):
            clock = clock._replace(paused_at=at)
        clock = clock._replace(alert_at=self._alert_at(clock))
        self.clocks[name] = clock
        changes.append(Change(name, "started", None, clock.due_at))

    def observe(self, at: datetime) -> list[Change]:
        """Record as breached every owed clock whose due instant passed while it was counting:
        before `at`, or, for a paused clock, before its pause began (a target lowered during a
        pause can have run out before it)."""
        changes: list[Change] = []
        for clock in list(self.clocks.values()):
            if not clock.owed or clock.breached_at is not None or clock.due_at is None:
                continue
            counted_until = min(at, clock.paused_at) if clock.paused_at else at
            if clock.due_at < counted_until:
                # At its due instant a clock has used exactly its target.
                taken = self.target(clock.name)
                self._set(clock, "breached", changes, breached_at=clock.due_at, taken=taken)
        return changes

    def sweep(self, at: datetime) -> list[Change]:
        """What the deadline sweep records at `at`: every warning threshold a running clock has
        crossed before `at` (each once, even when the sweep comes late), then the breaches."""
        changes: list[Change] = []
        for clock in list(self.clocks.values()):
            if not clock.running or clock.alert_at is None or clock.alert_at >= at:
                continue
            target = self.target(clock.name)
            if target is None or clock.started_at is None:
                continue  # a running clock has both
            for threshold in sorted(t for t in self.thresholds if t > clock.warned):
                crossing = self.schedule_of(clock.name).add(
                    clock.started_at, target * threshold // 100 + clock.paused_for
                )
                if crossing >= at:
                    break
                self._set(self.clocks[clock.name], "warned", changes, threshold, warned=threshold)
        return changes + self.observe(at)

    def warn(self, name: str, threshold: int) -> None:
        """Replay of a recorded warning."""
        clock = self.clocks[name]
        if threshold > clock.warned:
            self._set(clock, "warned", [], threshold, warned=threshold)

    def agent_response(self, at: datetime) -> list[Change]:
        """A public agent reply or a logged call."""
        changes = self.observe(at)
        for name in (FIRST_RESPONSE, NEXT_RESPONSE):
            self._meet(name, at, changes)
        return changes

    def _meet(self, name: str, at: datetime, changes: list[Change]) -> None:
        clock = self.clocks[name]
        if clock.owed:
            taken = self._taken(clock, at) if clock.due_at is not None else None
            self._set(clock, "met", changes, met_at=at, paused_at=None, taken=taken)

    def customer_message(self, at: datetime) -> list[Change]:
        """A customer wrote: an answer is owed, unless the first response still covers it."""
        changes = self.observe(at)
        if not self.clocks[FIRST_RESPONSE].owed and not self.clocks[NEXT_RESPONSE].owed:
            self._start(NEXT_RESPONSE, at, changes)
        return changes

    def workaround(self, at: datetime) -> list[Change]:
        changes = self.observe(at)
        self._meet(WORKAROUND, at, changes)
        return changes

    def root_cause(self, at: datetime) -> list[Change]:
        """An agent recorded the root cause."""
        changes = self.observe(at)
        self._meet(ROOT_CAUSE, at, changes)
        return changes

    def change_status(self, at: datetime, status: str) -> list[Change]:
        changes = self.observe(at)
        old, self.status = self.status, status
        was_stopped, now_stopped = self.stopped_by(old), self.stopped_by(status)
        resolution = self.clocks[RESOLUTION]
        if status in STOPPED_STATUSES and resolution.owed:
            # Resolving meets the resolution clock; it also stops, so that reopening can tell
            # how long the ticket stayed resolved.
            paused_at = resolution.paused_at or (None if resolution.breached_at else at)
            # Met late, what it took is past the target: by how much it was missed.
            taken = self._taken(resolution, at) if resolution.due_at is not None else None
            self._set(resolution, "met", changes, met_at=at, paused_at=paused_at, taken=taken)
        elif old in STOPPED_STATUSES and status not in STOPPED_STATUSES and resolution.met_at:
            # Owed again: what a breach used (the whole target) stays; nothing else is achieved.
            taken = self.target(RESOLUTION) if resolution.breached_at else None
            self._set(resolution, "unmet", changes, met_at=None, taken=taken)
        for name in CLOCKS:
            clock = self.clocks[name]
            if clock.started_at is None or clock.breached_at is not None:
                continue
            stopping = name in now_stopped and name not in was_stopped
            resuming = name in was_stopped and name not in now_stopped
            if stopping and clock.owed and clock.paused_at is None:
                self._set(clock, "paused", changes, paused_at=at)
            elif resuming and clock.owed and clock.paused_at is not None:
                self._resume(clock, at, changes)
        return changes

    def _resume(self, clock: Clock, at: datetime, changes: list[Change]) -> None:
        if clock.paused_at is None:
            return
        paused_for = clock.paused_for + self.schedule_of(clock.name).elapsed(clock.paused_at, at)
        resumed = clock._replace(paused_at=None, paused_for=paused_for)
        self._set(
            clock,
            "resumed",
            changes,
            paused_at=None,
            paused_for=paused_for,
            due_at=self._due(resumed),
        )

    def change_priority(self, at: datetime, priority: str) -> list[Change]:
        """Re-target every clock still owed and not breached, keeping the business time used."""
        changes = self.observe(at)
        old, self.priority = self.priority, priority
        for clock in list(self.clocks.values()):
            if clock.owed and clock.breached_at is None:
                before, after = self.schedule_of(clock.name, old), self.schedule_of(clock.name)
                paused_for = clock.paused_for
                if before is not after and clock.started_at is not None:
                    # The time used so far carries over; the rest counts in the new schedule:
                    # what it has not counted since the start is paused time in its terms.
                    until = min(at, clock.paused_at) if clock.paused_at else at
                    used = max(before.elapsed(clock.started_at, until) - clock.paused_for, ZERO)
                    paused_for = max(after.elapsed(clock.started_at, until) - used, ZERO)
                due = self._due(clock._replace(paused_for=paused_for))
                if due != clock.due_at or paused_for != clock.paused_for:
                    self._set(clock, "retargeted", changes, due_at=due, paused_for=paused_for)
        # A lower target may already have run out.
        return changes + self.observe(at)
