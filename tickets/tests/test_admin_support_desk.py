from datetime import UTC, datetime

import pytest
from django.urls import reverse

from portal.services import staff_permissions_sync
from tickets.models import PhoneCall, Ticket
from tickets.services import ticket_create


@pytest.fixture
def agent(agent_ber):
    # The agent's role alone lets them log calls: no permission granted by hand.
    staff_permissions_sync()
    return agent_ber


def test_agent_logs_a_phone_ticket_and_its_first_response_is_met(
    contract_a, requester_a, agent, client
):
    client.force_login(agent.user)
    response = client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "organisation": requester_a.organisation.pk,
            "requester": requester_a.pk,
            "channel": "phone",
            "priority": "p1",
            "product_area": "voice",
            "subject": "Calls failing in Berlin",
            "description": "Caller says every call fails since 09:00.",
            "caller_name": "Rita Requester",
            "phone_number": "+49 30 1234567",
            "call_direction": "inbound",
            "call_minutes": "6",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.get()
    assert ticket.channel == "phone"
    assert ticket.first_response_met_at == ticket.created_at
    assert ticket.calls.get().phone_number == "+49 30 1234567"
    assert ticket.events.first().actor == agent.user


def test_phone_ticket_form_says_which_field_is_missing(contract_a, requester_a, agent, client):
    client.force_login(agent.user)
    response = client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "organisation": requester_a.organisation.pk,
            "requester": requester_a.pk,
            "channel": "phone",
            "priority": "p2",
            "product_area": "voice",
            "subject": "x",
            "description": "y",
            "call_direction": "inbound",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["caller_name"] == ["Who called? Give the caller's name."]
    assert errors["phone_number"] == ["Give the number the call came from or went to."]
    assert not Ticket.objects.exists()


def test_logging_a_call_on_an_existing_ticket_answers_it(
    contract_a, requester_a, agent, client, time_machine
):
    time_machine.move_to(datetime(2026, 3, 2, 10, 30, tzinfo=UTC), tick=False)
    ticket = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Echo",
        body_text="Echo on calls",
        priority="p2",
        now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    client.force_login(agent.user)
    response = client.post(
        reverse("admin:tickets_phonecall_add"),
        {
            "ticket": ticket.pk,
            "caller_name": "Rita",
            "phone_number": "+49",
            "direction": "outbound",
            "started_at_0": "2026-03-02",
            "started_at_1": "11:05:00",  # Berlin, the agent's zone: 10:05 UTC
            "duration": "00:04:00",
            "summary": "Walked through echo cancellation settings.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    call = PhoneCall.objects.get()
    assert call.agent == agent.user
    ticket.refresh_from_db()
    assert ticket.first_response_met_at is not None
    assert ticket.status == "open"
