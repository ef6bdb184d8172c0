"""Agents and customers see each running clock's due instant in their own zone, and what is left."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from portal.services import staff_permissions_sync
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create

CREATED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def ticket(contract_a, requester_a):
    # Enterprise P2, 24x7: first response due 10:30 UTC, resolution 18:00 UTC.
    return ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Audio drops",
        body_text="Calls drop audio.",
        priority="p2",
        now=CREATED,
    )


@pytest.fixture
def agent_sg_staff(agent_sg):
    staff_permissions_sync()
    return agent_sg


@time_machine.travel(CREATED + timedelta(minutes=10), tick=False)
def test_agent_sees_due_instants_in_their_zone_with_business_time_left(
    ticket, agent_sg_staff, client
):
    client.force_login(agent_sg_staff.user)
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    # Singapore is UTC+8: 10:30 UTC is 18:30 there.
    assert "Mon 02 Mar 2026 18:30 +08" in html
    assert "20m" in html  # first response: 20 minutes left
    assert "7h 50m" in html  # resolution


@time_machine.travel(CREATED + timedelta(minutes=10), tick=False)
def test_agent_queue_shows_the_next_deadline_as_a_countdown(ticket, agent_sg_staff, client):
    client.force_login(agent_sg_staff.user)
    page = client.get(reverse("admin:tickets_ticket_changelist") + "?status=any")
    html = page.content.decode()
    assert 'title="due Mon 02 Mar 18:30 +08"' in html  # in the agent's zone (Singapore)
    assert "<b>20m</b> First response" in html


@time_machine.travel(CREATED + timedelta(minutes=10), tick=False)
def test_customer_sees_clocks_in_their_own_zone(ticket, requester_a, client):
    client.force_login(requester_a.user)
    page = client.get(reverse("tickets:detail", args=[ticket.reference]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Europe/Berlin" in html
    assert "Mon 02 Mar 2026 11:30 CET" in html  # first response due, Berlin time
    assert "20m" in html


def test_ticket_without_a_contract_says_it_has_no_deadlines(org_b, requester_b, client, superuser):
    ticket = ticket_create(
        organisation=org_b,
        requester=requester_b,
        channel="web",
        subject="Question",
        body_text="How do I?",
        now=CREATED,
    )
    client.force_login(requester_b.user)
    page = client.get(reverse("tickets:detail", args=[ticket.reference]))
    assert "has no SLA deadlines" in page.content.decode()
    client.force_login(superuser)
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert "it has no SLA deadlines" in page.content.decode()


def test_a_customer_of_another_organisation_gets_404(ticket, requester_b, client):
    client.force_login(requester_b.user)
    assert client.get(reverse("tickets:detail", args=[ticket.reference])).status_code == 404


def test_a_requester_does_not_see_a_colleagues_ticket_unless_shared(
    ticket, colleague_a, org_admin_a, client
):
    url = reverse("tickets:detail", args=[ticket.reference])
    client.force_login(colleague_a.user)
    assert client.get(url).status_code == 404
    client.force_login(org_admin_a.user)
    assert client.get(url).status_code == 200
    org = ticket.organisation
    org.requesters_see_all_tickets = True
    org.save(update_fields=["requesters_see_all_tickets"])
    client.force_login(colleague_a.user)
    assert client.get(url).status_code == 200


def test_portal_list_query_count_does_not_grow(
    contract_a, requester_a, client, django_assert_max_num_queries
):
    client.force_login(requester_a.user)
    for n in range(30):
        ticket_create(
            organisation=requester_a.organisation,
            requester=requester_a,
            channel="web",
            subject=f"T{n}",
            body_text="x",
            now=CREATED,
        )
    with django_assert_max_num_queries(8):
        page = client.get(reverse("tickets:list"))
    assert page.content.decode().count('href="/tickets/MRD-') == 25


def test_agent_replies_and_changes_status_through_the_support_desk(ticket, agent_sg_staff, client):
    client.force_login(agent_sg_staff.user)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    form = {
        "subject": ticket.subject,
        "product_area": ticket.product_area,
        "priority": "p2",
        "status": "pending",
        "team": "",
        "assignee": "",
        "reply": "Please send logs.",
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.status == "pending"
    assert stored.first_response_met_at is not None
    kinds = list(stored.events.values_list("kind", flat=True))
    assert TicketEvent.Kind.RESPONDED in kinds and TicketEvent.Kind.STATUS in kinds


def test_support_desk_refuses_a_transition_the_rules_forbid(ticket, agent_sg_staff, client):
    client.force_login(agent_sg_staff.user)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    form = {
        "subject": ticket.subject,
        "product_area": ticket.product_area,
        "priority": "p2",
        "status": "new",
        "team": "",
        "assignee": "",
        "reply": "",
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    Ticket.objects.filter(pk=ticket.pk).update(status="open")
    response = client.post(url, form)
    assert response.status_code == 200
    assert f"{ticket.reference} cannot go from open to new." in response.content.decode()
