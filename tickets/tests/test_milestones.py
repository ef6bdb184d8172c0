"""The four promises as milestones: the root-cause clock through a ticket's life, targets
counted around the clock on a business-hours tier, what each clock achieved, and the past
cycles of the next-response clock. Expected instants are worked out by hand in comments."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_member, make_tier, sign_contract
from contracts.business_time import WorkingSchedule
from contracts.models import SLATier
from portal.models import Organisation
from tickets.clock_replay import replay_differences
from tickets.clocks import AROUND_THE_CLOCK, RESOLUTION, ROOT_CAUSE, Clocks
from tickets.models import Escalation, ResponseCycle, SLAAlert, Ticket, TicketEvent
from tickets.services import (
    TicketError,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_record_root_cause,
    ticket_reply,
    ticket_update,
)
from tickets.services.sweep import deadlines_sweep

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def create(member, at: datetime, priority: str) -> Ticket:
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Ingest down in Frankfurt",
        body_text="No stream reaches the origin.",
        priority=priority,
        now=at,
    )


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def replays_equal(ticket: Ticket) -> bool:
    ticket = fresh(ticket)
    return replay_differences(ticket, ticket.events.order_by("id")) == []


def customer(region, tier, slug: str, manager):
    org = Organisation.objects.create(
        name=slug.title(), slug=slug, home_region=region, account_manager=manager.user
    )
    admin = make_member(f"ada.admin@{slug}.test", org, "admin")
    sign_contract(org, tier, admin, date(2026, 1, 1), f"CT-{slug.upper()}")
    return make_member(f"rob.requester@{slug}.test", org)


@pytest.fixture
def requester_e(region_ber, account_manager):
    """A customer whose 24x7 tier promises the four milestones: P1 responds in 10 minutes, works
    around in 30, finds the root cause in 2 hours, fixes in 48; P3 promises no root cause."""
    tier = make_tier(
        "premier",
        SLATier.Coverage.ALWAYS,
        {
            "p1": (10, 30, 30, 120, 2880),
            "p2": (30, 60, 120, 480, 1440),
            "p3": (120, 240, None, None, 1440),
        },
    )
    return customer(region_ber, tier, "aurora", account_manager)


@pytest.fixture
def requester_c(region_ber, account_manager):
    """A Berlin customer on business hours (Mon-Fri 09-17) whose P4 fix is promised within 160
    hours around the clock."""
    tier = make_tier(
        "standard-plus",
        SLATier.Coverage.BUSINESS,
        {"p3": (480, 480, None, None, 4800), "p4": (960, 960, None, None, 9600)},
        around_the_clock={"p4": ["resolution"]},
    )
    return customer(region_ber, tier, "cobalt", account_manager)


def test_an_enterprise_p1_promises_four_milestones(requester_e):
    # 24x7: first response +10 min, workaround +30, root cause +2 h, fix +48 h.
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    due = (
        ticket.first_response_due_at,
        ticket.workaround_due_at,
        ticket.root_cause_due_at,
        ticket.resolution_due_at,
    )
    assert due == (
        at + timedelta(minutes=10),
        at + timedelta(minutes=30),
        at + timedelta(hours=2),
        at + timedelta(hours=48),
    )
    assert ticket.next_due_at == at + timedelta(minutes=10)
    started = TicketEvent.objects.get(ticket=ticket, kind="created").data["clocks"]
    assert {c["clock"] for c in started} == {
        "first_response",
        "workaround",
        "root_cause",
        "resolution",
    }


def test_recording_the_root_cause_meets_its_clock_with_the_time_it_took(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_record_root_cause(
        ticket=ticket,
        actor=agent_ber.user,
        now=at + timedelta(minutes=95),
        summary="A certificate rotation left the Frankfurt ingest edge without its key.",
        detail="cert-manager renewal hook skipped fra-ingest-3; fixed the hook's selector.",
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_met_at == at + timedelta(minutes=95)
    assert ticket.root_cause_taken == timedelta(minutes=95)
    assert ticket.root_cause_alert_at is None
    assert ticket.root_cause_summary.startswith("A certificate rotation")
    event = ticket.events.get(kind=TicketEvent.Kind.ROOT_CAUSE)
    assert event.data["summary"] == ticket.root_cause_summary
    assert event.data["revised"] is False
    # The internal detail stays on the ticket, out of the history.
    assert "cert-manager" not in str(event.data)
    root_cause = [c["what"] for c in event.data["clocks"] if c["clock"] == "root_cause"]
    assert root_cause == ["met"]
    assert replays_equal(ticket)


def test_revising_the_root_cause_changes_the_text_not_the_clock(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_record_root_cause(ticket=ticket, actor=agent_ber.user, now=at, summary="First idea")
    ticket_record_root_cause(
        ticket=ticket, actor=agent_ber.user, now=at + timedelta(hours=5), summary="The real one"
    )
    ticket = fresh(ticket)
    assert (ticket.root_cause_summary, ticket.root_cause_met_at) == ("The real one", at)
    revised = ticket.events.filter(kind="root_cause").order_by("id").last()
    # The revision moves no root-cause clock; the breaches it observes are recorded with it.
    assert revised.data["revised"] is True
    assert [c for c in revised.data["clocks"] if c["clock"] == "root_cause"] == []
    assert {c["what"] for c in revised.data["clocks"]} <= {"breached"}
    assert replays_equal(ticket)


def test_a_root_cause_needs_a_summary_and_an_agent(requester_e, agent_ber):
    ticket = create(requester_e, utc(2026, 3, 4, 10, 0), "p1")
    with pytest.raises(TicketError) as blank:
        ticket_record_root_cause(
            ticket=ticket, actor=agent_ber.user, now=utc(2026, 3, 4, 11), summary="  "
        )
    assert blank.value.field == "root_cause_summary"
    with pytest.raises(TicketError) as customer:
        ticket_record_root_cause(
            ticket=ticket, actor=requester_e.user, now=utc(2026, 3, 4, 11), summary="Ours"
        )
    assert customer.value.field == "root_cause_summary"
    assert fresh(ticket).root_cause_met_at is None


def test_the_desk_records_workaround_and_root_cause_in_one_step(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_update(
        ticket=ticket,
        actor=agent_ber.user,
        now=at + timedelta(minutes=20),
        reply="Switch to the backup ingest; the cause was a certificate rotation.",
        workaround=True,
        root_cause_summary="Certificate rotation on the ingest edge.",
        root_cause_detail="Renewal hook skipped one host.",
    )
    ticket = fresh(ticket)
    met = {
        name: getattr(ticket, f"{name}_met_at")
        for name in ("first_response", "workaround", "root_cause")
    }
    assert set(met.values()) == {at + timedelta(minutes=20)}
    assert ticket.resolution_met_at is None
    assert ticket.root_cause_detail == "Renewal hook skipped one host."
    assert replays_equal(ticket)


def test_the_root_cause_pauses_with_the_tier_and_breaches_at_its_due_instant(
    requester_e, agent_ber
):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="On it", now=at)
    # Waiting on the customer for an hour: the root cause (a paused clock of the tier) moves
    # by an hour, to 13:00.
    ticket_change_status(
        ticket=ticket, status="pending", actor=agent_ber.user, now=at + timedelta(minutes=30)
    )
    assert fresh(ticket).root_cause_paused_at == at + timedelta(minutes=30)
    ticket_change_status(
        ticket=ticket, status="open", actor=agent_ber.user, now=at + timedelta(minutes=90)
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_due_at == utc(2026, 3, 4, 13, 0)
    assert ticket.root_cause_paused_for == timedelta(hours=1)
    deadlines_sweep(now=utc(2026, 3, 4, 13, 1))
    ticket = fresh(ticket)
    assert ticket.root_cause_breached_at == utc(2026, 3, 4, 13, 0)
    assert ticket.root_cause_taken == timedelta(hours=2)  # the whole target
    breach = SLAAlert.objects.get(ticket=ticket, clock=ROOT_CAUSE, kind="breach")
    # Escalated as any clock's breach is: the policy is per tier, priority and trigger.
    assert Escalation.objects.filter(alert=breach).exists()
    # Recorded late: it took 3 h of counted time, an hour past the promise.
    ticket_record_root_cause(
        ticket=ticket, actor=agent_ber.user, now=utc(2026, 3, 4, 14, 0), summary="Late"
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_taken == timedelta(hours=3)
    assert ticket.root_cause_breached_at == utc(2026, 3, 4, 13, 0)
    assert replays_equal(ticket)


def test_a_priority_change_retargets_the_root_cause(requester_e, agent_ber):
    # P2 promises a root cause in 8 h; raised to P1 after 1 h, it is due 1 h later.
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p2")
    assert ticket.root_cause_due_at == at + timedelta(hours=8)
    ticket_change_priority(
        ticket=ticket, priority="p1", actor=agent_ber.user, now=at + timedelta(hours=1)
    )
    assert fresh(ticket).root_cause_due_at == at + timedelta(hours=2)
    # P3 promises none: the clock keeps running with nothing due.
    ticket_change_priority(
        ticket=ticket, priority="p3", actor=agent_ber.user, now=at + timedelta(hours=1, minutes=5)
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_due_at is None
    assert ticket.root_cause_alert_at is None
    assert replays_equal(ticket)


def test_resolving_stops_the_root_cause_and_reopening_resumes_it(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_change_status(
        ticket=ticket, status="resolved", actor=agent_ber.user, now=at + timedelta(minutes=40)
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_paused_at == at + timedelta(minutes=40)
    assert ticket.resolution_taken == timedelta(minutes=40)
    # Found after the fix: recording it on the resolved ticket meets the clock with the time
    # counted before the resolution.
    ticket_change_status(
        ticket=ticket, status="open", actor=requester_e.user, now=at + timedelta(hours=3)
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_due_at == at + timedelta(hours=2) + timedelta(minutes=140)
    assert ticket.resolution_taken is None  # owed again
    ticket_record_root_cause(
        ticket=ticket, actor=agent_ber.user, now=at + timedelta(hours=4), summary="Found it"
    )
    assert fresh(ticket).root_cause_taken == timedelta(minutes=40 + 60)
    assert replays_equal(ticket)


def test_a_root_cause_after_the_resolution_counts_the_time_before_it(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p1")
    ticket_change_status(
        ticket=ticket, status="resolved", actor=agent_ber.user, now=at + timedelta(minutes=50)
    )
    ticket_record_root_cause(
        ticket=ticket, actor=agent_ber.user, now=at + timedelta(days=1), summary="Post-mortem"
    )
    ticket = fresh(ticket)
    assert ticket.root_cause_met_at == at + timedelta(days=1)
    assert ticket.root_cause_taken == timedelta(minutes=50)
    assert ticket.root_cause_breached_at is None
    assert replays_equal(ticket)


# --- around the clock ----------------------------------------------------------------------------


def test_a_fix_promised_around_the_clock_counts_the_weekend(requester_c, agent_ber):
    # Standard P4: answered in business hours (960 min = two 8-hour days), fixed within 9600
    # minutes (160 h) of wall-clock time. Friday 2026-03-06 16:00 CET (15:00 UTC).
    at = datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN)
    ticket = create(requester_c, at, "p4")
    assert ticket.sla_around_the_clock == {"p4": ["resolution"]}
    # First response: 1 h on Friday, 8 h Monday, 7 h Tuesday: Tuesday 10 16:00 CET.
    assert ticket.first_response_due_at == utc(2026, 3, 10, 15, 0)
    assert ticket.resolution_due_at == at + timedelta(hours=160)
    # Waiting on the customer from Saturday 12:00 to Monday 12:00 UTC: 48 h paused.
    ticket_change_status(
        ticket=ticket, status="pending", actor=agent_ber.user, now=utc(2026, 3, 7, 12)
    )
    ticket_change_status(
        ticket=ticket, status="open", actor=agent_ber.user, now=utc(2026, 3, 9, 12)
    )
    ticket = fresh(ticket)
    assert ticket.resolution_paused_for == timedelta(hours=48)
    assert ticket.resolution_due_at == at + timedelta(hours=208)
    ticket_change_status(
        ticket=ticket, status="resolved", actor=agent_ber.user, now=utc(2026, 3, 10)
    )
    # Friday 15:00 UTC to Tuesday 00:00 is 81 h, 48 of them paused.
    assert fresh(ticket).resolution_taken == timedelta(hours=33)
    assert replays_equal(ticket)


def test_a_priority_change_into_around_the_clock_carries_the_time_used_over(requester_c, agent_ber):
    # P3 (business hours, resolution 80 h) from Monday 2026-03-02 09:00 CET; after 8 business
    # hours (Monday 17:00 CET), lowered to P4 (resolution 160 h around the clock): 152 h are
    # left, counted from the change.
    at = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
    ticket = create(requester_c, at, "p3")
    change = datetime(2026, 3, 2, 17, 0, tzinfo=BERLIN)
    ticket_change_priority(ticket=ticket, priority="p4", actor=agent_ber.user, now=change)
    ticket = fresh(ticket)
    assert ticket.resolution_due_at == change + timedelta(hours=152)
    # And back to P3 on Tuesday 08:00 CET: 23 h of wall-clock time used, but the calendar had
    # counted only 8 h since the start, and a clock cannot have used more than its schedule
    # had: 72 business hours are left.
    back = datetime(2026, 3, 3, 8, 0, tzinfo=BERLIN)
    ticket_change_priority(ticket=ticket, priority="p3", actor=agent_ber.user, now=back)
    ticket = fresh(ticket)
    calendar = WorkingSchedule(
        "Europe/Berlin", {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    assert ticket.resolution_due_at == calendar.add(back, timedelta(hours=80 - 8))
    assert replays_equal(ticket)


# --- response cycles -----------------------------------------------------------------------------


def test_each_answered_next_response_cycle_is_kept(requester_e, agent_ber):
    at = utc(2026, 3, 4, 10, 0)
    ticket = create(requester_e, at, "p2")  # next response 60 min
    agent, customer = agent_ber.user, requester_e.user
    ticket_reply(ticket=ticket, author=agent, body_text="Hello", now=at + timedelta(minutes=5))
    ticket_reply(
        ticket=ticket, author=customer, body_text="Still down", now=at + timedelta(hours=1)
    )
    ticket_reply(ticket=ticket, author=agent, body_text="Checking", now=at + timedelta(hours=1.5))
    ticket_reply(ticket=ticket, author=customer, body_text="And now?", now=at + timedelta(hours=2))
    deadlines_sweep(now=at + timedelta(hours=3, minutes=1))
    ticket_reply(ticket=ticket, author=agent, body_text="Fixed", now=at + timedelta(hours=3.5))
    cycles = list(
        ResponseCycle.objects.filter(ticket=ticket).values_list(
            "started_at", "due_at", "met_at", "breached_at", "taken"
        )
    )
    assert cycles == [
        (
            at + timedelta(hours=1),
            at + timedelta(hours=2),
            at + timedelta(hours=1.5),
            None,
            timedelta(minutes=30),
        ),
        (
            at + timedelta(hours=2),
            at + timedelta(hours=3),
            at + timedelta(hours=3.5),
            at + timedelta(hours=3),
            timedelta(minutes=90),
        ),
    ]


# --- properties --------------------------------------------------------------------------------

BERLIN_HOURS = WorkingSchedule(
    "Europe/Berlin",
    {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
    holidays=[date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25)],
)
instants = st.datetimes(
    # Naive bounds, as hypothesis asks; the instants drawn are in UTC.
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2026, 12, 20),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def clocks(at: datetime, *, wall: bool) -> Clocks:
    state, _ = Clocks.start(
        schedule=BERLIN_HOURS,
        targets={"p3": {"first_response": 480, "root_cause": 960, "resolution": 2880}},
        pause_statuses=["pending"],
        paused_clocks=["root_cause", "resolution"],
        priority="p3",
        status="new",
        at=at,
        around_the_clock={"p3": ["resolution"]} if wall else {},
    )
    return state


@settings(max_examples=200, deadline=None)
@given(
    start=instants,
    pause_after=st.integers(0, 5 * 24 * 60),
    pause_minutes=st.integers(1, 5 * 24 * 60),
    met_after=st.integers(1, 10 * 24 * 60),
)
def test_a_met_clock_took_its_schedule_time_less_its_pauses(
    start, pause_after, pause_minutes, met_after
):
    for wall in (False, True):
        state = clocks(start, wall=wall)
        paused_at = start + timedelta(minutes=pause_after)
        resumed_at = paused_at + timedelta(minutes=pause_minutes)
        state.change_status(paused_at, "pending")
        state.change_status(resumed_at, "open")
        met_at = resumed_at + timedelta(minutes=met_after)
        state.change_status(met_at, "resolved")
        schedule = AROUND_THE_CLOCK if wall else BERLIN_HOURS
        clock = state.clocks[RESOLUTION]
        # A clock already broken when the pause began keeps counting.
        first_due = schedule.add(start, timedelta(minutes=2880))
        pauses = [(paused_at, resumed_at)] if paused_at <= first_due else []
        expected = schedule.elapsed(start, met_at, pauses=pauses)
        assert clock.taken == expected
        # Late exactly when met after its due instant; taking more than the target is late.
        assert (clock.breached_at is not None) == (met_at > clock.due_at)
        if expected > timedelta(minutes=2880):
            assert clock.breached_at is not None
        # The root cause was never met: stopped by the resolution, it achieved nothing yet.
        assert state.clocks[ROOT_CAUSE].taken in (None, timedelta(minutes=960))


@settings(max_examples=200, deadline=None)
@given(start=instants, minutes=st.integers(0, 20 * 24 * 60))
def test_around_the_clock_is_wall_clock_time_whatever_the_calendar(start, minutes):
    state = clocks(start, wall=True)
    assert state.clocks[RESOLUTION].due_at == start + timedelta(minutes=2880)
    at = start + timedelta(minutes=minutes)
    left = state.business_time_left(RESOLUTION, at)
    assert left == timedelta(minutes=2880) - (at - start)
    # The calendar's clocks are untouched by the option.
    assert state.clocks[ROOT_CAUSE].due_at == BERLIN_HOURS.add(start, timedelta(minutes=960))
