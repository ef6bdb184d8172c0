"""A ticket's SLA clocks through its life. Expected instants are worked out by hand in comments."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import make_member, sign_contract
from contracts.models import SLATarget
from contracts.services import calendar_save, contract_end
from portal.models import Organisation
from tickets.models import Ticket, TicketEvent
from tickets.services import (
    CallDetails,
    TicketError,
    call_log,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_mark_workaround,
    ticket_reply,
)

BERLIN = ZoneInfo("Europe/Berlin")
SINGAPORE = ZoneInfo("Asia/Singapore")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def create(member, at: datetime, priority: str = "p3", **extra) -> Ticket:
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel=extra.pop("channel", "web"),
        subject="Stream keeps buffering",
        body_text="Viewers see buffering every few minutes.",
        priority=priority,
        now=at,
        **extra,
    )


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def org_c(region_ber, account_manager) -> Organisation:
    """A Berlin customer on Standard: clocks run in Berlin business hours (Mon-Fri 09-17)."""
    return Organisation.objects.create(
        name="Cobalt Berlin",
        slug="cobalt",
        home_region=region_ber,
        account_manager=account_manager.user,
    )


@pytest.fixture
def requester_c(org_c, tier_standard):
    admin = make_member("ada.admin@cobalt.test", org_c, "admin")
    sign_contract(org_c, tier_standard, admin, date(2026, 1, 1), "CT-C-1")
    return make_member("rob.requester@cobalt.test", org_c)


def test_ticket_created_out_of_hours_starts_counting_at_the_next_opening(contract_b, requester_b):
    # Friday 2026-03-06 18:30 in Singapore, after hours. Standard P2: first response 120
    # minutes, resolution 2880 minutes (48 business hours, six 8-hour days).
    ticket = create(requester_b, datetime(2026, 3, 6, 18, 30, tzinfo=SINGAPORE), "p2")
    # Counting starts Monday 09:00 SGT; two hours later is Monday 11:00 SGT = 03:00 UTC.
    assert ticket.first_response_due_at == utc(2026, 3, 9, 3, 0)
    # Mon 9, Tue 10, Wed 11, Thu 12, Fri 13, Mon 16 (8h each) ends Mon 16 17:00 SGT.
    assert ticket.resolution_due_at == utc(2026, 3, 16, 9, 0)
    assert ticket.workaround_due_at is None  # Standard promises no workaround
    assert ticket.sla_contract == contract_b
    assert ticket.sla_calendar.code == "sg-business"


def test_pending_pauses_resolution_over_a_weekend_by_exactly_the_business_time_paused(
    requester_c, agent_ber
):
    # Monday 2026-03-02 09:00 CET, P3: resolution 4800 minutes = 80h = ten 8-hour days,
    # ending Friday 2026-03-13 17:00 CET (16:00 UTC).
    ticket = create(requester_c, datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN))
    assert ticket.resolution_due_at == utc(2026, 3, 13, 16, 0)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Looking", now=utc(2026, 3, 2, 9))
    # Waiting on the customer from Friday 16:00 CET to Monday 10:00 CET: one business hour on
    # Friday and one on Monday.
    ticket_change_status(
        ticket=ticket,
        status="pending",
        actor=agent_ber.user,
        now=datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN),
    )
    paused = fresh(ticket)
    assert paused.resolution_paused_at == utc(2026, 3, 6, 15, 0)
    assert paused.first_response_paused_at is None  # first response does not pause
    ticket_change_status(
        ticket=ticket,
        status="open",
        actor=agent_ber.user,
        now=datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN),
    )
    resumed = fresh(ticket)
    assert resumed.resolution_paused_for == timedelta(hours=2)
    assert resumed.resolution_paused_at is None
    # Friday 13 17:00 plus two business hours is Monday 16 11:00 CET.
    assert resumed.resolution_due_at == utc(2026, 3, 16, 10, 0)
    pause, resume = resumed.events.filter(
        kind__in=["paused", "resumed"], clock="resolution"
    ).order_by("id")
    assert (pause.kind, resume.kind) == ("paused", "resumed")
    assert resume.data["due_before"] == "2026-03-13T16:00:00+00:00"
    assert resume.data["due_after"] == "2026-03-16T10:00:00+00:00"


def test_due_instants_follow_dst_and_public_holidays(requester_c):
    # Thursday 2026-03-26 09:00 CET, P3. Berlin moves to summer time on Sunday 29 March;
    # Good Friday (3 April) and Easter Monday (6 April) are holidays. 80 business hours:
    # Thu 26, Fri 27, Mon 30, Tue 31, Wed 1, Thu 2, Tue 7, Wed 8, Thu 9, Fri 10 -> 17:00 CEST.
    ticket = create(requester_c, datetime(2026, 3, 26, 9, 0, tzinfo=BERLIN))
    assert ticket.first_response_due_at == utc(2026, 3, 26, 16, 0)  # 17:00 CET
    assert ticket.resolution_due_at == utc(2026, 4, 10, 15, 0)  # 17:00 CEST


def test_raising_priority_retargets_running_clocks_and_can_breach_at_once(
    contract_a, requester_a, agent_ber
):
    # Enterprise runs 24x7. P3 at 10:00: first response 120 min, resolution 1440 min.
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p3")
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        utc(2026, 3, 2, 12, 0),
        utc(2026, 3, 3, 10, 0),
    )
    # At 10:20 it becomes P1 (10 / 30 / 30 / 120): the first response was due at 10:10.
    ticket_change_priority(
        ticket=ticket, priority="p1", actor=agent_ber.user, now=utc(2026, 3, 2, 10, 20)
    )
    raised = fresh(ticket)
    assert raised.first_response_due_at == utc(2026, 3, 2, 10, 10)
    assert raised.first_response_breached_at == utc(2026, 3, 2, 10, 10)
    assert raised.workaround_due_at == utc(2026, 3, 2, 10, 30)
    assert raised.resolution_due_at == utc(2026, 3, 2, 12, 0)
    breach = raised.events.get(kind=TicketEvent.Kind.BREACH)
    assert breach.clock == "first_response"
    change = raised.events.get(kind=TicketEvent.Kind.PRIORITY)
    assert change.data["old"] == "p3" and change.data["new"] == "p1"
    retargeted = {c["clock"]: c for c in change.data["clocks"] if c["what"] == "retargeted"}
    assert retargeted["resolution"]["due_before"] == "2026-03-03T10:00:00+00:00"
    assert retargeted["resolution"]["due_after"] == "2026-03-02T12:00:00+00:00"

    # Lowered back to P3 at 10:25: the breach stands, resolution gets its day back, and the
    # workaround is no longer promised.
    ticket_change_priority(
        ticket=ticket, priority="p3", actor=agent_ber.user, now=utc(2026, 3, 2, 10, 25)
    )
    lowered = fresh(ticket)
    assert lowered.first_response_breached_at == utc(2026, 3, 2, 10, 10)
    assert lowered.first_response_due_at == utc(2026, 3, 2, 10, 10)
    assert lowered.resolution_due_at == utc(2026, 3, 3, 10, 0)
    assert lowered.workaround_due_at is None


def test_lowering_priority_keeps_met_clocks_met(contract_a, requester_a, agent_ber):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0), "p1")
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="On it", now=utc(2026, 3, 2, 10, 5)
    )
    ticket_change_priority(
        ticket=ticket, priority="p4", actor=agent_ber.user, now=utc(2026, 3, 2, 11, 0)
    )
    lowered = fresh(ticket)
    assert lowered.first_response_met_at == utc(2026, 3, 2, 10, 5)
    assert lowered.first_response_due_at == utc(2026, 3, 2, 10, 10)  # the P1 promise it met
    assert lowered.first_response_breached_at is None
    assert lowered.resolution_due_at == utc(2026, 3, 5, 10, 0)  # P4: 4320 minutes = 3 days


def test_reopening_resumes_resolution_after_the_time_spent_resolved(
    contract_a, requester_a, agent_ber
):
    # P2 at 10:00: resolution 480 minutes, due 18:00 UTC (24x7).
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0), "p2")
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Fixed?", now=utc(2026, 3, 2, 10, 5)
    )
    ticket_change_status(
        ticket=ticket, status="resolved", actor=agent_ber.user, now=utc(2026, 3, 2, 12, 0)
    )
    resolved = fresh(ticket)
    assert resolved.resolution_met_at == utc(2026, 3, 2, 12, 0)
    assert resolved.resolved_at == utc(2026, 3, 2, 12, 0)
    # The customer reopens three hours later: three hours more to resolve.
    ticket_change_status(
        ticket=ticket, status="open", actor=requester_a.user, now=utc(2026, 3, 2, 15, 0)
    )
    reopened = fresh(ticket)
    assert reopened.resolution_met_at is None
    assert reopened.resolved_at is None
    assert reopened.resolution_paused_for == timedelta(hours=3)
    assert reopened.resolution_due_at == utc(2026, 3, 2, 21, 0)
    assert reopened.first_response_met_at == utc(2026, 3, 2, 10, 5)
    assert reopened.events.filter(kind=TicketEvent.Kind.REOPENED).count() == 1


def test_resolving_without_an_answer_stops_the_first_response_until_reopened(
    contract_a, requester_a
):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0), "p2")  # first response due 10:30
    ticket_change_status(
        ticket=ticket, status="resolved", actor=requester_a.user, now=utc(2026, 3, 2, 10, 10)
    )
    stopped = fresh(ticket)
    assert stopped.first_response_paused_at == utc(2026, 3, 2, 10, 10)
    assert stopped.first_response_breached_at is None
    ticket_change_status(
        ticket=ticket, status="open", actor=requester_a.user, now=utc(2026, 3, 2, 11, 0)
    )
    assert fresh(ticket).first_response_due_at == utc(2026, 3, 2, 11, 20)


def test_contract_changing_after_creation_leaves_the_snapshot_alone(
    contract_a, org_a, org_admin_a, requester_a, tier_enterprise, tier_standard, agent_ber
):
    ticket = create(requester_a, utc(2026, 3, 31, 23, 30), "p2")
    before = fresh(ticket)
    # The Enterprise contract ends on 31 March; Standard takes over; the Enterprise tier's
    # targets are edited too.
    contract_end(contract=contract_a, ends_on=date(2026, 3, 31))
    sign_contract(org_a, tier_standard, org_admin_a, date(2026, 4, 1), "CT-A-2")
    SLATarget.objects.filter(tier=tier_enterprise).update(first_response_minutes=1)
    # In April the old ticket still moves by its Enterprise snapshot: P1 is allowed and runs
    # 24x7 with 120 minutes to resolve, from 23:30 the evening before.
    ticket_change_priority(
        ticket=ticket, priority="p1", actor=agent_ber.user, now=utc(2026, 4, 1, 0, 30)
    )
    after = fresh(ticket)
    assert after.sla_contract == contract_a
    assert after.sla_targets == before.sla_targets
    assert after.resolution_due_at == utc(2026, 4, 1, 1, 30)
    # A new ticket gets the Standard contract, which has no P1.
    with pytest.raises(TicketError, match="Standard contract does not cover P1"):
        create(requester_a, utc(2026, 4, 2, 9, 0), "p1")
    assert create(requester_a, utc(2026, 4, 2, 9, 0), "p2").sla_contract.reference == "CT-A-2"


def test_a_ticket_without_a_contract_has_no_deadlines(org_b, requester_b, agent_sg):
    ticket = create(requester_b, utc(2026, 3, 2, 10, 0), "p1")
    ticket_reply(ticket=ticket, author=agent_sg.user, body_text="Hi", now=utc(2026, 3, 2, 10, 5))
    ticket_change_status(
        ticket=ticket, status="pending", actor=agent_sg.user, now=utc(2026, 3, 2, 11, 0)
    )
    stored = fresh(ticket)
    assert not stored.has_sla
    assert stored.sla_targets == {}
    for clock in ("first_response", "next_response", "workaround", "resolution"):
        assert getattr(stored, f"{clock}_due_at") is None
    assert stored.events.get(kind="created").data["contract"] is None


def test_customer_message_starts_next_response_once_first_response_is_given(
    contract_a, requester_a, agent_ber
):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p3")  # next response target: 240 minutes
    ticket_reply(
        ticket=ticket,
        author=requester_a.user,
        body_text="Also this",
        now=created + timedelta(minutes=5),
    )
    assert fresh(ticket).next_response_started_at is None  # first response still owed
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Hi", now=created + timedelta(minutes=10)
    )
    ticket_reply(
        ticket=ticket,
        author=requester_a.user,
        body_text="Logs attached",
        now=created + timedelta(minutes=60),
    )
    waiting = fresh(ticket)
    assert waiting.next_response_started_at == created + timedelta(minutes=60)
    assert waiting.next_response_due_at == created + timedelta(minutes=300)
    ticket_reply(
        ticket=ticket,
        author=requester_a.user,
        body_text="And more",
        now=created + timedelta(minutes=70),
    )
    assert fresh(ticket).next_response_due_at == created + timedelta(minutes=300)
    ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="Thanks",
        now=created + timedelta(minutes=100),
    )
    answered = fresh(ticket)
    assert answered.next_response_met_at == created + timedelta(minutes=100)
    # A later message starts a fresh cycle.
    ticket_reply(
        ticket=ticket,
        author=requester_a.user,
        body_text="Again",
        now=created + timedelta(minutes=200),
    )
    again = fresh(ticket)
    assert again.next_response_started_at == created + timedelta(minutes=200)
    assert again.next_response_met_at is None
    assert again.next_response_due_at == created + timedelta(minutes=440)


def test_late_reply_records_the_breach_at_the_due_instant(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p1")  # first response due 10:10
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Sorry", now=created + timedelta(minutes=15)
    )
    late = fresh(ticket)
    assert late.first_response_breached_at == created + timedelta(minutes=10)
    assert late.first_response_met_at == created + timedelta(minutes=15)
    breach = late.events.get(kind=TicketEvent.Kind.BREACH)
    assert (breach.clock, breach.at) == ("first_response", created + timedelta(minutes=15))


def test_phone_ticket_logged_by_an_agent_has_its_first_response(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="phone",
        subject="Outage",
        body_text="Caller reports an outage.",
        priority="p1",
        now=created,
        actor=agent_ber.user,
        call=CallDetails(
            "Rita", "+4930123", "inbound", created - timedelta(minutes=5), timedelta(minutes=5)
        ),
    )
    stored = fresh(ticket)
    # The call started five minutes before it was logged: that is when the caller spoke to
    # an agent, and when every clock started.
    assert stored.created_at == created - timedelta(minutes=5)
    assert stored.first_response_met_at == created - timedelta(minutes=5)
    assert stored.status == "open"
    assert stored.calls.get().summary == "Caller reports an outage."


def test_logged_call_answers_a_waiting_customer(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p2")
    call_log(
        ticket=ticket,
        agent=agent_ber.user,
        caller_name="Rita",
        phone_number="+49",
        direction="outbound",
        started_at=created + timedelta(minutes=5),
        duration=timedelta(minutes=3),
        summary="Called back",
        now=created + timedelta(minutes=9),
    )
    assert fresh(ticket).first_response_met_at == created + timedelta(minutes=9)


def test_workaround_is_marked_by_an_agent(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p1")  # workaround due 10:30
    with pytest.raises(TicketError, match="Only agents"):
        ticket_mark_workaround(ticket=ticket, actor=requester_a.user, now=created)
    ticket_mark_workaround(ticket=ticket, actor=agent_ber.user, now=created + timedelta(minutes=20))
    stored = fresh(ticket)
    assert stored.workaround_met_at == created + timedelta(minutes=20)
    assert stored.workaround_breached_at is None
    with pytest.raises(TicketError, match="already has a workaround"):
        ticket_mark_workaround(ticket=ticket, actor=agent_ber.user, now=created)


def test_a_calendar_change_moves_new_tickets_only(requester_c, agent_ber):
    calendar = requester_c.organisation.home_region.calendars.get(hours="business")
    monday_18 = datetime(2026, 3, 2, 18, 0, tzinfo=BERLIN)
    # Hours 09-17: counting starts Tuesday 09:00; 8 business hours end Tuesday 17:00 CET.
    old = create(requester_c, monday_18)
    calendar.weekly = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    calendar_save(calendar=calendar)
    # Hours 08-20: two hours on Monday evening, six on Tuesday from 08:00: Tuesday 14:00 CET.
    new = create(requester_c, monday_18)
    assert old.first_response_due_at == utc(2026, 3, 3, 16, 0)
    assert new.first_response_due_at == utc(2026, 3, 3, 13, 0)
    assert (old.sla_calendar_version, new.sla_calendar_version) == (1, 2)
    # Pausing later still uses each ticket's own version of the hours.
    for ticket in (old, new):
        ticket_change_status(
            ticket=ticket,
            status="pending",
            actor=agent_ber.user,
            now=datetime(2026, 3, 2, 16, 0, tzinfo=BERLIN),
        )
        ticket_change_status(
            ticket=ticket,
            status="open",
            actor=agent_ber.user,
            now=datetime(2026, 3, 2, 19, 0, tzinfo=BERLIN),
        )
    assert fresh(old).resolution_paused_for == timedelta(hours=1)  # 16:00-17:00
    assert fresh(new).resolution_paused_for == timedelta(hours=3)  # 16:00-19:00


def test_customers_may_only_resolve_or_reopen(contract_a, requester_a):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0))
    with pytest.raises(TicketError, match="resolve a ticket or reopen"):
        ticket_change_status(
            ticket=ticket, status="pending", actor=requester_a.user, now=utc(2026, 3, 2, 11, 0)
        )


def test_customers_of_another_organisation_cannot_touch_the_ticket(
    contract_a, requester_a, requester_b
):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0))
    with pytest.raises(TicketError, match="customer's own people"):
        ticket_reply(
            ticket=ticket, author=requester_b.user, body_text="hi", now=utc(2026, 3, 2, 11)
        )
    with pytest.raises(TicketError, match="customer's own people"):
        ticket_change_status(
            ticket=ticket, status="resolved", actor=requester_b.user, now=utc(2026, 3, 2, 11)
        )


def test_a_closed_ticket_stops_every_clock_for_good(contract_a, requester_a, agent_ber):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0), "p2")
    ticket_change_status(
        ticket=ticket, status="closed", actor=agent_ber.user, now=utc(2026, 3, 2, 10, 20)
    )
    closed = fresh(ticket)
    assert closed.resolution_met_at == utc(2026, 3, 2, 10, 20)
    assert closed.first_response_paused_at == utc(2026, 3, 2, 10, 20)
    with pytest.raises(TicketError, match="closed"):
        ticket_change_status(
            ticket=ticket, status="open", actor=agent_ber.user, now=utc(2026, 3, 2, 11, 0)
        )
