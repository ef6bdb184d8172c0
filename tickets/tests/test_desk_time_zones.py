"""Every instant the support desk shows is in the time zone of the agent looking, on every page:
list columns, read-only fields and the names of rows (titles, breadcrumbs, links)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from portal.services import staff_permissions_sync
from tickets.channels.email import ingest
from tickets.models import Escalation, InboundEmail, TicketEvent
from tickets.services import deadlines_sweep, ticket_assign, ticket_create
from tickets.tests.email_messages import email_bytes

# Monday 2 March 2026, 02:00 UTC is 10:00 in Singapore (UTC+8, no summer time).
OPENED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SWEPT = OPENED + timedelta(hours=1, minutes=1, seconds=5)  # 03:01 UTC, 11:01 in Singapore

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def singapore_desk(cast, client):
    """Globex's P2, assigned to the Singapore agent, warned about at 11:01 Singapore time; the
    agent signed in to the desk."""
    staff_permissions_sync()
    agent = cast["agent_sg"]
    assert agent.time_zone == "Asia/Singapore"
    ticket = ticket_create(
        organisation=cast["org_b"],
        requester=cast["requester_b"],
        channel="web",
        subject="Calls drop",
        body_text="Calls drop after a minute.",
        priority="p2",
        now=OPENED,
    )
    ticket_assign(ticket=ticket, now=OPENED, actor=None, team=agent.team, assignee=agent.user)
    deadlines_sweep(now=SWEPT)  # standard P2: first response in 120 minutes, 50% warned
    assert Escalation.objects.filter(recipient=agent.user).exists()
    client.force_login(agent.user)
    return ticket


def page(client, name: str, *args) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_the_escalations_list_shows_instants_in_the_agents_zone(singapore_desk, client):
    html = page(client, "admin:tickets_escalation_changelist")
    assert "11:01 a.m." in html
    assert "3:01 a.m." not in html


def test_the_escalation_and_notification_pages_show_instants_in_the_agents_zone(
    singapore_desk, client, cast
):
    escalation = Escalation.objects.filter(recipient=cast["agent_sg"].user).first()
    html = page(client, "admin:tickets_escalation_change", escalation.pk)
    assert "11:01 a.m." in html
    assert "3:01 a.m." not in html
    notifications = page(client, "admin:tickets_notification_changelist")
    assert "11:01 a.m." in notifications
    assert "3:01 a.m." not in notifications
    note = escalation.notifications.get()
    # Its name (the title and breadcrumbs of its page) carries the instant too.
    detail = page(client, "admin:tickets_notification_change", note.pk)
    assert "2026-03-02 11:01" in detail
    assert "2026-03-02 03:01" not in detail


def test_the_event_history_names_events_in_the_agents_zone(singapore_desk, client):
    event = TicketEvent.objects.filter(ticket=singapore_desk, kind="warning").get()
    html = page(client, "admin:tickets_ticketevent_change", event.pk)
    assert "2026-03-02 11:01:05" in html
    assert "03:01:05" not in html
    listing = page(client, "admin:tickets_ticketevent_changelist")
    assert "11:01 a.m." in listing
    assert "3:01 a.m." not in listing


def test_the_inbound_email_admin_shows_instants_in_the_agents_zone(cast, client):
    staff_permissions_sync()
    result = ingest(email_bytes(), now=SWEPT)
    assert result.outcome == "ticket"
    client.force_login(cast["agent_sg"].user)
    listing = page(client, "admin:tickets_inboundemail_changelist")
    assert "11:01 a.m." in listing
    assert "3:01 a.m." not in listing
    record = InboundEmail.objects.get()
    detail = page(client, "admin:tickets_inboundemail_change", record.pk)
    assert "11:01 a.m." in detail  # received and processed
    assert "3:01 a.m." not in detail


def test_a_berlin_agent_sees_the_same_instants_in_berlin_time(singapore_desk, client, cast):
    client.force_login(cast["agent_ber"].user)
    html = page(client, "admin:tickets_ticketevent_changelist")
    assert "4:01 a.m." in html  # 03:01 UTC is 04:01 in Berlin (UTC+1 in March)
    assert "11:01 a.m." not in html
