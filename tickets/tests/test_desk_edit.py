"""An agent's edit of a ticket, in the support desk or through the API, is one service call:
all of it with its events in one transaction, or none of it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.services import staff_permissions_sync
from tickets.models import Message, Ticket, TicketEvent
from tickets.rules import TicketError
from tickets.services import UNCHANGED, ticket_create, ticket_update

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def ticket(contract_b, requester_b):
    return ticket_create(
        organisation=requester_b.organisation,
        requester=requester_b,
        channel="web",
        subject="Echo on calls",
        body_text="Callers hear themselves.",
        priority="p3",
        now=NOW - timedelta(hours=1),
    )


def history(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("id").values_list("kind", flat=True))


def test_changing_the_subject_and_area_is_recorded_and_counts_as_activity(ticket, agent_sg):
    ticket_update(
        ticket=ticket,
        actor=agent_sg.user,
        now=NOW,
        subject="  Echo on  PSTN calls ",
        product_area="voice",
    )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.subject, stored.product_area, stored.updated_at) == (
        "Echo on PSTN calls",
        "voice",
        NOW,
    )
    details = stored.events.get(kind=TicketEvent.Kind.DETAILS)
    assert details.data == {
        "old": {"subject": "Echo on calls", "product_area": "other"},
        "new": {"subject": "Echo on PSTN calls", "product_area": "voice"},
        "clocks": [],
    }
    assert details.actor == agent_sg.user


def test_a_refused_part_leaves_the_whole_edit_undone(ticket, agent_sg):
    before = history(ticket)
    with pytest.raises(TicketError, match="does not cover P1") as refused:
        ticket_update(
            ticket=ticket,
            actor=agent_sg.user,
            now=NOW,
            subject="Renamed",
            assignee=agent_sg.user,
            reply="We are on it.",
            priority="p1",  # the Standard contract does not cover P1
        )
    assert refused.value.field == "priority"
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.subject, stored.assignee_id, stored.priority) == ("Echo on calls", None, "p3")
    assert history(stored) == before
    assert not Message.objects.filter(ticket=ticket, author=agent_sg.user).exists()


def test_one_edit_replies_assigns_reprioritises_and_resolves_in_order(ticket, agent_sg):
    ticket_update(
        ticket=ticket,
        actor=agent_sg.user,
        now=NOW,
        team=agent_sg.team,
        assignee=agent_sg.user,
        priority="p2",
        reply="Fixed the echo canceller settings.",
        status="resolved",
    )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.team, stored.assignee, stored.priority, stored.status) == (
        agent_sg.team,
        agent_sg.user,
        "p2",
        "resolved",
    )
    assert stored.first_response_met_at == NOW
    assert history(stored)[1:] == ["assigned", "priority", "responded", "status", "resolved"]


def test_parts_left_unchanged_are_not_touched(ticket, agent_sg):
    ticket_update(
        ticket=ticket, actor=agent_sg.user, now=NOW, team=UNCHANGED, reply="Note.", internal=True
    )
    assert history(Ticket.objects.get(pk=ticket.pk))[1:] == ["note"]


def test_customers_cannot_use_the_desk_edit(ticket, requester_b):
    with pytest.raises(TicketError, match="Only agents"):
        ticket_update(ticket=ticket, actor=requester_b.user, now=NOW, subject="Mine")


def test_the_desk_saves_a_subject_change_through_the_service(ticket, agent_sg, client):
    staff_permissions_sync()
    client.force_login(agent_sg.user)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    response = client.post(
        url,
        {
            "subject": "Echo on PSTN calls",
            "product_area": "voice",
            "priority": "p3",
            "status": "new",
            "team": "",
            "assignee": "",
            "reply": "",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.subject == "Echo on PSTN calls"
    assert stored.events.filter(kind=TicketEvent.Kind.DETAILS, actor=agent_sg.user).exists()


def test_the_api_patch_is_all_or_nothing(ticket, agent_sg, time_machine):
    time_machine.move_to(NOW, tick=False)
    client = APIClient()
    client.force_authenticate(agent_sg.user)
    url = f"/api/v1/tickets/{ticket.reference}/"
    refused = client.patch(url, {"subject": "Renamed", "priority": "p1"}, format="json")
    assert refused.status_code == 400
    assert "does not cover P1" in refused.json()["error"]["fields"]["priority"][0]
    assert Ticket.objects.get(pk=ticket.pk).subject == "Echo on calls"
    done = client.patch(
        url, {"subject": "Renamed", "assignee": agent_sg.user.username}, format="json"
    )
    assert done.status_code == 200
    assert (done.json()["subject"], done.json()["assignee"]["username"]) == (
        "Renamed",
        agent_sg.user.username,
    )
    assert history(Ticket.objects.get(pk=ticket.pk))[-2:] == ["details", "assigned"]
