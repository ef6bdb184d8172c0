"""Random ticket lives: after every step the stored clocks equal the replay of the history, and
every clock still counting is due exactly where an independent calculation puts it."""

import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import make_member, make_tier, sign_contract
from contracts.models import SLATier
from portal.models import Organisation
from tickets.clock_replay import replay_differences
from tickets.clock_store import ticket_schedule
from tickets.clocks import AROUND_THE_CLOCK, CLOCKS, NEXT_RESPONSE, STOPPED_STATUSES
from tickets.models import SLAAlert, Ticket
from tickets.services import (
    TicketError,
    call_log,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_mark_workaround,
    ticket_record_root_cause,
    ticket_reply,
)
from tickets.services.sweep import deadlines_sweep

START = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # a Friday, shortly before Berlin's DST change


class TicketLives(RuleBasedStateMachine):
    cast: dict = {}

    @initialize(
        who=st.sampled_from(["requester_a", "requester_b", "requester_m"]),
        priority=st.sampled_from(["p1", "p2", "p3", "p4"]),
        offset=st.integers(0, 7 * 24 * 60),
    )
    def open_ticket(self, who, priority, offset):
        self.member = self.cast[who]
        self.agent = self.cast["agent_ber"].user
        self.now = START + timedelta(minutes=offset)
        if who == "requester_b" and priority == "p1":
            priority = "p2"  # Standard does not cover P1
        self.ticket = ticket_create(
            organisation=self.member.organisation,
            requester=self.member,
            channel="web",
            subject="Random life",
            body_text="Something is wrong.",
            priority=priority,
            now=self.now,
        )
        # The statuses the ticket had, with the instant each began: the independent record
        # of pauses.
        self.statuses = [(self.now, "new")]
        self.priorities = {priority}  # every priority the ticket has had

    def _refresh(self) -> Ticket:
        self.ticket = Ticket.objects.get(pk=self.ticket.pk)
        if self.ticket.status != self.statuses[-1][1]:
            self.statuses.append((self.now, self.ticket.status))
        return self.ticket

    @rule(minutes=st.one_of(st.integers(1, 90), st.integers(90, 4 * 24 * 60)))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.ticket.status != "closed")
    @rule(internal=st.booleans())
    def agent_replies(self, internal):
        ticket_reply(
            ticket=self.ticket,
            author=self.agent,
            body_text="Agent",
            now=self.now,
            internal=internal,
        )
        self._refresh()

    @precondition(lambda self: self.ticket.status != "closed")
    @rule()
    def customer_writes(self):
        ticket_reply(
            ticket=self.ticket, author=self.member.user, body_text="Customer", now=self.now
        )
        self._refresh()

    @precondition(lambda self: self.ticket.status != "closed")
    @rule()
    def agent_calls(self):
        call_log(
            ticket=self.ticket,
            agent=self.agent,
            caller_name="C",
            phone_number="+1",
            direction="outbound",
            started_at=self.now,
            duration=timedelta(minutes=3),
            summary="Call",
            now=self.now,
        )
        self._refresh()

    @rule(
        status=st.sampled_from(["open", "pending", "resolved", "closed"]), by_customer=st.booleans()
    )
    def status_changes(self, status, by_customer):
        actor = self.member.user if by_customer else self.agent
        # Not allowed from here, or not by this person: then nothing changes.
        with contextlib.suppress(TicketError):
            ticket_change_status(ticket=self.ticket, status=status, actor=actor, now=self.now)
        self._refresh()

    @rule(priority=st.sampled_from(["p1", "p2", "p3", "p4"]))
    def priority_changes(self, priority):
        with contextlib.suppress(TicketError):  # closed, or not covered by the contract
            ticket_change_priority(
                ticket=self.ticket, priority=priority, actor=self.agent, now=self.now
            )
        self._refresh()
        self.priorities.add(self.ticket.priority)

    @rule()
    def workaround_given(self):
        with contextlib.suppress(TicketError):  # closed, resolved or already given
            ticket_mark_workaround(ticket=self.ticket, actor=self.agent, now=self.now)
        self._refresh()

    @rule(revise=st.booleans())
    def root_cause_recorded(self, revise):
        if self.ticket.root_cause_summary and not revise:
            return
        ticket_record_root_cause(
            ticket=self.ticket,
            actor=self.agent,
            now=self.now,
            summary=f"Edge cache purge at {self.now:%H:%M}",
            detail="Purge job ran with the wrong prefix.",
        )
        self._refresh()

    @rule()
    def deadline_sweep_runs(self):
        deadlines_sweep(now=self.now)
        self._refresh()

    @invariant()
    def every_alert_is_recorded_once(self):
        keys = list(
            SLAAlert.objects.filter(ticket=self.ticket).values_list(
                "clock", "cycle_started_at", "threshold"
            )
        )
        assert len(keys) == len(set(keys))
        warned = {clock: getattr(self.ticket, f"{clock}_warned") for clock in CLOCKS}
        for clock, _, threshold in keys:
            if threshold < 100 and clock != NEXT_RESPONSE:
                assert threshold <= warned[clock]

    @invariant()
    def stored_clocks_equal_the_replay(self):
        ticket = self._refresh()
        assert replay_differences(ticket, ticket.events.order_by("id")) == []

    @invariant()
    def met_and_breached_clocks_keep_what_they_took(self):
        ticket = self.ticket
        for clock in CLOCKS:
            met, breached = (
                getattr(ticket, f"{clock}_{part}") for part in ("met_at", "breached_at")
            )
            taken = getattr(ticket, f"{clock}_taken")
            due = getattr(ticket, f"{clock}_due_at")
            if due is not None and (met is not None or breached is not None):
                assert taken is not None and taken >= timedelta(0), clock
            if breached is not None and met is None:
                # At a breach a clock has used its whole target (that of the priority then).
                targets = {ticket.sla_targets[p].get(clock) for p in self.priorities}
                assert taken in {timedelta(minutes=t) for t in targets if t}, clock

    @invariant()
    def counting_clocks_are_due_where_an_independent_calculation_says(self):
        ticket = self.ticket
        calendar = ticket_schedule(ticket)
        for clock in CLOCKS:
            kinds = {
                clock in ticket.sla_around_the_clock.get(priority, ())
                for priority in self.priorities
            }
            if len(kinds) > 1:
                continue  # counted in two schedules in its life: the carry-over is tested apart
            schedule = AROUND_THE_CLOCK if kinds == {True} else calendar
            target = ticket.sla_targets[ticket.priority].get(clock)
            started = (
                ticket.next_response_started_at if clock == NEXT_RESPONSE else ticket.created_at
            )
            if (
                not target
                or started is None
                or getattr(ticket, f"{clock}_met_at") is not None
                or getattr(ticket, f"{clock}_breached_at") is not None
            ):
                continue
            stops = STOPPED_STATUSES | (
                set(ticket.sla_pause_statuses) if clock in ticket.sla_paused_clocks else set()
            )
            runs = self._stopped_runs(stops)
            # A clock paused right now is due where it would be if it resumed at once.
            completed = [(begin, end) for begin, end in runs if end is not None and end > started]
            expected = schedule.add(started, timedelta(minutes=target), pauses=completed)
            assert getattr(ticket, f"{clock}_due_at") == expected, clock
            paused_now = bool(runs) and runs[-1][1] is None
            assert (getattr(ticket, f"{clock}_paused_at") is not None) == paused_now, clock

    def _stopped_runs(self, stops: set[str]) -> list[tuple[datetime, datetime | None]]:
        """Maximal spans spent in statuses that stop the clock; the last may still be open."""
        runs: list[list] = []
        previous_stops = False
        for i, (begin, status) in enumerate(self.statuses):
            end = self.statuses[i + 1][0] if i + 1 < len(self.statuses) else None
            stopping = status in stops
            if stopping and previous_stops:
                runs[-1][1] = end  # e.g. pending, then resolved: one pause
            elif stopping:
                runs.append([begin, end])
            previous_stops = stopping
        return [(begin, end) for begin, end in runs]


@pytest.mark.django_db
def test_random_ticket_lives_keep_stored_clocks_equal_to_their_replay(cast, region_ber):
    # A third customer, on business hours, whose tier promises root causes and counts some
    # fixes around the clock: priority changes move its resolution between the two schedules.
    tier = make_tier(
        "milestones",
        SLATier.Coverage.BUSINESS,
        {
            "p1": (30, 60, 60, 240, 2880),
            "p2": (60, 120, 240, 960, 4800),
            "p3": (240, 480, None, None, 4800),
            "p4": (480, 960, None, None, 9600),
        },
        around_the_clock={"p1": ["resolution"], "p4": ["resolution", "first_response"]},
    )
    org = Organisation.objects.create(name="Milestones", slug="milestones", home_region=region_ber)
    admin = make_member("ada.admin@milestones.test", org, "admin")
    sign_contract(org, tier, admin, date(2026, 1, 1), "CT-M-1")
    TicketLives.cast = {**cast, "requester_m": make_member("rob@milestones.test", org)}
    run_state_machine_as_test(
        TicketLives,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
