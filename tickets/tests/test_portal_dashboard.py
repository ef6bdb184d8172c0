"""The dashboard at `/`: a member's open tickets with their next SLA deadline, and the contract."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets.models import Ticket
from tickets.services import ticket_change_status, ticket_create, ticket_reply

# The tiers promise as the demo's do: the root cause, fixes counted around the clock.
pytestmark = pytest.mark.four_promises

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; 11:00 in Berlin


def open_ticket(member, *, now=NOW, **extra) -> Ticket:
    extra.setdefault("priority", "p2")
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject=extra.pop("subject", "Audio drops"),
        body_text="Calls drop audio.",
        now=now,
        **extra,
    )


def dashboard_references(html: str) -> list[str]:
    return re.findall(r'<tr id="ticket-(MRD-\d+)">', html)


def row(html: str, ticket: Ticket) -> str:
    start = html.index(f'<tr id="ticket-{ticket.reference}">')
    return html[start : html.index("</tr>", start)]


def test_anonymous_visitors_get_the_public_landing_page(client):
    page = client.get(reverse("home"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Support for real-time services, on the clock" in html
    assert f'href="{reverse("login")}"' in html
    assert "Open tickets" not in html


def test_staff_get_the_landing_page_with_a_link_to_the_support_desk(agent_ber, client):
    client.force_login(agent_ber.user)
    html = client.get(reverse("home")).content.decode()
    assert f'<a class="button" href="{reverse("admin:index")}">Open the support desk</a>' in html
    assert "Open tickets" not in html


@time_machine.travel(NOW + timedelta(minutes=10), tick=False)
def test_a_requester_sees_their_open_tickets_with_the_next_deadline_in_their_zone(
    contract_a, requester_a, colleague_a, agent_ber, client
):
    mine = open_ticket(requester_a, subject="Audio drops")
    resolved = open_ticket(requester_a, subject="Fixed already")
    ticket_change_status(ticket=resolved, status="resolved", actor=agent_ber.user, now=NOW)
    colleagues = open_ticket(colleague_a, subject="Not yours")
    client.force_login(requester_a.user)
    page = client.get(reverse("home"))
    html = page.content.decode()
    assert page.status_code == 200
    assert dashboard_references(html) == [mine.reference]
    assert resolved.reference not in html and colleagues.reference not in html
    cells = row(html, mine)
    assert "Audio drops" in cells and "P2 – major degradation" in cells and "New" in cells
    # Enterprise P2, 24x7: first response due 10:30 UTC, 11:30 in Berlin, 20 minutes from now.
    assert "First response due" in cells
    assert '<time datetime="2026-03-02T11:30:00+01:00">Mon 2 Mar 2026, 11:30 CET</time>' in cells
    assert (
        '<span class="countdown" data-due="2026-03-02T11:30:00+01:00" role="timer">in 20m</span>'
        in cells
    )
    assert "20m of business time left" in cells
    assert "Times in Europe/Berlin" in html


def test_an_org_admin_sees_every_open_ticket_of_the_organisation(
    contract_a, contract_b, requester_a, colleague_a, org_admin_a, requester_b, client
):
    tickets = [open_ticket(requester_a), open_ticket(colleague_a)]
    open_ticket(requester_b)
    client.force_login(org_admin_a.user)
    html = client.get(reverse("home")).content.decode()
    assert set(dashboard_references(html)) == {t.reference for t in tickets}


def test_a_requester_sees_colleagues_tickets_when_the_organisation_shares_them(
    contract_a, requester_a, colleague_a, client
):
    colleagues = open_ticket(colleague_a)
    organisation = requester_a.organisation
    organisation.requesters_see_all_tickets = True
    organisation.save(update_fields=["requesters_see_all_tickets"])
    client.force_login(requester_a.user)
    html = client.get(reverse("home")).content.decode()
    assert dashboard_references(html) == [colleagues.reference]
    assert "Your organisation's tickets" in html


@time_machine.travel(NOW + timedelta(minutes=20), tick=False)
def test_the_most_urgent_deadline_comes_first(contract_a, requester_a, client):
    p4 = open_ticket(requester_a, priority="p4", now=NOW)  # first response due in 7h 40m
    p1 = open_ticket(requester_a, priority="p1", now=NOW + timedelta(minutes=15))  # in 5m
    p2 = open_ticket(requester_a, priority="p2", now=NOW)  # in 10m
    client.force_login(requester_a.user)
    html = client.get(reverse("home")).content.decode()
    assert dashboard_references(html) == [p1.reference, p2.reference, p4.reference]


@time_machine.travel(NOW + timedelta(hours=1), tick=False)
def test_a_deadline_that_has_passed_says_overdue(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)  # first response was due at 10:30 UTC
    client.force_login(requester_a.user)
    cells = row(client.get(reverse("home")).content.decode(), ticket)
    assert 'class="countdown is-overdue"' in cells
    assert ">overdue</span>" in cells
    assert "missed by 30m" in cells


def test_a_ticket_waiting_on_the_customer_says_its_clocks_are_paused(
    contract_a, requester_a, agent_ber, client
):
    ticket = open_ticket(requester_a)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Logs please", now=NOW)
    ticket_change_status(ticket=ticket, status="pending", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    cells = row(client.get(reverse("home")).content.decode(), ticket)
    assert "Waiting on customer" in cells
    assert "Clocks paused while we wait for you" in cells
    assert "data-due" not in cells


def test_a_ticket_without_an_sla_says_it_has_no_deadlines(org_b, requester_b, client):
    ticket = open_ticket(requester_b)
    client.force_login(requester_b.user)
    html = client.get(reverse("home")).content.decode()
    assert "No SLA deadlines" in row(html, ticket)
    assert "Your organisation has no active support contract" in html


def test_the_dashboard_shows_the_contract_and_its_tier_at_a_glance(contract_a, requester_a, client):
    client.force_login(requester_a.user)
    html = client.get(reverse("home")).content.decode()
    assert "<dt>Tier</dt><dd>Enterprise</dd>" in html
    assert "<dt>Coverage</dt><dd>24x7</dd>" in html
    assert "<dt>Contract</dt><dd>CT-A-1</dd>" in html
    assert '<time datetime="2026-01-01">1 Jan 2026</time>, open-ended' in html
    # Enterprise P1: 10 min first response, 30 min next response and workaround, 2 h root
    # cause, 48 h resolution; every promise of a 24x7 tier counts around the clock.
    assert '<th scope="col">Root cause</th>' in html
    around = ' <span class="around-the-clock">(around the clock)</span>'
    cells = [
        f'<td class="promise-{clock}">{text}{around}</td>'
        for clock, text in (
            ("first_response", "10 min"),
            ("next_response", "30 min"),
            ("workaround", "30 min"),
            ("root_cause", "2 h"),
            ("resolution", "48 h"),
        )
    ]
    assert '<tr id="terms-p1"><th scope="row">P1 – service down</th>' + "".join(cells) in html
    # P4: no workaround nor root cause promised, resolution in 3 days.
    not_promised = (
        '<span aria-hidden="true">—</span><span class="visually-hidden">not promised</span>'
    )
    assert (
        f'<td class="promise-root_cause">{not_promised}</td>'
        f'<td class="promise-resolution">72 h{around}</td></tr>'
    ) in html


def test_a_business_hours_contract_names_the_region_whose_hours_count(
    contract_b, requester_b, client
):
    client.force_login(requester_b.user)
    html = client.get(reverse("home")).content.decode()
    assert "<dd>Business hours of the customer&#x27;s region (Singapore)</dd>" in html
    assert "P1 – service down" not in html  # Standard has no P1 target
    # Only the P4 resolution counts around the clock; the rest in the region's hours.
    assert html.count("(around the clock)") == 1
    p4 = html[html.index('<tr id="terms-p4">') :]
    assert '<td class="promise-resolution">160 h <span class="around-the-clock">' in p4
    assert '<td class="promise-first_response">16 h</td>' in p4


def test_the_countdown_script_is_served_and_loaded_by_every_page(client):
    assert finders.find("portal/countdown.js")
    html = client.get(reverse("home")).content.decode()
    assert '<script src="/static/portal/countdown.js" defer></script>' in html


# Session, user with its membership (organisation, region), open tickets, active contract with
# its tier, its coverage calendar.
DASHBOARD_QUERIES = 5


@pytest.mark.parametrize("count", [5, 50])
def test_the_dashboard_runs_the_same_queries_for_5_and_50_tickets(
    contract_a, org_admin_a, requester_a, colleague_a, client, django_assert_num_queries, count
):
    for n in range(count):
        open_ticket(requester_a if n % 2 else colleague_a, priority=["p1", "p2", "p3"][n % 3])
    client.force_login(org_admin_a.user)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        page = client.get(reverse("home"))
    assert len(dashboard_references(page.content.decode())) == count


@time_machine.travel(NOW + timedelta(hours=1), tick=False)
def test_a_broken_promise_says_missed_and_by_how_much(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)  # P2 first response was due at 10:30 UTC
    client.force_login(requester_a.user)
    cells = row(client.get(reverse("home")).content.decode(), ticket)
    assert "First response due" in cells
    assert '<strong class="state state-breached">missed by 30m</strong>' in cells


@time_machine.travel(NOW + timedelta(minutes=10), tick=False)
def test_the_dashboard_queries_do_not_grow_with_its_tickets(
    contract_a, requester_a, agent_ber, client, django_assert_num_queries
):
    open_ticket(requester_a)
    client.force_login(requester_a.user)
    client.get(reverse("home"))  # warm the calendar schedules' cache
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("home"))
    for priority in ("p1", "p3", "p4"):
        ticket = open_ticket(requester_a, priority=priority)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="On it", now=NOW)
    with django_assert_num_queries(len(one.captured_queries)):
        html = client.get(reverse("home")).content.decode()
    assert len(dashboard_references(html)) == 4
