"""The tickets API: list, create, retrieve, replies, status, agent changes, attachments."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import api_client, error_of
from portal.models import Organisation, Team
from tickets.models import Attachment, Message, Ticket, TicketEvent
from tickets.services import ticket_change_status, ticket_create, ticket_reply

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
LIST = "/api/v1/tickets/"


pytestmark = [pytest.mark.usefixtures("api_world"), pytest.mark.four_promises]


def url(ticket: Ticket, suffix: str = "") -> str:
    return f"/api/v1/tickets/{ticket.reference}/{suffix}"


def file_ticket(member, *, subject="Stream drops", priority="p3", at=NOW, **extra) -> Ticket:
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject=subject,
        body_text="It drops every hour.",
        priority=priority,
        now=at,
        **extra,
    )


def references(response) -> list[str]:
    return [row["reference"] for row in response.json()["results"]]


# --- List --------------------------------------------------------------------------------------


def test_an_org_admin_lists_every_ticket_of_the_organisation_and_no_other(cast):
    mine = file_ticket(cast["requester_a"])
    colleagues = file_ticket(cast["colleague_a"])
    file_ticket(cast["requester_b"])
    response = api_client(cast["org_admin_a"].user).get(LIST)
    assert response.status_code == 200
    assert references(response) == [mine.reference, colleagues.reference]
    assert response.json()["next"] is None


def test_a_requester_lists_only_their_own_tickets_unless_the_organisation_shares(cast):
    mine = file_ticket(cast["requester_a"])
    colleagues = file_ticket(cast["colleague_a"])
    client = api_client(cast["requester_a"].user)
    assert references(client.get(LIST)) == [mine.reference]
    Organisation.objects.filter(pk=cast["org_a"].pk).update(requesters_see_all_tickets=True)
    client = api_client(type(cast["requester_a"].user).objects.get(pk=cast["requester_a"].user.pk))
    assert references(client.get(LIST)) == [mine.reference, colleagues.reference]


def test_agents_list_tickets_of_every_organisation(cast):
    a = file_ticket(cast["requester_a"])
    b = file_ticket(cast["requester_b"])
    assert references(api_client(cast["agent_sg"].user).get(LIST)) == [a.reference, b.reference]


def test_a_list_row_names_the_organisation_requester_team_and_assignee(cast):
    ticket = file_ticket(cast["requester_a"])
    api_client(cast["lead_ber"].user).patch(
        url(ticket), {"assignee": "lena.agent", "team": cast["agent_ber"].team_id}
    )
    (row,) = api_client(cast["org_admin_a"].user).get(LIST).json()["results"]
    assert row["url"] == f"http://testserver/api/v1/tickets/{ticket.reference}/"
    assert row["organisation"] == {"slug": "acme", "name": "Acme Streaming"}
    assert row["requester"] == {"name": "Rita Requester", "email": "rita.requester@acme.test"}
    assert row["team"] == {"id": cast["agent_ber"].team_id, "name": "Berlin L1"}
    assert row["assignee"] == {"username": "lena.agent", "name": "Lena Agent"}
    assert (row["status"], row["priority"], row["channel"]) == ("new", "p3", "web")
    assert row["created_at"] == "2026-03-02T10:00:00Z"


def test_the_list_filters_by_status_priority_and_updated_since(cast, time_machine):
    old = file_ticket(cast["requester_a"], priority="p2", at=NOW - timedelta(days=3))
    urgent = file_ticket(cast["requester_a"], priority="p1")
    resolved = file_ticket(cast["requester_a"])
    ticket_change_status(ticket=resolved, status="resolved", now=NOW, actor=cast["agent_ber"].user)
    client = api_client(cast["org_admin_a"].user)
    assert references(client.get(LIST, {"status": "new"})) == [old.reference, urgent.reference]
    assert references(client.get(LIST, {"status": "resolved,new", "priority": "p1,p3"})) == [
        urgent.reference,
        resolved.reference,
    ]
    since = (NOW - timedelta(days=1)).isoformat()
    assert references(client.get(LIST, {"updated_since": since})) == [
        urgent.reference,
        resolved.reference,
    ]
    # Without an offset the instant is UTC; the bound is inclusive.
    assert references(client.get(LIST, {"updated_since": "2026-03-02T10:00:00"})) == [
        urgent.reference,
        resolved.reference,
    ]
    assert references(client.get(LIST, {"updated_since": "2026-03-02T11:00:00+01:00"})) == [
        urgent.reference,
        resolved.reference,
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"status": ","}, "status"),
        ({"priority": "p9"}, "priority"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-13-45T99:00:00Z"}, "updated_since"),
        ({"updated_since": "99999-01-01T00:00:00Z"}, "updated_since"),
        ({"updated_since": "9999-12-31T23:59:59-12:00"}, "updated_since"),
        ({"updated_since": "0001-01-01T00:00:00+14:00"}, "updated_since"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": base64.b64encode(b"p=yesterday").decode()}, "cursor"),
        ({"cursor": base64.b64encode(b"p=2026-03-02 10:00:00").decode()}, "cursor"),
        ({"cursor": base64.b64encode(b"o=-4").decode()}, "cursor"),
        ({"cursor": base64.b64encode(b"r=x").decode()}, "cursor"),
        ({"cursor": "\u00e9t\u00e9"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(cast, params, field):
    file_ticket(cast["requester_a"])
    error = error_of(api_client(cast["org_admin_a"].user).get(LIST, params), 400, "invalid")
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize("page_size", ["-1", "0", "abc", "100000"])
def test_an_unusable_page_size_falls_back_to_a_sensible_one(cast, page_size):
    file_ticket(cast["requester_a"])
    response = api_client(cast["org_admin_a"].user).get(LIST, {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_cursor_pages_walk_every_ticket_once_by_update_then_id(cast, time_machine):
    tickets = [file_ticket(cast["requester_a"], subject=f"T{n}") for n in range(5)]
    # Two share an instant (ties go by id); one moves to the end by being updated later.
    ticket_reply(ticket=tickets[1], author=cast["agent_ber"].user, body_text="On it", now=NOW)
    ticket_reply(
        ticket=tickets[0],
        author=cast["agent_ber"].user,
        body_text="On it",
        now=NOW + timedelta(minutes=5),
    )
    expected = [t.reference for t in tickets[1:]] + [tickets[0].reference]
    client = api_client(cast["org_admin_a"].user)
    seen, page = [], client.get(LIST, {"page_size": 2})
    while True:
        assert page.status_code == 200
        seen += references(page)
        if page.json()["next"] is None:
            break
        page = client.get(page.json()["next"])
    assert seen == expected
    back = client.get(page.json()["previous"])
    assert references(back) == expected[2:4]


@pytest.mark.parametrize("who", ["agent_ber", "org_admin_a", "requester_a"])
def test_the_list_makes_the_same_number_of_queries_for_5_and_50_tickets(
    cast, who, django_assert_num_queries
):
    requester, agent = cast["requester_a"], cast["agent_ber"]
    for n in range(5):
        ticket = file_ticket(requester, subject=f"T{n}")
        ticket_reply(ticket=ticket, author=agent.user, body_text="On it", now=NOW)
    client = api_client(cast[who].user, token=True)
    with CaptureQueriesContext(connection) as five:
        response = client.get(LIST, {"page_size": 100})
    assert len(response.json()["results"]) == 5
    for n in range(45):
        ticket = file_ticket(requester, subject=f"More {n}", priority="p2")
        ticket_reply(ticket=ticket, author=agent.user, body_text="On it", now=NOW)
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get(LIST, {"page_size": 100})
    assert len(response.json()["results"]) == 50


# --- Retrieve ----------------------------------------------------------------------------------


def test_a_ticket_shows_its_sla_clocks_with_due_instants_and_business_time_left(cast, time_machine):
    ticket = file_ticket(cast["requester_a"], priority="p2")
    time_machine.move_to(NOW + timedelta(minutes=10), tick=False)
    body = api_client(cast["requester_a"].user).get(url(ticket)).json()
    assert body["sla"]["contract"] == "CT-A-1"
    assert body["sla"]["tier"] == {"code": "enterprise", "name": "Enterprise"}
    assert body["sla"]["calendar"]["code"] == "24x7"
    clocks = {clock["name"]: clock for clock in body["sla"]["clocks"]}
    assert list(clocks) == ["first_response", "workaround", "root_cause", "resolution"]
    assert clocks["first_response"] == {
        "name": "first_response",
        "label": "First response",
        "state": "running",
        "target_minutes": 30,
        "around_the_clock": False,  # counted in the coverage calendar (which is 24x7 here)
        "due_at": "2026-03-02T10:30:00Z",
        "met_at": None,
        "breached_at": None,
        "business_seconds_left": 20 * 60,
        "overdue": False,
        "taken_minutes": None,
        "missed_by_minutes": None,
    }
    assert clocks["root_cause"]["target_minutes"] == 480
    assert clocks["root_cause"]["due_at"] == "2026-03-02T18:00:00Z"
    assert clocks["resolution"]["due_at"] == "2026-03-03T10:00:00Z"
    assert clocks["resolution"]["business_seconds_left"] == 1430 * 60
    assert body["root_cause"] is None


def test_an_answered_and_an_overdue_clock_say_so(cast, time_machine):
    ticket = file_ticket(cast["requester_a"], priority="p1")
    ticket_reply(
        ticket=ticket,
        author=cast["agent_ber"].user,
        body_text="Looking",
        now=NOW + timedelta(minutes=5),
    )
    time_machine.move_to(NOW + timedelta(minutes=45), tick=False)
    clocks = {
        clock["name"]: clock
        for clock in api_client(cast["agent_ber"].user).get(url(ticket)).json()["sla"]["clocks"]
    }
    assert clocks["first_response"]["state"] == "met"
    assert clocks["first_response"]["met_at"] == "2026-03-02T10:05:00Z"
    assert clocks["workaround"]["state"] == "breached"
    assert clocks["workaround"]["overdue"] is True
    assert clocks["workaround"]["business_seconds_left"] == -15 * 60


def test_a_ticket_without_a_contract_has_no_sla(cast):
    ticket = file_ticket(cast["requester_b"], at=datetime(2025, 12, 1, 4, 0, tzinfo=UTC))
    body = api_client(cast["requester_b"].user).get(url(ticket)).json()
    assert body["sla"] is None


def test_customers_read_the_public_conversation_and_agents_the_internal_notes_too(cast):
    ticket = file_ticket(cast["requester_a"])
    agent = cast["agent_ber"].user
    ticket_reply(ticket=ticket, author=agent, body_text="Escalate to L2", now=NOW, internal=True)
    ticket_reply(ticket=ticket, author=agent, body_text="We are on it", now=NOW)
    customer = api_client(cast["requester_a"].user).get(url(ticket)).json()
    assert [(m["body_text"], m["internal"]) for m in customer["messages"]] == [
        ("It drops every hour.", False),
        ("We are on it", False),
    ]
    assert customer["messages"][1]["author_name"] == "Lena Agent"
    assert customer["messages"][1]["author_kind"] == "agent"
    staff = api_client(agent).get(url(ticket)).json()
    assert [m["internal"] for m in staff["messages"]] == [False, True, False]


def test_a_ticket_reference_is_found_whatever_its_case(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["requester_a"].user).get(
        f"/api/v1/tickets/{ticket.reference.lower()}/"
    )
    assert response.json()["reference"] == ticket.reference


def test_a_missing_ticket_is_a_404_in_the_error_shape(cast):
    error = error_of(
        api_client(cast["requester_a"].user).get("/api/v1/tickets/MRD-999999/"), 404, "not_found"
    )
    assert error["fields"] == {}


def test_reading_a_ticket_makes_the_same_number_of_queries_for_1_and_10_messages(
    cast, django_assert_num_queries
):
    ticket = file_ticket(cast["requester_a"], attachments=[SimpleUploadedFile("a.log", b"a")])
    client = api_client(cast["agent_ber"].user, token=True)
    client.get(url(ticket))  # the calendar schedule is cached per process after first use
    with CaptureQueriesContext(connection) as one:
        client.get(url(ticket))
    for n in range(9):
        ticket_reply(
            ticket=ticket,
            author=cast["agent_ber"].user,
            body_text=f"Note {n}",
            internal=n % 2 == 0,
            attachments=[SimpleUploadedFile(f"n{n}.log", b"x")],
            now=NOW,
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url(ticket))
    assert len(response.json()["messages"]) == 10


# --- Create ------------------------------------------------------------------------------------


def test_a_customer_files_a_ticket_as_json_and_gets_it_back_with_its_sla(cast):
    response = api_client(cast["requester_a"].user).post(
        LIST,
        {
            "subject": "Ingest down",
            "description": "No frames since 09:55",
            "priority": "p1",
            "product_area": "streaming",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(reference=body["reference"])
    assert response["Location"] == body["url"] == f"http://testserver{url(ticket)}"
    assert (ticket.channel, ticket.priority, ticket.product_area) == ("api", "p1", "streaming")
    assert ticket.requester == cast["requester_a"]
    assert ticket.sla_contract == cast["contract_a"]
    assert body["messages"][0]["body_text"] == "No frames since 09:55"
    assert {c["name"]: c["due_at"] for c in body["sla"]["clocks"]}["first_response"] == (
        "2026-03-02T10:10:00Z"
    )


def test_a_ticket_filed_without_priority_or_area_is_p3_other(cast):
    response = api_client(cast["requester_a"].user).post(
        LIST, {"subject": "Q", "description": "How?"}
    )
    assert (response.json()["priority"], response.json()["product_area"]) == ("p3", "other")


def test_a_customer_files_a_ticket_with_attachments_as_multipart(cast):
    response = api_client(cast["requester_a"].user).post(
        LIST,
        {
            "subject": "Logs",
            "description": "Attached",
            "priority": "p2",
            "attachments": [
                SimpleUploadedFile("trace.log", b"abc", content_type="text/plain"),
                SimpleUploadedFile("shot.png", b"\x89PNG", content_type="image/png"),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["filename"], a["size"]) for a in body["attachments"]] == [
        ("trace.log", 3),
        ("shot.png", 4),
    ]
    assert body["messages"][0]["attachments"] == body["attachments"]
    assert body["attachments"][0]["sha256"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert Attachment.objects.filter(ticket__reference=body["reference"]).count() == 2


def test_a_priority_the_contract_does_not_cover_is_refused_on_the_priority_field(cast):
    response = api_client(cast["requester_b"].user).post(
        LIST, {"subject": "Down", "description": "All calls fail", "priority": "p1"}
    )
    error = error_of(response, 400, "invalid")
    assert error["fields"] == {
        "priority": ["The Standard contract does not cover P1; choose one of P2, P3, P4."]
    }
    assert error["message"].startswith("priority: The Standard contract")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([SimpleUploadedFile("payload.exe", b"MZ")], "payload.exe: files of type .exe"),
        ([SimpleUploadedFile("empty.txt", b"")], "empty.txt is empty"),
        ([SimpleUploadedFile(f"{n}.txt", b"x") for n in range(6)], "At most 5 files"),
    ],
)
def test_unacceptable_attachments_are_refused_on_the_attachments_field(cast, files, message):
    response = api_client(cast["requester_a"].user).post(
        LIST,
        {"subject": "Logs", "description": "Attached", "attachments": files},
        format="multipart",
    )
    error = error_of(response, 400, "invalid")
    assert list(error["fields"]) == ["attachments"]
    assert message in error["fields"]["attachments"][0]
    assert not Ticket.objects.exists()


def test_an_attachment_over_the_size_limit_is_refused(cast, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    response = api_client(cast["requester_a"].user).post(
        LIST,
        {
            "subject": "Logs",
            "description": "x",
            "attachments": [SimpleUploadedFile("big.log", b"x" * 2048)],
        },
        format="multipart",
    )
    error = error_of(response, 400, "invalid")
    assert "big.log is larger than" in error["fields"]["attachments"][0]


def test_agents_do_not_file_tickets_through_the_api(cast):
    response = api_client(cast["agent_ber"].user).post(LIST, {"subject": "x", "description": "y"})
    error_of(response, 403, "permission_denied")
    assert not Ticket.objects.exists()


BAD_TICKETS = [
    pytest.param({}, {"subject", "description"}, id="nothing"),
    pytest.param({"subject": {"a": 1}, "description": "y"}, {"subject"}, id="subject-object"),
    pytest.param({"subject": "x", "description": ["y"]}, {"description"}, id="description-list"),
    pytest.param({"subject": "x", "description": "y", "priority": 1}, {"priority"}, id="prio-int"),
    pytest.param({"subject": "x", "description": "y", "priority": None}, {"priority"}, id="null"),
    pytest.param({"subject": "x" * 10_000, "description": "y"}, {"subject"}, id="huge-subject"),
    pytest.param({"subject": "x", "description": "y" * 100_001}, {"description"}, id="huge-body"),
    pytest.param({"subject": "   ", "description": "y"}, {"subject"}, id="blank-subject"),
    pytest.param({"subject": "a\x00b", "description": "y"}, {"subject"}, id="nul-character"),
    pytest.param({"subject": "x", "description": "y", "product_area": "kitchen"}, {"product_area"}),
    pytest.param({"subject": "x", "description": "y", "attachments": "a.log"}, {"attachments"}),
    pytest.param(
        {"subject": "x", "description": "y", "attachments": [{"name": "a.log"}]}, {"attachments"}
    ),
    pytest.param({"subject": "x", "description": "y", "requester": 7}, {"requester"}, id="unknown"),
    pytest.param([{"subject": "x"}], {"non_field_errors"}, id="list-body"),
    pytest.param("just a string", {"non_field_errors"}, id="string-body"),
]


@pytest.mark.parametrize(("payload", "fields"), BAD_TICKETS)
def test_bad_ticket_input_is_a_400_naming_the_fields(cast, payload, fields):
    response = api_client(cast["requester_a"].user).post(LIST, payload, format="json")
    error = error_of(response, 400, "invalid")
    assert set(error["fields"]) == fields
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"subject": "x",', "application/json", 400, "parse_error"),
        (b'{"subject": "\\ud800", "description": "y"}', "application/json", 400, "parse_error"),
        (b"\xff\xfe", "application/json", 400, "parse_error"),
        (
            b"subject=x&description=y",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        (b"subject: x", "text/plain", 415, "unsupported_media_type"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400, "invalid"),
        (b"--x\r\nbroken", "multipart/form-data", 400, "parse_error"),
    ],
)
def test_unreadable_bodies_are_refused_in_the_error_shape(cast, body, content_type, status, code):
    response = api_client(cast["requester_a"].user).generic("POST", LIST, body, content_type)
    error_of(response, status, code)
    assert not Ticket.objects.exists()


# --- Replies -----------------------------------------------------------------------------------


def test_a_customer_replies_with_an_attachment(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["requester_a"].user).post(
        url(ticket, "replies/"),
        {"body": "Here is the log", "attachments": [SimpleUploadedFile("more.log", b"data")]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["body_text"], body["internal"], body["author_kind"]) == (
        "Here is the log",
        False,
        "customer",
    )
    assert body["channel"] == "api"
    assert [a["filename"] for a in body["attachments"]] == ["more.log"]
    assert ticket.messages.count() == 2


def test_an_agent_leaves_an_internal_note_the_customer_never_sees(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["agent_ber"].user).post(
        url(ticket, "replies/"), {"body": "Check the ingest node", "internal": True}
    )
    assert response.status_code == 201
    assert response.json()["internal"] is True
    assert Message.objects.get(pk=response.json()["id"]).visibility == "internal"
    customer_view = api_client(cast["requester_a"].user).get(url(ticket)).json()
    assert "Check the ingest node" not in [m["body_text"] for m in customer_view["messages"]]


def test_an_agent_reply_answers_the_first_response_clock(cast):
    ticket = file_ticket(cast["requester_a"], priority="p2")
    api_client(cast["agent_ber"].user).post(url(ticket, "replies/"), {"body": "Looking now"})
    ticket.refresh_from_db()
    assert ticket.first_response_met_at == NOW
    assert ticket.status == "open"


def test_customers_cannot_write_internal_notes(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["requester_a"].user).post(
        url(ticket, "replies/"), {"body": "psst", "internal": True}
    )
    error_of(response, 403, "permission_denied")
    assert ticket.messages.count() == 1


def test_a_reply_on_a_closed_ticket_is_refused_with_the_reason(cast):
    ticket = file_ticket(cast["requester_a"])
    ticket_change_status(ticket=ticket, status="closed", now=NOW, actor=cast["agent_ber"].user)
    response = api_client(cast["requester_a"].user).post(
        url(ticket, "replies/"), {"body": "Hello?"}
    )
    error = error_of(response, 400, "invalid")
    assert error["message"] == f"{ticket.reference} is closed; open a new ticket instead."
    assert error["fields"] == {}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": 12, "internal": "perhaps"}, "internal"),
        ({"body": "x", "attachments": ["a"]}, "attachments"),
        ({"body": "x", "visibility": "internal"}, "visibility"),
    ],
)
def test_bad_replies_are_a_400_naming_the_field(cast, payload, field):
    ticket = file_ticket(cast["requester_a"])
    error = error_of(
        api_client(cast["requester_a"].user).post(url(ticket, "replies/"), payload), 400, "invalid"
    )
    assert field in error["fields"]


# --- Status ------------------------------------------------------------------------------------


def test_a_customer_resolves_and_reopens_within_the_window(cast, time_machine):
    ticket = file_ticket(cast["requester_a"])
    client = api_client(cast["requester_a"].user)
    response = client.post(url(ticket, "status/"), {"status": "resolved"})
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["reopen_until"] == "2026-03-16T10:00:00Z"
    time_machine.move_to(NOW + timedelta(days=13), tick=False)
    response = client.post(url(ticket, "status/"), {"status": "open"})
    assert response.json()["status"] == "open"
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED).exists()


def test_a_customer_cannot_reopen_after_the_window(cast, time_machine, settings):
    settings.REOPEN_WINDOW_DAYS = 14
    ticket = file_ticket(cast["requester_a"])
    ticket_change_status(ticket=ticket, status="resolved", now=NOW, actor=cast["agent_ber"].user)
    time_machine.move_to(NOW + timedelta(days=15), tick=False)
    response = api_client(cast["requester_a"].user).post(url(ticket, "status/"), {"status": "open"})
    error = error_of(response, 400, "invalid")
    assert "can no longer be reopened" in error["fields"]["status"][0]


def test_customers_may_only_resolve_or_reopen(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["requester_a"].user).post(
        url(ticket, "status/"), {"status": "pending"}
    )
    error = error_of(response, 400, "invalid")
    assert error["fields"] == {
        "status": ["Customers can resolve a ticket or reopen a resolved one."]
    }


def test_agents_move_a_ticket_along_its_transitions(cast):
    ticket = file_ticket(cast["requester_a"])
    client = api_client(cast["agent_ber"].user)
    assert client.post(url(ticket, "status/"), {"status": "pending"}).json()["status"] == "pending"
    assert client.post(url(ticket, "status/"), {"status": "closed"}).json()["status"] == "closed"
    error = error_of(client.post(url(ticket, "status/"), {"status": "open"}), 400, "invalid")
    assert error["fields"]["status"] == [f"{ticket.reference} is closed and cannot change."]


@pytest.mark.parametrize(
    "payload", [{}, {"status": "asleep"}, {"status": ["open"]}, {"status": None}]
)
def test_a_bad_status_is_a_400_on_the_status_field(cast, payload):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["agent_ber"].user).post(
        url(ticket, "status/"), payload, format="json"
    )
    assert list(error_of(response, 400, "invalid")["fields"]) == ["status"]


def test_the_status_endpoint_takes_json_only(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["agent_ber"].user).post(
        url(ticket, "status/"), {"status": "open"}, format="multipart"
    )
    error_of(response, 415, "unsupported_media_type")


# --- Agent changes -----------------------------------------------------------------------------


def test_an_agent_changes_priority_and_the_clocks_follow(cast):
    ticket = file_ticket(cast["requester_a"], priority="p3")
    response = api_client(cast["agent_ber"].user).patch(url(ticket), {"priority": "p1"})
    assert response.status_code == 200, response.content
    clocks = {c["name"]: c for c in response.json()["sla"]["clocks"]}
    assert clocks["first_response"]["due_at"] == "2026-03-02T10:10:00Z"
    event = ticket.events.get(kind=TicketEvent.Kind.PRIORITY)
    assert (event.data["old"], event.data["new"], event.actor) == (
        "p3",
        "p1",
        cast["agent_ber"].user,
    )


def test_an_agent_assigns_a_team_and_an_agent_and_unassigns_again(cast):
    ticket = file_ticket(cast["requester_a"])
    l2 = Team.objects.get(name="Berlin L2")
    client = api_client(cast["lead_ber"].user)
    body = client.patch(url(ticket), {"team": l2.pk, "assignee": "max.l2"}).json()
    assert body["team"] == {"id": l2.pk, "name": "Berlin L2"}
    assert body["assignee"]["username"] == "max.l2"
    body = client.patch(url(ticket), {"assignee": None}, format="json").json()
    assert (body["team"]["id"], body["assignee"]) == (l2.pk, None)
    assert ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 2


def test_customers_may_not_patch_a_ticket_they_can_see(cast):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["org_admin_a"].user).patch(url(ticket), {"priority": "p1"})
    error = error_of(response, 403, "permission_denied")
    assert "Only agents" in error["message"]
    ticket.refresh_from_db()
    assert ticket.priority == "p3"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"priority": "p7"}, "priority"),
        ({"priority": []}, "priority"),
        ({"assignee": "nobody"}, "assignee"),
        ({"assignee": "rita.requester@acme.test"}, "assignee"),
        ({"assignee": {"username": "lena.agent"}}, "assignee"),
        ({"team": "Berlin L1"}, "team"),
        ({"team": 10**30}, "team"),
        ({"team": -1}, "team"),
        ({"status": "closed"}, "status"),
    ],
)
def test_bad_agent_changes_are_a_400_naming_the_field(cast, payload, field):
    ticket = file_ticket(cast["requester_a"])
    response = api_client(cast["agent_ber"].user).patch(url(ticket), payload, format="json")
    assert list(error_of(response, 400, "invalid")["fields"]) == [field]


def test_a_priority_outside_the_contract_is_refused_on_the_priority_field(cast):
    ticket = file_ticket(cast["requester_b"], priority="p2")
    response = api_client(cast["agent_sg"].user).patch(url(ticket), {"priority": "p1"})
    error = error_of(response, 400, "invalid")
    assert "does not cover P1" in error["fields"]["priority"][0]


def test_put_and_delete_are_not_allowed_on_a_ticket(cast):
    ticket = file_ticket(cast["requester_a"])
    client = api_client(cast["agent_ber"].user)
    error_of(client.put(url(ticket), {"priority": "p1"}), 405, "method_not_allowed")
    error_of(client.delete(url(ticket)), 405, "method_not_allowed")
    error_of(client.delete(LIST), 405, "method_not_allowed")


# --- Attachments -------------------------------------------------------------------------------


@pytest.fixture
def ticket_with_files(cast) -> Ticket:
    ticket = file_ticket(
        cast["requester_a"],
        attachments=[SimpleUploadedFile("trace.log", b"line 1\n", content_type="text/plain")],
    )
    ticket_reply(
        ticket=ticket,
        author=cast["agent_ber"].user,
        body_text="Internal analysis attached",
        internal=True,
        attachments=[SimpleUploadedFile("analysis.txt", b"secret")],
        now=NOW,
    )
    return ticket


def test_customers_list_the_attachments_of_the_public_conversation_only(cast, ticket_with_files):
    customer = (
        api_client(cast["requester_a"].user).get(url(ticket_with_files, "attachments/")).json()
    )
    assert [a["filename"] for a in customer] == ["trace.log"]
    staff = api_client(cast["agent_ber"].user).get(url(ticket_with_files, "attachments/")).json()
    assert [a["filename"] for a in staff] == ["trace.log", "analysis.txt"]
    assert staff[0]["download_url"] == (
        f"http://testserver{url(ticket_with_files)}attachments/{staff[0]['id']}/"
    )


def test_an_attachment_downloads_as_a_file(cast, ticket_with_files):
    attachment = ticket_with_files.attachments.get(filename="trace.log")
    response = api_client(cast["requester_a"].user).get(
        url(ticket_with_files, f"attachments/{attachment.pk}/"), HTTP_ACCEPT="text/plain"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"line 1\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="trace.log"'
    assert response["Content-Security-Policy"] == "sandbox"


def test_an_internal_notes_attachment_is_a_404_for_customers(cast, ticket_with_files):
    attachment = ticket_with_files.attachments.get(filename="analysis.txt")
    path = url(ticket_with_files, f"attachments/{attachment.pk}/")
    error_of(api_client(cast["requester_a"].user).get(path), 404, "not_found")
    assert api_client(cast["agent_ber"].user).get(path).status_code == 200


def test_an_attachment_of_another_ticket_is_a_404_under_this_one(cast, ticket_with_files):
    other = file_ticket(cast["requester_a"], attachments=[SimpleUploadedFile("o.log", b"o")])
    attachment = other.attachments.get()
    path = url(ticket_with_files, f"attachments/{attachment.pk}/")
    error_of(api_client(cast["requester_a"].user).get(path), 404, "not_found")


def test_an_attachment_whose_file_is_gone_is_a_404_not_a_crash(cast, ticket_with_files):
    attachment = ticket_with_files.attachments.get(filename="trace.log")
    attachment.file.storage.delete(attachment.file.name)
    path = url(ticket_with_files, f"attachments/{attachment.pk}/")
    error = error_of(api_client(cast["requester_a"].user).get(path), 404, "not_found")
    assert error["message"] == "The file of this attachment is no longer stored."


@pytest.mark.parametrize("attachment_id", ["999999", "99999999999999999999999", "abc", "-1"])
def test_unknown_attachment_ids_are_a_404(cast, ticket_with_files, attachment_id):
    path = url(ticket_with_files, f"attachments/{attachment_id}/")
    error_of(api_client(cast["agent_ber"].user).get(path), 404, "not_found")


def test_an_attachment_with_a_hostile_name_and_type_downloads_safely(cast, ticket_with_files):
    attachment = ticket_with_files.attachments.get(filename="trace.log")
    Attachment.objects.filter(pk=attachment.pk).update(
        filename='evil\r\nSet-Cookie: x=1; "a".html', content_type="text/html\r\nX-Evil: 1"
    )
    path = url(ticket_with_files, f"attachments/{attachment.pk}/")
    response = api_client(cast["requester_a"].user).get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "\n" not in response["Content-Disposition"]
    assert not response.has_header("Set-Cookie")
