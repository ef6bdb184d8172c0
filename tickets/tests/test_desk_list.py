"""The agents' queue: the stored next deadline follows the rule after every change; each saved
view and filter of the desk's list and of the API finds the right tickets, with a query count
that does not grow with the tickets."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from conftest import api_client, make_agent
from portal.models import Agent, Team
from portal.services import staff_permissions_sync
from tickets.clocks import NO_DEADLINE
from tickets.models import Ticket
from tickets.queue import AT_RISK, SAVED_VIEWS, filter_sla
from tickets.selectors import next_due_at
from tickets.services import (
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
DESK = "admin:tickets_ticket_changelist"


def new_ticket(member, subject, *, at=NOW - timedelta(minutes=5), priority="p3"):
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject=subject,
        body_text="Details.",
        priority=priority,
        now=at,
    )


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def move(ticket, status, now, actor):
    return ticket_change_status(ticket=ticket, status=status, now=now, actor=actor)


def prioritise(ticket, priority, now, actor):
    return ticket_change_priority(ticket=ticket, priority=priority, now=now, actor=actor)


def stored_equals_rule(ticket: Ticket) -> bool:
    row = Ticket.objects.annotate(rule=next_due_at()).get(pk=ticket.pk)
    return row.next_due_at == row.rule


def test_the_stored_next_deadline_follows_every_change(contract_a, requester_a, agent_ber):
    agent = agent_ber.user
    ticket = new_ticket(requester_a, "Clock", at=NOW)
    customer = requester_a.user
    steps = [
        ("created", lambda t: t),
        ("reply", lambda t: ticket_reply(ticket=t, author=agent, body_text="On it.", now=NOW)),
        ("customer", lambda t: ticket_reply(ticket=t, author=customer, body_text="+", now=at(5))),
        ("pause", lambda t: move(t, "pending", now=at(10), actor=agent)),
        ("resume", lambda t: move(t, "open", now=at(20), actor=agent)),
        ("priority", lambda t: prioritise(t, "p1", now=at(30), actor=agent)),
        ("resolve", lambda t: move(t, "resolved", now=at(40), actor=agent)),
        ("reopen", lambda t: move(t, "open", now=at(50), actor=customer)),
    ]
    seen = set()
    for name, step in steps:
        step(Ticket.objects.get(pk=ticket.pk))
        current = Ticket.objects.get(pk=ticket.pk)
        assert stored_equals_rule(current), name
        seen.add(current.next_due_at)
        if name == "resolve":
            assert current.next_due_at == NO_DEADLINE
    assert len(seen) >= 4  # the deadline moved, and the column moved with it
    assert Ticket.objects.get(pk=ticket.pk).last_customer_message_at == NOW + timedelta(minutes=5)


@pytest.fixture
def desk(contract_a, contract_b, requester_a, requester_b, region_ber, region_sg, time_machine):
    """Berlin L1 agent `lena` with tickets of her team, her region's untaken ones, Singapore's,
    one assigned to her, one waiting on the customer, one resolved."""
    l1 = region_ber.teams.get(level=Team.Level.L1)
    l2 = region_ber.teams.get(level=Team.Level.L2)
    lena = make_agent("lena.queue", l1)
    other = make_agent("omar.queue", l1)
    t = {
        "team": new_ticket(requester_a, "Team ticket"),
        "mine": new_ticket(requester_a, "Lena's ticket"),
        "other": new_ticket(requester_a, "Omar's ticket"),
        "untaken": new_ticket(requester_a, "Untaken in Berlin"),
        "l2": new_ticket(requester_a, "Escalated"),
        "sg": new_ticket(requester_b, "Singapore latency"),
        "waiting": new_ticket(requester_a, "Waiting"),
        "done": new_ticket(requester_a, "Done"),
    }
    for key, team, agent in [
        ("team", l1, None),
        ("mine", l1, lena),
        ("other", l1, other),
        ("l2", l2, None),
        ("waiting", l1, lena),
        ("done", l1, None),
    ]:
        ticket_assign(ticket=t[key], team=team, assignee=agent and agent.user, actor=None, now=NOW)
    # Answered, then waiting on the customer: every clock still owed is paused.
    ticket_reply(ticket=t["waiting"], author=lena.user, body_text="Logs?", now=NOW)
    ticket_change_status(ticket=t["waiting"], status="pending", now=NOW, actor=lena.user)
    ticket_change_status(ticket=t["done"], status="resolved", now=NOW, actor=lena.user)
    assert Ticket.objects.get(pk=t["untaken"].pk).team_id is None
    time_machine.move_to(NOW, tick=False)
    staff_permissions_sync()
    return {"lena": lena, "l1": l1, **t}


def listed(client, query: str = "") -> list[str]:
    html = client.get(reverse(DESK) + query).content.decode()
    return re.findall(r">(MRD-\d{6})</a>", html)


def refs(desk, *keys: str) -> set[str]:
    return {desk[key].reference for key in keys}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("team", {"team", "mine", "other", "untaken", "waiting"}),
        ("mine", {"mine", "waiting"}),
        ("unassigned", {"team", "untaken"}),
        ("waiting", {"waiting"}),
        ("all", {"team", "mine", "other", "untaken", "l2", "sg", "waiting"}),
    ],
)
def test_each_saved_view_shows_its_tickets(desk, client, view, expected):
    client.force_login(desk["lena"].user)
    query = next(v.query for v in SAVED_VIEWS if v.key == view)
    assert set(listed(client, "?" + query)) == refs(desk, *expected)


def test_the_desk_opens_on_the_teams_open_tickets_most_urgent_first(desk, client):
    client.force_login(desk["lena"].user)
    html = client.get(reverse(DESK)).content.decode()
    references = re.findall(r">(MRD-\d{6})</a>", html)
    assert set(references) == refs(desk, "team", "mine", "other", "untaken", "waiting")
    dues = [Ticket.objects.get(reference=r).next_due_at for r in references]
    assert dues == sorted(dues)
    assert 'aria-current="page"' in html and 'accesskey="1"' in html and 'accesskey="7"' in html


def test_an_agent_without_a_team_sees_every_open_ticket(desk, client):
    loner = make_agent("nobody.queue", None, Agent.Role.ACCOUNT_MANAGER)
    staff_permissions_sync()
    client.force_login(loner.user)
    assert set(listed(client)) == refs(
        desk, "team", "mine", "other", "untaken", "l2", "sg", "waiting"
    )


def test_an_l2_team_does_not_take_the_regions_untaken_tickets(desk, client):
    l2 = make_agent("max.queue", desk["l1"].region.teams.get(level=Team.Level.L2))
    staff_permissions_sync()
    client.force_login(l2.user)
    assert set(listed(client)) == refs(desk, "l2")


def test_sla_states_split_at_now_and_thirty_minutes(desk):
    open_ = Ticket.objects.filter(pk__in=[desk[k].pk for k in ("team", "mine", "other")])
    at = {"team": NOW, "mine": NOW + AT_RISK, "other": NOW + AT_RISK + timedelta(seconds=1)}
    for key, due in at.items():
        Ticket.objects.filter(pk=desk[key].pk).update(next_due_at=due)

    def states(value):
        return {t.reference for t in filter_sla(open_, value, now=NOW)}

    assert states("breached") == refs(desk, "team")  # due now: no time left
    assert states("at_risk") == refs(desk, "mine")  # exactly 30 minutes left
    assert states("ok") == refs(desk, "other")
    assert {t.reference for t in filter_sla(Ticket.objects.all(), "paused", now=NOW)} == refs(
        desk, "waiting"
    )
    assert not filter_sla(Ticket.objects.all(), "none", now=NOW).exists()


def test_filters_and_search(desk, client):
    client.force_login(desk["lena"].user)
    assert set(listed(client, "?team=none&status=active")) == refs(desk, "untaken", "sg")
    assert set(listed(client, "?assignee=me")) == refs(desk, "mine", "waiting")
    assert set(listed(client, f"?region={desk['l1'].region_id}&status=any")) == refs(
        desk, "team", "mine", "other", "untaken", "l2", "waiting", "done"
    )
    assert set(listed(client, "?status=resolved")) == refs(desk, "done")
    reference = desk["sg"].reference
    assert listed(client, f"?q={reference.lower()}") == [reference]
    assert set(listed(client, "?q=latency&status=any")) == refs(desk, "sg")
    org_b = desk["sg"].organisation
    assert set(listed(client, f"?q={org_b.name}&status=any")) == refs(desk, "sg")
    email = desk["sg"].requester.user.email
    assert set(listed(client, f"?q={email}&status=any")) == refs(desk, "sg")


@pytest.mark.parametrize("query", ["", *(f"?{view.query}" for view in SAVED_VIEWS), "?q=x"])
def test_each_view_takes_the_same_queries_whatever_the_tickets(
    desk, client, requester_a, django_assert_num_queries, query
):
    client.force_login(desk["lena"].user)
    client.get(reverse(DESK) + query)  # the session and permission caches warm
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse(DESK) + query)
    for n in range(6):
        ticket = new_ticket(requester_a, f"More {n}")
        ticket_assign(
            ticket=ticket, team=desk["l1"], assignee=desk["lena"].user, actor=None, now=NOW
        )
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse(DESK) + query)
    assert len(few.captured_queries) <= 10


def test_api_filters_use_the_queue(desk):
    client = api_client(desk["lena"].user)
    url = reverse("api-ticket-list")

    def api(query):
        response = client.get(url + query)
        assert response.status_code == 200, response.content
        return {row["reference"] for row in response.json()["results"]}

    assert api("?team=mine&status=new,open,pending") == refs(
        desk, "team", "mine", "other", "untaken", "waiting"
    )
    assert api("?assignee=me") == refs(desk, "mine", "waiting")
    assert api("?assignee=unassigned&team=mine&status=new,open") == refs(desk, "team", "untaken")
    assert api(f"?team={desk['l1'].pk}&sla=paused") == refs(desk, "waiting")
    assert api("?team=none&ordering=next_deadline") == refs(desk, "untaken", "sg")
    assert client.get(url + "?sla=late").status_code == 400


def test_a_customer_still_sees_only_their_organisation(desk, requester_b):
    client = api_client(requester_b.user)
    url = reverse("api-ticket-list")
    rows = client.get(url + "?sla=ok").json()["results"]
    assert {row["reference"] for row in rows} == refs(desk, "sg")
    assert client.get(url + "?team=mine").status_code == 400
    assert client.get(url + "?assignee=me").status_code == 400
