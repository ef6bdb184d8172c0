"""Idempotency-Key: a retried create or reply returns the first response and writes nothing."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from conftest import api_client
from portal.models import IdempotencyKey
from portal.services import idempotency_keys_purge
from tickets.models import Message, Ticket
from tickets.services import ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICKETS = "/api/v1/tickets/"
NEW_TICKET = {"subject": "Ingest down", "description": "No frames since 09:55", "priority": "p1"}


pytestmark = pytest.mark.usefixtures("api_world")


def keyed(key: str) -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": key}


def test_the_same_key_twice_files_one_ticket_and_answers_the_same(cast):
    client = api_client(cast["requester_a"].user)
    first = client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    second = client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Ticket.objects.count() == 1
    record = IdempotencyKey.objects.get()
    assert (record.user, record.key, record.method, record.path, record.status) == (
        cast["requester_a"].user,
        "k-1",
        "POST",
        TICKETS,
        201,
    )


def test_a_replay_returns_the_first_response_even_after_the_ticket_changed(cast):
    client = api_client(cast["requester_a"].user)
    first = client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    Ticket.objects.update(subject="Renamed")
    assert client.post(TICKETS, NEW_TICKET, **keyed("k-1")).json()["subject"] == "Ingest down"
    assert first.json()["subject"] == "Ingest down"


def test_the_same_key_with_a_different_body_is_a_422(cast):
    client = api_client(cast["requester_a"].user)
    client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    response = client.post(TICKETS, {**NEW_TICKET, "priority": "p2"}, **keyed("k-1"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "already used for a different request" in error["message"]
    assert Ticket.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_a_422(cast):
    client = api_client(cast["requester_a"].user)
    ticket_ref = client.post(TICKETS, NEW_TICKET, **keyed("k-1")).json()["reference"]
    response = client.post(f"{TICKETS}{ticket_ref}/replies/", {"body": "More"}, **keyed("k-1"))
    assert response.status_code == 422
    assert Message.objects.count() == 1


def test_keys_are_per_user(cast):
    first = api_client(cast["requester_a"].user).post(TICKETS, NEW_TICKET, **keyed("shared"))
    second = api_client(cast["colleague_a"].user).post(TICKETS, NEW_TICKET, **keyed("shared"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["reference"] != second.json()["reference"]
    assert Ticket.objects.count() == 2


def test_without_a_key_every_request_files_a_ticket(cast):
    client = api_client(cast["requester_a"].user)
    client.post(TICKETS, NEW_TICKET)
    client.post(TICKETS, NEW_TICKET)
    assert Ticket.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_refused_request_is_not_remembered_so_the_fixed_one_may_use_the_key(cast):
    client = api_client(cast["requester_b"].user)  # Standard: no P1
    refused = client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    fixed = client.post(TICKETS, {**NEW_TICKET, "priority": "p2"}, **keyed("k-1"))
    assert fixed.status_code == 201
    assert Ticket.objects.count() == 1


def test_a_key_still_in_progress_is_a_409_and_files_nothing(cast):
    """The row a first request commits before it writes stops a concurrent duplicate."""
    client = api_client(cast["requester_a"].user)
    client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    IdempotencyKey.objects.update(status=None, response=None)  # as while the first runs
    response = client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert Ticket.objects.count() == 1


def test_a_key_may_be_used_again_after_24_hours(cast, time_machine):
    client = api_client(cast["requester_a"].user)
    client.post(TICKETS, NEW_TICKET, **keyed("k-1"))
    time_machine.move_to(NOW + timedelta(hours=23, minutes=59), tick=False)
    assert client.post(TICKETS, NEW_TICKET, **keyed("k-1"))["Idempotent-Replayed"] == "true"
    time_machine.move_to(NOW + timedelta(hours=24, minutes=1), tick=False)
    response = client.post(TICKETS, {**NEW_TICKET, "subject": "Again"}, **keyed("k-1"))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Ticket.objects.count() == 2
    assert IdempotencyKey.objects.get().created_at == NOW + timedelta(hours=24, minutes=1)


def test_expired_keys_are_purged(cast):
    client = api_client(cast["requester_a"].user)
    client.post(TICKETS, NEW_TICKET, **keyed("old"))
    assert idempotency_keys_purge(now=NOW + timedelta(hours=23)) == 0
    assert idempotency_keys_purge(now=NOW + timedelta(hours=24)) == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "caf\u00e9"])
def test_an_unusable_key_is_a_400_on_the_header(cast, key):
    response = api_client(cast["requester_a"].user).post(TICKETS, NEW_TICKET, **keyed(key))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert not Ticket.objects.exists()


def test_a_multipart_retry_with_the_same_files_is_a_replay_and_other_files_a_422(cast):
    client = api_client(cast["requester_a"].user)

    def send(content: bytes):
        files = [SimpleUploadedFile("trace.log", content)]
        return client.post(
            TICKETS, {**NEW_TICKET, "attachments": files}, format="multipart", **keyed("k-1")
        )

    first, again, other = send(b"abc"), send(b"abc"), send(b"abd")
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert Ticket.objects.count() == 1


def test_the_same_key_twice_adds_one_reply(cast):
    member = cast["requester_a"]
    ticket = ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="x",
        body_text="y",
        now=NOW,
    )
    client = api_client(cast["agent_ber"].user)
    path = f"{TICKETS}{ticket.reference}/replies/"
    first = client.post(path, {"body": "On it"}, **keyed("r-1"))
    second = client.post(path, {"body": "On it"}, **keyed("r-1"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert ticket.messages.count() == 2
    assert client.post(path, {"body": "Other"}, **keyed("r-1")).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_file_one_ticket(cast):
    """Several copies of one request at the same instant: one files, the others get the
    replay or a 409, never a second ticket."""
    user = cast["requester_a"].user
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        try:
            barrier.wait()
            response = api_client(user).post(TICKETS, NEW_TICKET, **keyed("race"))
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Ticket.objects.count() == 1
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
