"""Ticket stories told on the real clock engine, once per story key, shared by many tickets.

A story is what happened to a ticket (created, assigned, answered, resolved, ...) with the
messages, events and alerts the services write for each step (`tickets.services`):
`Clocks.start` at creation, then the transitions the services apply (`agent_response`,
`change_status`, `workaround`, `customer_message`, the sweep's `sweep`), each recorded as
`_record` does. Its layout in time depends only on its `StoryKey`: the snapshot, the priority,
the kind of story, whether it began with a phone call, and a variant number, which seeds the
draws (when the agent answered, whether late, ...). Everything that differs between the tickets
sharing a story (their ids, organisation, requester, agent, channel, subject) appears in the told
story as a `Slot`, filled per ticket when the rows are written (`chunks`).

Kinds of story (`chunks` draws them: `OPEN_NEW_SHARE` and the other shares there):

- open: `new` (untouched, half of them assigned), `open` (answered by a reply or, for phone
  tickets, the call; some with a workaround), `pending` (answered, then waiting on the customer:
  workaround and resolution paused) and a few `open_followup` (the customer wrote again after
  the answer: a next-response clock runs). No running clock has reached its next sweep instant.
- closed: `closed` (answered, sometimes a workaround, resolved; half of them closed later), and
  a few `closed_followup` (the customer wrote again and was answered before the resolution) and
  `closed_pending` (a pending period the customer's reply ended). Times are drawn in business
  time at 5-95% of the targets, about one clock in eight late (breached, recorded as the next
  transition observes it: an `SLAAlert` and a `breach` event, as `alerts_raise` writes them).
- `due`: an open ticket with exactly one clock whose next sweep instant passed within the last
  DUE_WINDOW; the alerts the minute sweep recorded before then are in its history.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from contracts.business_time import WorkingSchedule
from tickets.clocks import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    ROOT_CAUSE,
    WORKAROUND,
    Change,
    Clocks,
)
from tickets.loadgen.organisations import DUE_WINDOW, LoadgenError, Snapshot
from tickets.models import PhoneCall, SLAAlert, TicketEvent

HISTORY = timedelta(days=30)  # resolved and closed tickets were created within this
MINUTE = timedelta(minutes=1)
ONE_US = timedelta(microseconds=1)
INBOUND = PhoneCall.Direction.INBOUND.value
# Plain strings: the rows are written as text.
Kind = type("Kind", (), {kind.name: kind.value for kind in TicketEvent.Kind})
STATUS_EVENT = {"resolved": Kind.RESOLVED, "closed": Kind.CLOSED}
DERIVED = {"paused": Kind.PAUSED, "resumed": Kind.RESUMED}  # `_record`, for promised clocks
ALERTING = {"warned": SLAAlert.Kind.WARNING.value, "breached": SLAAlert.Kind.BREACH.value}
ALERT_EVENT = {"warned": Kind.WARNING, "breached": Kind.BREACH}
WORKAROUND_NOTE = "Switch the player to the backup CDN host while we fix the edge."
ROOT_CAUSE_SUMMARY = (
    "A configuration push left one edge cluster without the current TLS certificate; "
    "connections to it failed until it was rolled back."
)
ROOT_CAUSE_DETAIL = "cfg-push 4512 skipped the cert sync hook on edge-fra-2; hook now mandatory."
CLOSED_ROOT_CAUSE_SHARE = 0.8  # of resolved tickets whose priority has a root-cause target
FOLLOW_UP = "Here are the session IDs: 7f3a-11, 7f3a-42. It happens mostly in the evening."
OPEN_WORKAROUND_SHARE = 0.3  # of open tickets whose priority has a workaround target
CLOSED_WORKAROUND_SHARE = 0.7  # of resolved ones
LATE_SHARE = 0.12  # of the response, workaround and resolution times drawn for resolved tickets


class Slot:
    """A value that differs between the tickets sharing a story, filled in per ticket."""

    __slots__ = ("name", "quoted")

    def __init__(self, name: str, quoted: bool = False) -> None:
        self.name = name
        self.quoted = quoted  # a string inside JSON data (channel, contract), not a number

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


TICKET = Slot("t")
AGENT = Slot("agent")  # the user id of the agent who handles the ticket
CUSTOMER = Slot("cust")  # the requester's user id
TEAM = Slot("team")
REGION = Slot("region")
REFERENCE = Slot("ref")
CHANNEL = Slot("ch", quoted=True)
FOLLOW_UP_CHANNEL = Slot("fch")  # where the customer writes again: email or the portal
CONTRACT = Slot("con", quoted=True)
CALL = Slot("c0")
FIRST_MESSAGE = Slot("m0")  # written per ticket: its author and text depend on the channel


class StoryKey(NamedTuple):
    snapshot: int  # Snapshot.index
    priority: str
    story: str  # new, open, open_followup, pending, closed, closed_followup, closed_pending, due
    phone: bool  # created from a phone call (the call is the first response)
    variant: int


@dataclass
class Told:
    """A story as the services would have written it, with `Slot`s for what is per ticket."""

    key: StoryKey
    created_at: datetime
    state: Clocks
    status: str = "new"
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    assigned: bool = False
    # (kind, clock, actor, at, data), in the order the services write them
    events: list[tuple] = field(default_factory=list)
    # (slot, author, author kind, channel, body parts, at): the messages after the first
    messages: list[tuple] = field(default_factory=list)
    # (slot, clock, cycle started at, threshold, kind, due at, at): `SLAAlert` rows
    alerts: list[tuple] = field(default_factory=list)
    # The last service operation (`_save` sets `updated_at`; the sweep does not).
    updated_at: datetime | None = None
    root_cause_summary: str = ""
    root_cause_detail: str = ""


class _Teller:
    """Tells one story step by step, as the lifecycle services would record it."""

    def __init__(
        self, key: StoryKey, snapshot: Snapshot, created_at: datetime, rng: random.Random
    ) -> None:
        self.rng = rng
        state, changes = Clocks.start(
            schedule=snapshot.schedule,
            targets=snapshot.targets,
            pause_statuses=snapshot.pause_statuses,
            paused_clocks=snapshot.paused_clocks,
            priority=key.priority,
            status="new",
            at=created_at,
            thresholds=snapshot.thresholds,
            around_the_clock=snapshot.around_the_clock,
        )
        self.told = Told(key, created_at, state)
        # `ticket_create`: the first message (per ticket), then the creation event.
        data = {
            "channel": CHANNEL,
            "priority": key.priority,
            "status": "new",
            "contract": CONTRACT,
            "tier": snapshot.tier_code,
        }
        # A call is logged as it ends here: it started, and was logged, at `created_at`.
        instants = {"called_at": created_at.isoformat(), "logged_at": created_at.isoformat()}
        if key.phone:
            data |= instants
        self.record(Kind.CREATED, created_at, AGENT if key.phone else None, data, changes)
        if key.phone:
            # A ticket logged from a call has had its first response (`ticket_create`).
            changes = state.agent_response(created_at)
            data = {"call": CALL, "direction": INBOUND, **instants, "late_reason": ""}
            self.record(Kind.CALL, created_at, AGENT, data, changes)
            self.change_status(created_at, "open", AGENT)

    @property
    def state(self) -> Clocks:
        return self.told.state

    @property
    def responded(self) -> bool:
        return self.state.clocks[FIRST_RESPONSE].met_at is not None

    def event(self, kind: str, at: datetime, actor: Slot | None, data: dict, clock: str = ""):
        self.told.events.append((kind, clock, actor, at, data))

    def record(
        self,
        kind: str,
        at: datetime,
        actor: Slot | None,
        data: dict,
        changes: Sequence[Change],
    ) -> None:
        """`lifecycle._record`: the operation's event, one per promised clock it paused or
        resumed, then the warnings and breaches it found (`alerts_raise`)."""
        told = self.told
        told.updated_at = at if told.updated_at is None else max(told.updated_at, at)
        data["clocks"] = [c.as_data() for c in changes]
        self.event(kind, at, actor, data)
        for change in changes:
            promised = change.due_before is not None or change.due_after is not None
            if change.what in DERIVED and promised:
                self.event(DERIVED[change.what], at, actor, change.as_data(), change.clock)
        for change in changes:
            if change.what in ALERTING:
                self.alert(change, at)

    def alert(self, change: Change, at: datetime) -> None:
        """`alerts_raise` for one warning or breach: its `SLAAlert` and its event. Not their
        escalations and notifications, so the sweep's repeat and resend queues start empty."""
        told = self.told
        slot = Slot(f"a{len(told.alerts)}")
        threshold = change.threshold or SLAAlert.BREACH_THRESHOLD
        told.alerts.append(
            (
                slot,
                change.clock,
                change.cycle_started_at,
                threshold,
                ALERTING[change.what],
                change.due_before,
                at,
            )
        )
        data = {
            "alert": slot,
            "threshold": threshold,
            "due_at": change.due_before.isoformat(),
            "cycle_started_at": change.cycle_started_at.isoformat(),
        }
        self.event(ALERT_EVENT[change.what], at, None, data, change.clock)

    def message(
        self, at: datetime, author: Slot, author_kind: str, channel: str | Slot, body: tuple
    ) -> Slot:
        slot = Slot(f"m{len(self.told.messages) + 1}")
        self.told.messages.append((slot, author, author_kind, channel, body, at))
        return slot

    # -- what people do --

    def assign(self, at: datetime) -> None:
        """`ticket_assign` to the region's L1 team and one of its agents (self-assigned)."""
        self.told.assigned = True
        data = {
            "old": {"team": None, "assignee": None, "region": REGION},
            "new": {"team": TEAM, "assignee": AGENT, "region": REGION},
            "reason": "",
        }
        self.record(Kind.ASSIGNED, at, AGENT, data, ())

    def assign_maybe(self, share: float, before: datetime) -> None:
        """Most tickets are picked up by an agent of the region's L1 team within minutes
        (always before `before`)."""
        if self.rng.random() >= share:
            return
        start, rng = self.told.created_at, self.rng
        delay = min(timedelta(seconds=rng.uniform(5, 600)), (before - start) * rng.random())
        self.assign(start + delay)

    def respond(self, at: datetime) -> None:
        """`ticket_reply` by an agent: a public reply meets the response clocks, opens a new
        ticket."""
        body = ("Thanks for reporting this; we are looking into it now. (", REFERENCE, ")")
        slot = self.message(at, AGENT, "agent", "web", body)
        changes = self.state.agent_response(at)
        self.record(Kind.RESPONDED, at, AGENT, {"message": slot}, changes)
        if self.told.status == "new":
            self.change_status(at, "open", AGENT)

    def customer_writes(self, at: datetime) -> None:
        """`ticket_reply` by the requester: a next-response clock starts (unless the first
        response is still owed), a pending or resolved ticket is open again."""
        slot = self.message(at, CUSTOMER, "customer", FOLLOW_UP_CHANNEL, (FOLLOW_UP,))
        changes = self.state.customer_message(at)
        self.record(Kind.MESSAGE, at, CUSTOMER, {"message": slot}, changes)
        if self.told.status in ("pending", "resolved"):
            self.change_status(at, "open", CUSTOMER)

    def workaround(self, at: datetime) -> None:
        """`ticket_mark_workaround`."""
        changes = self.state.workaround(at)
        self.record(Kind.WORKAROUND, at, AGENT, {"note": WORKAROUND_NOTE}, changes)

    def root_cause(self, at: datetime) -> None:
        """`ticket_record_root_cause`."""
        changes = self.state.root_cause(at)
        data = {"summary": ROOT_CAUSE_SUMMARY, "revised": False, "with_detail": True}
        self.record(Kind.ROOT_CAUSE, at, AGENT, data, changes)
        self.told.root_cause_summary = ROOT_CAUSE_SUMMARY
        self.told.root_cause_detail = ROOT_CAUSE_DETAIL

    def change_status(self, at: datetime, status: str, actor: Slot | None) -> None:
        """`lifecycle._change_status`."""
        told = self.told
        old = told.status
        changes = self.state.change_status(at, status)
        told.status = status
        if status in ("resolved", "closed") and old not in ("resolved", "closed"):
            told.resolved_at = at
        if status == "closed":
            told.closed_at = at
        if old == "resolved" and status != "closed":
            told.resolved_at = None
        kind = STATUS_EVENT.get(status, Kind.REOPENED if old == "resolved" else Kind.STATUS)
        self.record(kind, at, actor, {"old": old, "new": status}, changes)

    def sweeps_before(self, until: datetime) -> None:
        """The minute sweep ran up to `until`: every alert instant before it was recorded, a few
        seconds late (`alerts_raise`: an `SLAAlert` and a warning or breach event)."""
        rng, state = self.rng, self.state
        while True:
            due = [c.alert_at for c in state.clocks.values() if c.alert_at and c.alert_at < until]
            if not due:
                return
            at = min(min(due) + timedelta(seconds=rng.uniform(0, 59)), until - ONE_US)
            for change in state.sweep(at):
                self.alert(change, at)

    def alert_instants(self) -> list[datetime]:
        return [c.alert_at for c in self.state.clocks.values() if c.alert_at is not None]

    def done(self) -> Told:
        # An assignment drawn after a later step goes where it happened (a stable sort keeps
        # the order of what happened at the same instant).
        self.told.events.sort(key=lambda event: event[3])
        return self.told


# --- Laying stories out in time ------------------------------------------------------------------


def tell(key: StoryKey, snapshot: Snapshot, *, now: datetime, seed: int) -> Told:
    """The story `key` for tickets of `snapshot`, laid out around `now`. Its draws depend only
    on the key, the run's seed and `now`, so every process tells it the same."""
    rng = random.Random(f"{seed}:{now.isoformat()}:{tuple(key)}")  # noqa: S311 - test data
    if key.story == "due":
        return _due(key, snapshot, now, rng)
    if key.story.startswith("closed"):
        return _closed(key, snapshot, now, rng)
    return _open(key, snapshot, now, rng)


def _recent(
    snapshot: Snapshot,
    limit: timedelta,
    now: datetime,
    rng: random.Random,
    after: datetime | None = None,
) -> datetime:
    """An instant less than `limit` of open time before now (and after `after`): a clock
    started then has not reached its first sweep instant yet."""
    for _ in range(3):
        start = now - limit * (snapshot.wall_ratio * rng.random())
        if snapshot.schedule.elapsed(start, now) < limit and (after is None or start > after):
            return start
    age = min(limit * rng.random(), limit - ONE_US)  # open time never exceeds wall time
    return now - age


def _min_limit(snapshot: Snapshot, priority: str, clocks: Sequence[str]) -> timedelta:
    limits = [snapshot.first_alert(priority, clock) for clock in clocks]
    return min(limit for limit in limits if limit is not None)


def _open(key: StoryKey, snapshot: Snapshot, now: datetime, rng: random.Random) -> Told:
    """New, open or pending; every running clock's next sweep instant lies ahead."""
    priority, story = key.priority, key.story
    for _ in range(20):
        wants_workaround = (
            snapshot.target(priority, WORKAROUND) is not None
            and story != "new"
            and rng.random() < OPEN_WORKAROUND_SHARE
        )
        if story == "new":
            limit = _min_limit(
                snapshot, priority, (FIRST_RESPONSE, WORKAROUND, ROOT_CAUSE, RESOLUTION)
            )
            created = _recent(snapshot, limit, now, rng)
        elif story == "pending":
            created = now - timedelta(minutes=rng.uniform(10, 60 * 24 * 5))
        else:
            running = (
                (ROOT_CAUSE, RESOLUTION)
                if wants_workaround
                else (WORKAROUND, ROOT_CAUSE, RESOLUTION)
            )
            created = _recent(snapshot, _min_limit(snapshot, priority, running), now, rng)
        teller = _Teller(key, snapshot, created, rng)
        teller.assign_maybe(0.5 if story == "new" else 0.95, now)
        if story != "new":
            t1 = created + (now - created) * rng.uniform(0.05, 0.5)
            if not teller.responded:
                teller.respond(t1)
            last = t1
            if wants_workaround:
                last = t1 + (now - t1) * rng.uniform(0.05, 0.5)
                teller.workaround(last)
            if story == "pending":
                teller.change_status(last + (now - last) * rng.uniform(0.1, 0.9), "pending", AGENT)
            elif story == "open_followup":
                limit = snapshot.first_alert(priority, NEXT_RESPONSE)
                asked = _recent(snapshot, limit, now, rng, after=last) if limit else None
                if asked is None or asked <= last:
                    continue
                teller.customer_writes(asked)
        if all(at > now for at in teller.alert_instants()):
            return teller.done()
    raise LoadgenError(f"could not lay out an open ticket ({key})")


def _closed(key: StoryKey, snapshot: Snapshot, now: datetime, rng: random.Random) -> Told:
    """Resolved or closed within the last weeks; response and resolution times are drawn in
    business time around their targets, now and then late."""
    priority, schedule = key.priority, snapshot.schedule
    created = now - HISTORY * rng.random()

    def share(late: float) -> float:
        """Of the target: mostly well within it, about one in eight late."""
        return rng.uniform(1.02, late) if rng.random() < LATE_SHARE else rng.uniform(0.05, 0.95)

    first = snapshot.target(priority, FIRST_RESPONSE)
    resolution = snapshot.target(priority, RESOLUTION)
    workaround = snapshot.target(priority, WORKAROUND)
    root_cause = snapshot.target(priority, ROOT_CAUSE)
    for _ in range(12):
        responded = schedule.add(created, first * share(2.0))
        worked = (
            max(schedule.add(created, workaround * share(1.5)), responded)
            if workaround and rng.random() < CLOSED_WORKAROUND_SHARE
            else None
        )
        # Found before the fix (after the first answer), now and then late.
        found = (
            max(
                snapshot.schedule_for(priority, ROOT_CAUSE).add(created, root_cause * share(1.5)),
                responded,
            )
            if root_cause and rng.random() < CLOSED_ROOT_CAUSE_SHARE
            else None
        )
        resolved = max(
            snapshot.schedule_for(priority, RESOLUTION).add(created, resolution * share(1.6)),
            max(filter(None, (worked, found, responded))) + timedelta(minutes=rng.uniform(1, 30)),
        )
        if resolved < now - MINUTE:
            break
        created -= (resolved - created) + timedelta(hours=rng.uniform(1, 48))
    else:
        raise LoadgenError(f"could not fit a resolved ticket ({key})")
    teller = _Teller(key, snapshot, created, rng)
    teller.assign_maybe(0.95, resolved)
    # The steps in the order they happened (a workaround may come with the first answer).
    steps: list[tuple[datetime, str]] = [(responded, "respond")]
    if worked:
        steps.append((worked, "workaround"))
    if found:
        steps.append((found, "root_cause"))
    if key.story == "closed_followup":
        # The customer wrote again after the answer and was answered before the resolution.
        asked = responded + (resolved - responded) * rng.uniform(0.2, 0.5)
        replied = asked + (resolved - asked) * rng.uniform(0.1, 0.6)
        steps += [(asked, "customer"), (replied, "reply")]
    elif key.story == "closed_pending":
        # Waiting on the customer for a while; their reply opened it again.
        waiting = responded + (resolved - responded) * rng.uniform(0.1, 0.4)
        answered = waiting + (resolved - waiting) * rng.uniform(0.3, 0.6)
        replied = answered + (resolved - answered) * rng.uniform(0.1, 0.6)
        steps += [(waiting, "pending"), (answered, "customer"), (replied, "reply")]
    for at, step in sorted(steps):
        if step == "respond":
            if not teller.responded:
                teller.respond(at)
        elif step == "reply":
            teller.respond(at)
        elif step == "workaround":
            teller.workaround(at)
        elif step == "root_cause":
            teller.root_cause(at)
        elif step == "customer":
            teller.customer_writes(at)
        else:
            teller.change_status(at, "pending", AGENT)
    teller.change_status(resolved, "resolved", AGENT)
    if rng.random() < 0.5:
        closed = resolved + min(timedelta(days=3), now - resolved) * rng.random()
        teller.change_status(closed, "closed", None)
    return teller.done()


def _due(key: StoryKey, snapshot: Snapshot, now: datetime, rng: random.Random) -> Told:
    """An open ticket with exactly one clock whose next sweep instant passed within the last
    DUE_WINDOW (a warning threshold, or the due instant of a clock warned at every one), on
    which a sweep now records exactly one alert."""
    priority = key.priority
    for _ in range(50):
        # A call answers the first response at once: phone tickets are due on resolution.
        clock = RESOLUTION if key.phone else rng.choice((FIRST_RESPONSE, RESOLUTION))
        target = snapshot.target(priority, clock)
        level = rng.choice([*sorted(snapshot.thresholds), 100])
        amount = target if level == 100 else target * level // 100
        crossing = now - DUE_WINDOW * rng.uniform(0.02, 0.98)
        created = _start_for(snapshot.schedule_for(priority, clock), amount, crossing)
        teller = _Teller(key, snapshot, created, rng)
        teller.assign_maybe(0.9, crossing)
        if clock == RESOLUTION and not teller.responded:
            responded = created + (crossing - created) * rng.uniform(0.02, 0.3)
            teller.sweeps_before(responded)
            teller.respond(responded)
        teller.sweeps_before(crossing)
        passed = [at for at in teller.alert_instants() if at <= now]
        if len(passed) == 1 and now - DUE_WINDOW <= passed[0] < now:
            # A short target can cross two thresholds within the window: keep only clocks
            # on which a sweep now records exactly one alert.
            probe = replace(teller.state, clocks=dict(teller.state.clocks))
            alerts = [c for c in probe.sweep(now) if c.what in ALERTING]
            if len(alerts) == 1:
                return teller.done()
    raise LoadgenError(f"could not lay out a ticket due for the sweep now ({key})")


def _start_for(schedule: WorkingSchedule, amount: timedelta, crossing: datetime) -> datetime:
    """The latest start from which `amount` of open time is used up at or before `crossing`
    (the inverse of `schedule.add`, by bisection)."""
    high = crossing - amount
    if schedule.add(high, amount) <= crossing:
        return high  # open throughout, e.g. 24x7
    step = amount
    low = high - step
    while schedule.add(low, amount) > crossing:
        step *= 2
        low = high - step
    while high - low > ONE_US:
        middle = low + (high - low) // 2
        if schedule.add(middle, amount) <= crossing:
            low = middle
        else:
            high = middle
    return low
