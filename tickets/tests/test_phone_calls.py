"""A logged phone call: every clock of its ticket starts when the customer called, not when the
agent typed; the history keeps both instants; a call that cannot be logged as given is refused
on the field at fault; an agent's role is enough to log one."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import sign_contract
from contracts.calendars import schedule_cache_clear
from portal.services import staff_permissions_sync
from tickets.clock_replay import replay_differences
from tickets.clock_store import ticket_schedule
from tickets.models import PhoneCall, SLAAlert, Ticket, TicketEvent
from tickets.rules import CallDetails, TicketError
from tickets.services import call_log, ticket_create

CALLED = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def log_call(requester, agent, *, called_at, logged_at, late_reason="", priority="p1"):
    return ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="phone",
        subject="Every call drops after a minute",
        body_text="Caller: all calls drop after about a minute since 20:55.",
        priority=priority,
        now=logged_at,
        actor=agent.user,
        call=CallDetails(
            caller_name="Rita Requester",
            phone_number="+49 30 1234567",
            direction="inbound",
            started_at=called_at,
            duration=timedelta(minutes=8),
            late_reason=late_reason,
        ),
    )


def test_a_p1_call_logged_25_minutes_later_keeps_its_30_minute_workaround(
    contract_a, requester_a, agent_ber
):
    ticket = log_call(
        requester_a, agent_ber, called_at=CALLED, logged_at=CALLED + timedelta(minutes=25)
    )
    ticket.refresh_from_db()
    assert ticket.created_at == CALLED
    assert ticket.workaround_due_at == CALLED + timedelta(minutes=30)
    assert ticket.resolution_due_at == CALLED + timedelta(hours=2)
    # The caller spoke to an agent: the call was the first response, when it started.
    assert ticket.first_response_met_at == CALLED
    assert ticket.updated_at == CALLED + timedelta(minutes=25)
    assert ticket.status == Ticket.Status.OPEN
    call = ticket.calls.get()
    assert (call.started_at, call.created_at) == (CALLED, CALLED + timedelta(minutes=25))
    assert ticket.messages.get().created_at == CALLED


def test_the_history_records_when_the_customer_called_and_when_it_was_logged(
    contract_a, requester_a, agent_ber
):
    logged = CALLED + timedelta(minutes=25)
    ticket = log_call(requester_a, agent_ber, called_at=CALLED, logged_at=logged)
    events = list(ticket.events.order_by("id").values_list("kind", "at", "data"))
    kinds = [(kind, at) for kind, at, _ in events]
    assert kinds == [
        (TicketEvent.Kind.CREATED, CALLED),
        (TicketEvent.Kind.CALL, CALLED),
        (TicketEvent.Kind.STATUS, logged),
    ]
    for _, _, data in events[:2]:
        assert (data["called_at"], data["logged_at"]) == (CALLED.isoformat(), logged.isoformat())
    assert replay_differences(ticket, ticket.events.order_by("id")) == []


def test_a_call_logged_after_its_workaround_was_due_is_already_breached(
    contract_a, requester_a, agent_ber
):
    ticket = log_call(
        requester_a, agent_ber, called_at=CALLED, logged_at=CALLED + timedelta(minutes=40)
    )
    ticket.refresh_from_db()
    assert ticket.workaround_breached_at == CALLED + timedelta(minutes=30)
    alert = SLAAlert.objects.get(ticket=ticket, kind=SLAAlert.Kind.BREACH)
    assert (alert.clock, alert.due_at) == ("workaround", CALLED + timedelta(minutes=30))
    assert replay_differences(ticket, ticket.events.order_by("id")) == []


@pytest.mark.parametrize(
    ("called_at", "late_reason", "field", "message"),
    [
        (CALLED + timedelta(minutes=1), "", "started_at", "cannot start in the future"),
        (CALLED - timedelta(hours=25), "", "late_reason", "more than 24 hours ago"),
        (
            datetime(2025, 12, 31, 20, 0, tzinfo=UTC),
            "Back-office backlog",
            "started_at",
            r"before the contract in force began \(2026-01-01\)",
        ),
    ],
)
def test_a_call_that_cannot_be_logged_as_given_is_refused_on_its_field(
    contract_a, requester_a, agent_ber, called_at, late_reason, field, message
):
    with pytest.raises(TicketError, match=message) as refused:
        log_call(
            requester_a, agent_ber, called_at=called_at, logged_at=CALLED, late_reason=late_reason
        )
    assert refused.value.field == field
    assert not Ticket.objects.exists()


def test_a_call_more_than_a_day_back_is_logged_with_its_reason(contract_a, requester_a, agent_ber):
    called = CALLED - timedelta(hours=30)
    ticket = log_call(
        requester_a,
        agent_ber,
        called_at=called,
        logged_at=CALLED,
        late_reason="Logged from the on-call notebook after the outage.",
    )
    assert ticket.created_at == called
    assert ticket.calls.get().late_reason == "Logged from the on-call notebook after the outage."
    call_event = ticket.events.get(kind=TicketEvent.Kind.CALL)
    assert call_event.data["late_reason"] == "Logged from the on-call notebook after the outage."
    # Its deadlines passed long ago: the breaches are recorded as it is logged.
    assert set(
        SLAAlert.objects.filter(ticket=ticket, kind="breach").values_list("clock", flat=True)
    ) == {"workaround", "resolution"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    called_minutes_back=st.integers(min_value=0, max_value=24 * 60),
    logging_delay=st.integers(min_value=0, max_value=24 * 60),
    priority=st.sampled_from(["p1", "p2", "p3", "p4"]),
)
def test_logging_later_never_moves_a_deadline(
    contract_b, requester_b, agent_sg, called_minutes_back, logging_delay, priority
):
    """Whenever a call is logged, its deadlines are those of a ticket that started when the
    customer called: the call's start plus each target, in the ticket's business calendar."""
    if priority == "p1":
        priority = "p2"  # the Standard contract covers P2-P4
    schedule_cache_clear()
    called = CALLED - timedelta(minutes=called_minutes_back)
    logged = called + timedelta(minutes=logging_delay)
    ticket = log_call(
        requester_b,
        agent_sg,
        called_at=called,
        logged_at=logged,
        late_reason="late" if logging_delay > 24 * 60 else "",
        priority=priority,
    )
    ticket.refresh_from_db()
    schedule = ticket_schedule(ticket)
    targets = ticket.sla_targets[priority]
    assert ticket.created_at == called
    assert ticket.first_response_met_at == called
    assert ticket.resolution_due_at == schedule.add(
        called, timedelta(minutes=targets["resolution"])
    )
    assert replay_differences(ticket, ticket.events.order_by("id")) == []


# --- In the support desk -------------------------------------------------------------------------


@pytest.fixture
def desk(agent_ber, client, time_machine):
    """An agent with nothing but their role's permissions, at 21:25 Berlin time."""
    staff_permissions_sync()
    time_machine.move_to(datetime(2026, 3, 2, 20, 25, tzinfo=UTC), tick=False)
    client.force_login(agent_ber.user)
    return client


def phone_ticket_form(requester, **overrides) -> dict:
    return {
        "organisation": requester.organisation.pk,
        "requester": requester.pk,
        "channel": "phone",
        "priority": "p1",
        "product_area": "voice",
        "subject": "Calls failing in Berlin",
        "description": "Caller says every call fails since 20:55.",
        "caller_name": "Rita Requester",
        "phone_number": "+49 30 1234567",
        "call_direction": "inbound",
        "call_started_at_0": "2026-03-02",
        "call_started_at_1": "21:00:00",  # Berlin, the agent's zone: 20:00 UTC
        "call_minutes": "6",
        **overrides,
    }


def test_an_agent_may_log_a_call_as_a_new_ticket_and_on_an_existing_one(
    desk, contract_a, requester_a
):
    assert desk.get(reverse("admin:tickets_ticket_add")).status_code == 200
    assert desk.get(reverse("admin:tickets_phonecall_add")).status_code == 200
    response = desk.post(reverse("admin:tickets_ticket_add"), phone_ticket_form(requester_a))
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket = Ticket.objects.get()
    assert ticket.created_at == datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert ticket.workaround_due_at == datetime(2026, 3, 2, 20, 30, tzinfo=UTC)
    response = desk.post(
        reverse("admin:tickets_phonecall_add"),
        {
            "ticket": ticket.pk,
            "caller_name": "Rita",
            "phone_number": "+49",
            "direction": "outbound",
            "started_at_0": "2026-03-02",
            "started_at_1": "21:20:00",
            "duration": "00:04:00",
            "summary": "Called back with the workaround.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert PhoneCall.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"call_started_at_1": "21:30:00"},
            "call_started_at",
            "The call cannot start in the future; give the time it started.",
        ),
        (
            {"call_started_at_0": "2026-03-01", "call_started_at_1": "20:00:00"},
            "call_late_reason",
            "The call started more than 24 hours ago; say why it is logged this late.",
        ),
        (
            {"call_started_at_0": "2025-12-31", "call_late_reason": "Found in the notebook"},
            "call_started_at",
            "The call started before the contract in force began (2026-01-01).",
        ),
    ],
)
def test_the_desk_says_which_call_field_is_wrong_and_why(
    desk, contract_a, requester_a, overrides, field, message
):
    response = desk.post(
        reverse("admin:tickets_ticket_add"), phone_ticket_form(requester_a, **overrides)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not Ticket.objects.exists()


def test_a_contract_that_began_today_refuses_a_call_from_yesterday(
    org_a, org_admin_a, tier_enterprise, requester_a, agent_ber
):
    sign_contract(org_a, tier_enterprise, org_admin_a, date(2026, 3, 3), "CT-A-NEW")
    with pytest.raises(TicketError, match="before the contract in force began") as refused:
        log_call(
            requester_a,
            agent_ber,
            called_at=datetime(2026, 3, 2, 22, 50, tzinfo=UTC),  # 23:50 in Berlin, on the 2nd
            logged_at=datetime(2026, 3, 2, 23, 10, tzinfo=UTC),  # 00:10 on the 3rd
        )
    assert refused.value.field == "started_at"


def test_a_call_on_an_existing_ticket_cannot_start_before_the_ticket(
    contract_a, requester_a, agent_ber
):
    ticket = log_call(requester_a, agent_ber, called_at=CALLED, logged_at=CALLED)
    with pytest.raises(TicketError, match="before its ticket was opened") as refused:
        call_log(
            ticket=ticket,
            agent=agent_ber.user,
            caller_name="Rita",
            phone_number="+49",
            direction="outbound",
            started_at=CALLED - timedelta(minutes=1),
            duration=timedelta(minutes=2),
            summary="Call back",
            now=CALLED + timedelta(minutes=5),
        )
    assert refused.value.field == "started_at"
