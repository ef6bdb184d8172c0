"""The root cause over the API: agents record it, customers read its summary only, and every
milestone of the ticket's SLA is listed with what it promised and how it went."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import api_client, error_of
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_record_root_cause, ticket_reply

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
SUMMARY = "A certificate expired on the edge proxies."
DETAIL = "INTERNAL: renewal cron disabled by OPS-77."

pytestmark = [pytest.mark.usefixtures("api_world"), pytest.mark.four_promises]


def file_ticket(member, *, priority="p2") -> Ticket:
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Stream drops",
        body_text="It drops every hour.",
        priority=priority,
        now=NOW,
    )


def root_cause_url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/root-cause/"


def clocks_of(body: dict) -> dict[str, dict]:
    return {clock["name"]: clock for clock in body["sla"]["clocks"]}


def test_an_agent_records_the_root_cause_and_meets_its_milestone(cast, time_machine):
    ticket = file_ticket(cast["requester_a"])  # Enterprise P2: root cause within 8 h
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)
    response = api_client(cast["agent_ber"].user).post(
        root_cause_url(ticket), {"summary": SUMMARY, "detail": DETAIL}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["root_cause"] == {
        "summary": SUMMARY,
        "recorded_at": "2026-03-02T12:00:00Z",
        "detail": DETAIL,  # agents read the internal detail
    }
    root_cause = clocks_of(body)["root_cause"]
    assert (root_cause["state"], root_cause["met_at"]) == ("met", "2026-03-02T12:00:00Z")
    assert root_cause["taken_minutes"] == 120
    assert root_cause["missed_by_minutes"] is None
    ticket.refresh_from_db()
    assert (ticket.root_cause_summary, ticket.root_cause_detail) == (SUMMARY, DETAIL)
    event = ticket.events.get(kind=TicketEvent.Kind.ROOT_CAUSE)
    assert event.actor == cast["agent_ber"].user


def test_a_revision_keeps_when_it_was_first_recorded(cast, time_machine):
    ticket = file_ticket(cast["requester_a"])
    agent = api_client(cast["agent_ber"].user)
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    agent.post(root_cause_url(ticket), {"summary": "First guess."}, format="json")
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)
    body = agent.post(root_cause_url(ticket), {"summary": SUMMARY}, format="json").json()
    assert body["root_cause"]["summary"] == SUMMARY
    assert body["root_cause"]["recorded_at"] == "2026-03-02T11:00:00Z"


def test_customers_read_the_summary_and_never_the_detail(cast):
    ticket = file_ticket(cast["requester_a"])
    ticket_record_root_cause(
        ticket=ticket, now=NOW, actor=cast["agent_ber"].user, summary=SUMMARY, detail=DETAIL
    )
    client = api_client(cast["requester_a"].user)
    response = client.get(f"/api/v1/tickets/{ticket.reference}/")
    assert response.json()["root_cause"] == {"summary": SUMMARY, "recorded_at": NOW_TEXT}
    for path in ("", "attachments/"):
        assert "OPS-77" not in client.get(f"/api/v1/tickets/{ticket.reference}/{path}").text
    assert "OPS-77" not in client.get("/api/v1/tickets/").text


NOW_TEXT = "2026-03-02T10:00:00Z"


def test_customers_may_not_record_a_root_cause(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["org_admin_a"].user).post(
        root_cause_url(ticket), {"summary": SUMMARY}, format="json"
    )
    error = error_of(response, 403, "permission_denied")
    assert error["message"] == "Only agents record a root cause."
    ticket.refresh_from_db()
    assert ticket.root_cause_summary == ""


def test_another_organisation_cannot_see_the_ticket(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["org_admin_b"].user).post(
        root_cause_url(ticket), {"summary": SUMMARY}, format="json"
    )
    error_of(response, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "summary"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 2001}, "summary"),
        ({"summary": SUMMARY, "detail": 5, "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(cast, body, field):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["agent_ber"].user).post(root_cause_url(ticket), body, format="json")
    error = error_of(response, 400, "invalid")
    assert field in error["fields"]


def test_every_milestone_is_listed_with_its_promise_and_outcome(cast, time_machine):
    ticket = file_ticket(cast["requester_a"])  # Enterprise P2: respond 30 min, work around 2 h
    ticket_reply(
        ticket=ticket,
        author=cast["agent_ber"].user,
        body_text="On it",
        now=NOW + timedelta(hours=1),
    )
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)
    clocks = clocks_of(
        api_client(cast["requester_a"].user).get(f"/api/v1/tickets/{ticket.reference}/").json()
    )
    first = clocks["first_response"]
    assert first["state"] == "breached"  # met late: the promise stays broken
    assert (first["met_at"], first["breached_at"]) == (
        "2026-03-02T11:00:00Z",
        "2026-03-02T10:30:00Z",
    )
    assert (first["taken_minutes"], first["missed_by_minutes"]) == (60, 30)
    workaround = clocks["workaround"]
    assert (workaround["state"], workaround["met_at"]) == ("breached", None)
    assert workaround["missed_by_minutes"] == 60
    assert clocks["root_cause"]["state"] == "running"
    assert clocks["root_cause"]["missed_by_minutes"] is None


def test_a_clock_counted_around_the_clock_says_so(cast):
    ticket = file_ticket(cast["requester_b"], priority="p4")  # Standard P4: fix in 160 h
    clocks = clocks_of(
        api_client(cast["requester_b"].user).get(f"/api/v1/tickets/{ticket.reference}/").json()
    )
    assert clocks["resolution"]["around_the_clock"] is True
    assert clocks["first_response"]["around_the_clock"] is False
    assert "root_cause" not in clocks  # Standard promises none


def test_the_schema_documents_the_root_cause_action(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/tickets/{reference}/root-cause/"]["post"]
    assert {"400", "403", "404"} <= set(operation["responses"])
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][request["$ref"].split("/")[-1]]
    assert set(component["properties"]) == {"summary", "detail"}
    assert component["required"] == ["summary"]
    clock = schema["components"]["schemas"]["Clock"]["properties"]
    assert {"around_the_clock", "breached_at", "taken_minutes", "missed_by_minutes"} <= set(clock)
