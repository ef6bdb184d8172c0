"""The desk's header tells an agent their team, whether its shift is open and whether they are
away, and switches "away" with one button; routing then passes them by."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import Agent
from portal.services import staff_permissions_sync
from tickets.routing import explain
from tickets.services import ticket_create

MONDAY_BERLIN_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
SATURDAY = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
AWAY_URL = "/admin/portal/agent/me/away/"


@pytest.fixture
def berlin_agent(cast, client, time_machine):
    time_machine.move_to(MONDAY_BERLIN_MORNING, tick=False)
    staff_permissions_sync()
    client.force_login(cast["agent_ber"].user)
    return cast["agent_ber"]


def header(client, path: str = "/admin/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<div id="user-tools">')
    return html[start : html.index("</div>", start)]


def test_the_header_shows_the_team_the_shift_and_a_set_away_button(berlin_agent, client):
    tools = header(client)
    assert "Berlin L1, on shift now." in tools
    assert 'data-away="false"' in tools
    assert "Set away" in tools and "m back" not in tools
    assert f'action="{AWAY_URL}"' in tools
    assert '<input type="hidden" name="away" value="1">' in tools
    assert "Log out" in tools  # Django's own links stay


def test_the_button_toggles_away_and_returns_to_the_page(berlin_agent, client):
    page = reverse("admin:tickets_ticket_changelist")
    response = client.post(AWAY_URL, {"away": "1", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert Agent.objects.get(pk=berlin_agent.pk).away
    tools = header(client, page)
    assert 'data-away="true"' in tools
    assert "You are away." in tools
    assert "m back" in tools and "Set away" not in tools
    assert '<input type="hidden" name="away" value="0">' in tools

    client.post(AWAY_URL, {"away": "0", "next": page})
    assert not Agent.objects.get(pk=berlin_agent.pk).away
    assert 'data-away="false"' in header(client, page)


def test_routing_passes_an_agent_who_set_themselves_away(berlin_agent, client, cast):
    team = berlin_agent.team
    team.auto_assign = True
    team.save()
    ticket = ticket_create(
        organisation=cast["org_a"],
        requester=cast["requester_a"],
        channel="web",
        subject="Broken",
        body_text="It is broken.",
        priority="p3",
        now=MONDAY_BERLIN_MORNING,
    )
    assert explain(ticket, MONDAY_BERLIN_MORNING).assignee == berlin_agent.user
    client.post(AWAY_URL, {"away": "1", "next": "/admin/"})
    decision = explain(ticket, MONDAY_BERLIN_MORNING)
    assert decision.team == team
    assert decision.assignee == cast["lead_ber"].user  # her team's other member


def test_off_shift_the_header_says_so(berlin_agent, client, time_machine):
    time_machine.move_to(SATURDAY, tick=False)
    client.force_login(berlin_agent.user)  # the morning's session has expired
    assert "Berlin L1, off shift now." in header(client)


def test_the_header_costs_one_query_whatever_the_page(berlin_agent, client):
    header(client)  # the shift calendar's hours are built once per process
    for path in ("/admin/", reverse("admin:tickets_escalation_changelist")):
        with CaptureQueriesContext(connection) as queries:
            header(client, path)
        calendars = [q for q in queries if "contracts_businesscalendar" in q["sql"]]
        assert len(calendars) == 1, path


def test_staff_without_an_agent_profile_get_no_switch(cast, client):
    client.force_login(cast["superuser"])
    tools = header(client)
    assert "desk-agent" not in tools
    assert client.post(AWAY_URL, {"away": "1"}).status_code == 404
