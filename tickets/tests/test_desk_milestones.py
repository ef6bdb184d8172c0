"""The SLA's promises as milestones on the desk's ticket page, and the root cause recorded
there in one step with the rest of the page's edit."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from conftest import make_tier, sign_contract
from contracts.models import SLATier
from contracts.sla_names import Priority
from tickets.event_display import Names, event_sentence
from tickets.models import Ticket, TicketEvent
from tickets.services import (
    ticket_create,
    ticket_mark_workaround,
    ticket_record_root_cause,
    ticket_reply,
)
from tickets.tests.test_desk_page import QUERIES_GET, form_data, page_url

# A Wednesday, 11:00 in Berlin, inside the business hours (Mon-Fri 09:00-17:00).
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _world(db, media, time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def contract(org_a, org_admin_a):
    """Business-hours coverage that promises a root cause within 8 business hours and the fix
    within 72 hours of wall-clock time."""
    tier = make_tier(
        "business",
        SLATier.Coverage.BUSINESS,
        {Priority.P1: (30, 60, 120, 480, 4320)},
        around_the_clock={Priority.P1: ["resolution"]},
    )
    return sign_contract(org_a, tier, org_admin_a, date(2026, 1, 1), "CT-BIZ-1")


@pytest.fixture
def ticket(contract, requester_a, agent_ber):
    """A P1 opened at 10:00 Berlin time, answered five minutes later."""
    ticket = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Live streams stall after a minute",
        body_text="Every stream stalls after about a minute.",
        priority="p1",
        now=NOW - timedelta(hours=1),
    )
    return ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="We are looking into it.",
        now=NOW - timedelta(minutes=55),
    ).ticket


@pytest.fixture
def desk(client, agent_ber, roles):
    client.force_login(agent_ber.user)
    return client


@pytest.fixture
def roles(agent_ber):
    from portal.services import staff_permissions_sync

    staff_permissions_sync()


def milestones(page: str) -> dict[str, str]:
    """Each milestone's text on the page, by clock."""
    return {
        clock: " ".join(re.sub(r"<[^>]+>", " ", body).split())
        for clock, body in re.findall(r'data-clock="(\w+)">(.*?)</li>', page, re.S)
    }


def root_cause_post(ticket: Ticket, summary: str, detail: str = "") -> dict:
    return form_data(ticket, root_cause_summary=summary, root_cause_detail=detail)


# --- The milestones --------------------------------------------------------------------------


def test_each_promise_shows_its_target_due_instant_and_outcome_in_the_agents_zone(desk, ticket):
    page = desk.get(page_url(ticket)).content.decode()
    assert milestones(page) == {
        "first_response": (
            "First response within 30m met Due Wed 04 Mar 10:30 CET · met Wed 04 Mar 10:05 CET, "
            "in 5m"
        ),
        "next_response": (
            "Next response within 1h 00m not started Starts when the customer writes again."
        ),
        "workaround": "Workaround within 2h 00m running Due Wed 04 Mar 12:00 CET · 1h 00m left",
        # Eight business hours: seven on Wednesday, one on Thursday morning.
        "root_cause": "Root cause within 8h 00m running Due Thu 05 Mar 10:00 CET · 7h 00m left",
        "resolution": (
            "Resolution within 72h 00m around the clock running Due Sat 07 Mar 10:00 CET · "
            "71h 00m left"
        ),
    }
    # One panel for the clocks: the SLA's milestones, with the contract they come from.
    assert page.count('class="sla-milestones"') == 1
    assert "Business under CT-BIZ-1" in page


def test_a_broken_promise_says_by_how_much_and_a_late_one_when_it_was_met(
    desk, contract, requester_a, agent_ber
):
    late = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Ingest drops",
        body_text="Ingest drops every hour.",
        priority="p1",
        now=NOW - timedelta(hours=1),
    )
    # Answered 45 minutes in: 15 minutes past its 30.
    ticket_reply(
        ticket=late,
        author=agent_ber.user,
        body_text="Sorry for the wait.",
        now=NOW - timedelta(minutes=15),
    )
    shown = milestones(desk.get(page_url(late)).content.decode())
    assert shown["first_response"] == (
        "First response within 30m met late Due Wed 04 Mar 10:30 CET · met Wed 04 Mar 10:45 CET, "
        "15m late"
    )

    silent = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Ingest drops again",
        body_text="Nobody answered.",
        priority="p1",
        now=NOW - timedelta(hours=3),  # 08:00 Berlin: counted from the opening at 09:00
    )
    shown = milestones(desk.get(page_url(silent)).content.decode())
    assert shown["first_response"] == (
        "First response within 30m breached Due Wed 04 Mar 09:30 CET · missed by 1h 30m"
    )


# --- The root cause --------------------------------------------------------------------------


def test_recording_the_root_cause_from_the_page_meets_its_clock_and_shows_it(desk, ticket):
    response = desk.post(
        page_url(ticket),
        root_cause_post(
            ticket,
            "A faulty edge node dropped segments for viewers in Berlin.",
            "edge-ber-3 ran an old cache build; rolled back at 10:40.",
        ),
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.root_cause_summary, ticket.root_cause_detail, ticket.root_cause_met_at) == (
        "A faulty edge node dropped segments for viewers in Berlin.",
        "edge-ber-3 ran an old cache build; rolled back at 10:40.",
        NOW,
    )
    event = ticket.events.get(kind=TicketEvent.Kind.ROOT_CAUSE)
    assert event.data["revised"] is False and "detail" not in event.data

    page = desk.get(page_url(ticket)).content.decode()
    assert (
        escape("First recorded Wed 04 Mar 2026 11:00 CET: met the promise, in 1h 00m of 8h 00m.")
        in page
    )
    assert '<span class="desk-badge desk-badge-internal">Internal</span> edge-ber-3' in page
    # Prefilled for revision.
    assert re.search(
        r'<textarea name="root_cause_summary"[^>]*>\s*A faulty edge node dropped segments', page
    )
    assert re.search(r'<textarea name="root_cause_detail"[^>]*>\s*edge-ber-3 ran', page)
    assert milestones(page)["root_cause"] == (
        "Root cause within 8h 00m met Due Thu 05 Mar 10:00 CET · met Wed 04 Mar 11:00 CET, "
        "in 1h 00m"
    )
    assert "Lena Agent recorded the root cause." in page


def test_the_workaround_and_the_root_cause_go_in_one_save(desk, ticket):
    response = desk.post(
        page_url(ticket),
        form_data(
            ticket,
            mark_workaround="on",
            workaround_note="Play from the backup CDN.",
            root_cause_summary="A faulty edge node.",
        ),
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.workaround_met_at == NOW and ticket.root_cause_met_at == NOW
    assert ticket.root_cause_detail == ""


def test_revising_the_root_cause_keeps_its_clock_and_the_history_says_so(
    desk, ticket, agent_ber, time_machine
):
    ticket_record_root_cause(
        ticket=ticket, now=NOW, actor=agent_ber.user, summary="An edge node.", detail="ber-3"
    )
    ticket.refresh_from_db()
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)
    response = desk.post(
        page_url(ticket), root_cause_post(ticket, "A faulty edge node in Berlin.", "ber-3")
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.root_cause_summary == "A faulty edge node in Berlin."
    assert ticket.root_cause_met_at == NOW
    assert ticket.events.filter(kind=TicketEvent.Kind.ROOT_CAUSE).count() == 2
    page = desk.get(page_url(ticket)).content.decode()
    assert escape("Lena Agent revised the root cause. “A faulty edge node in Berlin.”") in page


def test_saving_the_page_without_touching_the_root_cause_records_nothing(desk, ticket, agent_ber):
    ticket_record_root_cause(ticket=ticket, now=NOW, actor=agent_ber.user, summary="Edge node.")
    ticket.refresh_from_db()
    response = desk.post(
        page_url(ticket), root_cause_post(ticket, "Edge node.", "") | {"reply": "Fixed now."}
    )
    assert response.status_code == 302
    assert ticket.events.filter(kind=TicketEvent.Kind.ROOT_CAUSE).count() == 1


@pytest.mark.parametrize(
    ("summary", "detail", "error"),
    [
        ("", "edge-ber-3 ran an old build", "Write the root cause as the customer will read it."),
        ("x" * 2001, "", "Keep the summary to 2000 characters; the detail can be longer."),
    ],
)
def test_a_root_cause_the_rules_refuse_is_shown_on_the_summary_and_nothing_is_saved(
    desk, ticket, summary, detail, error
):
    before = ticket.events.count()
    response = desk.post(
        page_url(ticket), root_cause_post(ticket, summary, detail) | {"reply": "Update."}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"root_cause_summary": [error]}
    # The agent keeps what they typed.
    assert escape(detail or summary) in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.root_cause_summary == "" and ticket.events.count() == before


def test_a_recorded_root_cause_is_revised_not_removed(desk, ticket, agent_ber):
    ticket_record_root_cause(ticket=ticket, now=NOW, actor=agent_ber.user, summary="Edge node.")
    ticket.refresh_from_db()
    response = desk.post(page_url(ticket), root_cause_post(ticket, "", ""))
    assert response.context["adminform"].form.errors == {
        "root_cause_summary": ["Write the root cause as the customer will read it."]
    }
    ticket.refresh_from_db()
    assert ticket.root_cause_summary == "Edge node."


def test_the_root_cause_and_the_milestones_add_no_query_to_the_page(desk, ticket, agent_ber):
    desk.get(page_url(ticket))  # the session and permissions, read once
    with CaptureQueriesContext(connection) as before:
        desk.get(page_url(ticket))
    ticket_mark_workaround(ticket=ticket, now=NOW, actor=agent_ber.user)
    ticket_record_root_cause(
        ticket=ticket, now=NOW, actor=agent_ber.user, summary="Edge node.", detail="ber-3"
    )
    with CaptureQueriesContext(connection) as after:
        page = desk.get(page_url(ticket)).content.decode()
    assert "ber-3" in page
    assert len(after) == len(before) <= QUERIES_GET


# --- The history -----------------------------------------------------------------------------


def test_the_root_cause_events_read_as_sentences_without_the_detail(agent_ber):
    names = Names()

    def sentence(data: dict) -> str:
        event = TicketEvent(kind=TicketEvent.Kind.ROOT_CAUSE, actor=agent_ber.user, at=NOW)
        event.data = data
        return event_sentence(event, names)

    met = [{"clock": "root_cause", "what": "met"}]
    assert sentence(
        {"summary": "An edge node.", "revised": False, "with_detail": True, "clocks": met}
    ) == ("Lena Agent recorded the root cause. “An edge node.” Root cause met.")
    assert sentence({"summary": "An edge node in Berlin.", "revised": True, "clocks": []}) == (
        "Lena Agent revised the root cause. “An edge node in Berlin.”"
    )
