"""A broken promise is the most urgent thing on a ticket: the support desk's queue, the API and
the customer's dashboard all show a breached, unmet clock first and sort its ticket first."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.services import staff_permissions_sync
from tickets.clock_display import most_urgent
from tickets.models import Ticket
from tickets.selectors import next_due_at
from tickets.services import deadlines_sweep, ticket_change_status, ticket_create, ticket_reply

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def open_ticket(member, *, at, priority, subject):
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject=subject,
        body_text="Details.",
        priority=priority,
        now=at,
    )


@pytest.fixture
def queue(contract_a, requester_a, agent_ber, time_machine):
    """`late`: first response (2 h) breached 5 h ago, resolution running for 17 h more;
    `fresh`: a P1 whose first response is due in 8 minutes; `waiting`: answered, then pending
    on the customer, so nothing runs."""
    late = open_ticket(requester_a, at=NOW - timedelta(hours=7), priority="p3", subject="Late")
    fresh = open_ticket(requester_a, at=NOW - timedelta(minutes=2), priority="p1", subject="Fresh")
    waiting = open_ticket(
        requester_a, at=NOW - timedelta(hours=1), priority="p4", subject="Waiting"
    )
    done = open_ticket(requester_a, at=NOW - timedelta(hours=9), priority="p2", subject="Done")
    deadlines_sweep(now=NOW - timedelta(hours=4))  # records the breaches
    # Resolved without a workaround: that clock stays broken on record, but nothing is owed.
    ticket_change_status(
        ticket=done, status="resolved", now=NOW - timedelta(hours=3), actor=agent_ber.user
    )
    ticket_reply(
        ticket=waiting,
        author=agent_ber.user,
        body_text="Send logs?",
        now=NOW - timedelta(minutes=55),
    )
    ticket_change_status(
        ticket=waiting, status="pending", now=NOW - timedelta(minutes=50), actor=None
    )
    time_machine.move_to(NOW, tick=False)
    return {"late": late, "fresh": fresh, "waiting": waiting, "done": done}


def test_the_most_urgent_promise_is_the_broken_one(queue):
    late = Ticket.objects.get(pk=queue["late"].pk)
    assert late.first_response_breached_at is not None
    urgent = most_urgent(late, now=NOW)
    assert (urgent.name, urgent.breached, urgent.due_at) == (
        "first_response",
        True,
        NOW - timedelta(hours=5),
    )


def test_the_sql_order_and_the_python_rule_agree(queue):
    rows = Ticket.objects.annotate(due=next_due_at()).order_by("due", "pk")
    by_sql = [(t.subject, t.due) for t in rows]
    by_rule = sorted(
        ((t.subject, u.due_at if (u := most_urgent(t, now=NOW)) else None) for t in rows),
        key=lambda row: (row[1] is None, row[1]),
    )
    assert [subject for subject, _ in by_sql] == [subject for subject, _ in by_rule]
    assert [subject for subject, _ in by_sql][:2] == ["Late", "Fresh"]
    assert set([subject for subject, _ in by_sql][2:]) == {"Waiting", "Done"}


def test_the_desk_queue_shows_and_sorts_a_breach_first(queue, agent_ber, client):
    staff_permissions_sync()
    client.force_login(agent_ber.user)
    url = reverse("admin:tickets_ticket_changelist") + "?status=any"
    html = client.get(url).content.decode()
    references = re.findall(r">(MRD-\d{6})</a>", html)
    assert references == [
        queue["late"].reference,
        queue["fresh"].reference,
        queue["waiting"].reference,
        queue["done"].reference,  # resolved: its broken workaround is history, not urgent
    ]
    assert re.search(r'class="q-clock breached"[^>]*><b>overdue 5h 00m</b> First response', html)
    assert "in 2h" not in html.split(queue["fresh"].reference)[0]


def test_the_api_shows_and_sorts_a_breach_first(queue, agent_ber):
    client = APIClient()
    client.force_authenticate(agent_ber.user)
    body = client.get("/api/v1/tickets/", {"ordering": "next_deadline"}).json()
    assert [t["subject"] for t in body["results"]] == ["Late", "Fresh", "Waiting", "Done"]
    late, fresh, waiting, done = body["results"]
    assert late["next_deadline"] == {
        "clock": "first_response",
        "label": "First response",
        "due_at": "2026-03-04T07:00:00Z",
        "breached": True,
    }
    assert fresh["next_deadline"]["breached"] is False
    assert waiting["next_deadline"] is None
    assert done["next_deadline"] is None


def test_the_customers_dashboard_agrees(queue, requester_a, client):
    client.force_login(requester_a.user)
    html = client.get(reverse("home")).content.decode()
    assert html.index("Late") < html.index("Fresh") < html.index("Waiting")
