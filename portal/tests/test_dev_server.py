"""The API over HTTP against the server `make run` starts (Django's development server, in a
process of its own): what the test client cannot see, such as a header value the server
refuses, shows here."""

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token

from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict

    def error(self) -> dict:
        return self.body["error"]


def call(
    base: str,
    method: str,
    path: str,
    *,
    token: str,
    data: dict | None = None,
    files: dict[str, tuple[str, bytes]] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One HTTP request; JSON, or multipart/form-data when there are files."""
    sent = {"Authorization": f"Token {token}", "Accept": "application/json", **(headers or {})}
    payload = None
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (data or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        payload = b"".join(parts) + f"--{boundary}--\r\n".encode()
        sent["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif data is not None:
        payload = json.dumps(data).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        base + path, data=payload, method=method, headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Answer(response.status, dict(response.headers), json.loads(response.read()))
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, dict(refused.headers), json.loads(refused.read()))


@pytest.fixture
def tokens(cast):
    return {
        name: Token.objects.create(user=cast[name].user).key
        for name in ("requester_a", "requester_b", "agent_ber")
    }


def test_filing_a_ticket_answers_201_with_its_location(dev_server, tokens):
    created = call(
        dev_server,
        "POST",
        "/api/v1/tickets/",
        token=tokens["requester_a"],
        data={"subject": "Stream stalls", "description": "Every 10 minutes.", "priority": "p2"},
    )
    assert created.status == 201, created.body
    assert created.headers["Location"] == created.body["url"]
    assert created.headers["Location"].endswith(f"/api/v1/tickets/{created.body['reference']}/")
    assert Ticket.objects.get().reference == created.body["reference"]
    again = call(
        dev_server, "GET", created.body["url"][len(dev_server) :], token=tokens["requester_a"]
    )
    assert again.status == 200
    assert again.body["sla"]["clocks"][0]["name"] == "first_response"


def test_a_retried_filing_with_a_key_replays_the_answer_and_files_once(dev_server, tokens):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    data = {"subject": "Audio drops", "description": "Since 9:00.", "priority": "p3"}
    first = call(
        dev_server, "POST", "/api/v1/tickets/", token=tokens["requester_a"], data=data, headers=key
    )
    second = call(
        dev_server, "POST", "/api/v1/tickets/", token=tokens["requester_a"], data=data, headers=key
    )
    assert (first.status, second.status) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert Ticket.objects.count() == 1


def test_replies_with_a_file_status_changes_and_agent_edits_over_http(dev_server, tokens, cast):
    created = call(
        dev_server,
        "POST",
        "/api/v1/tickets/",
        token=tokens["requester_a"],
        data={"subject": "Stream stalls", "description": "Every 10 minutes.", "priority": "p2"},
    )
    path = f"/api/v1/tickets/{created.body['reference']}/"
    reply = call(
        dev_server,
        "POST",
        path + "replies/",
        token=tokens["requester_a"],
        data={"body": "Trace attached."},
        files={"attachments": ("trace.log", b"09:01 buffer underrun\n")},
    )
    assert reply.status == 201, reply.body
    assert [a["filename"] for a in reply.body["attachments"]] == ["trace.log"]
    edited = call(
        dev_server,
        "PATCH",
        path,
        token=tokens["agent_ber"],
        data={"priority": "p1", "assignee": cast["agent_ber"].user.username},
    )
    assert edited.status == 200, edited.body
    assert (edited.body["priority"], edited.body["assignee"]["username"]) == (
        "p1",
        cast["agent_ber"].user.username,
    )
    resolved = call(
        dev_server,
        "POST",
        path + "status/",
        token=tokens["requester_a"],
        data={"status": "resolved"},
    )
    assert resolved.status == 200
    assert resolved.body["status"] == "resolved"


def test_refusals_keep_the_one_error_shape_over_http(dev_server, tokens, cast):
    created = call(
        dev_server,
        "POST",
        "/api/v1/tickets/",
        token=tokens["requester_b"],
        data={"subject": "Down", "description": "All down.", "priority": "p1"},
    )
    assert created.status == 400
    assert created.error()["fields"] == {
        "priority": ["The Standard contract does not cover P1; choose one of P2, P3, P4."]
    }
    hidden = call(dev_server, "GET", "/api/v1/tickets/MRD-999999/", token=tokens["requester_b"])
    assert (hidden.status, hidden.error()["code"]) == (404, "not_found")
    assert not Ticket.objects.exists()
