"""Who gets into the API and how often they may write: tokens, sessions, throttling."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import error_of
from portal.models import Member
from tickets.models import Ticket
from tickets.services import ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICKETS = "/api/v1/tickets/"
NEW_TICKET = {"subject": "Ingest down", "description": "No frames"}


pytestmark = pytest.mark.usefixtures("api_world")


def token_for(member: Member) -> str:
    return Token.objects.create(user=member.user).key


@pytest.mark.parametrize(
    "path",
    [
        TICKETS,
        "/api/v1/tickets/MRD-000001/",
        "/api/v1/contracts/",
        "/api/v1/tiers/",
        "/api/v1/organisation/",
        "/api/v1/organisations/",
    ],
)
def test_without_credentials_every_endpoint_is_a_401_asking_for_a_token(db, path):
    response = APIClient().get(path)
    error = error_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert error["message"] == "Authentication credentials were not provided."


def test_a_write_without_credentials_is_a_401_and_creates_nothing(db):
    response = APIClient().post(TICKETS, NEW_TICKET)
    error_of(response, 401, "not_authenticated")
    assert not Ticket.objects.exists()


def test_a_token_authenticates_reads_and_writes(cast):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(cast['requester_a'])}")
    assert client.get(TICKETS).status_code == 200
    response = client.post(TICKETS, NEW_TICKET)
    assert response.status_code == 201
    assert Ticket.objects.get().requester == cast["requester_a"]


@pytest.mark.parametrize(
    "header", ["Token not-a-real-key", "Token", "Token a b", "Bearer abc", "Token \u00e9"]
)
def test_a_wrong_token_is_a_401(cast, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(TICKETS)
    if header.startswith("Bearer"):
        error_of(response, 401, "not_authenticated")  # not a token at all: no credentials
    else:
        error_of(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_no_longer_works(cast):
    key = token_for(cast["requester_a"])
    Token.objects.filter(key=key).delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    error_of(client.get(TICKETS), 401, "authentication_failed")


def test_a_token_of_a_deactivated_user_is_refused(cast):
    key = token_for(cast["requester_a"])
    cast["requester_a"].user.is_active = False
    cast["requester_a"].user.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    error_of(client.get(TICKETS), 401, "authentication_failed")


def test_a_session_authenticates_the_api_too(cast):
    client = APIClient()
    client.force_login(cast["requester_a"].user)
    assert client.get(TICKETS).status_code == 200


def test_a_session_write_needs_the_csrf_token(cast):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast["requester_a"].user)
    error = error_of(client.post(TICKETS, NEW_TICKET, format="json"), 403, "permission_denied")
    assert "CSRF" in error["message"]
    assert not Ticket.objects.exists()
    # The token the site's pages carry, as a header.
    csrf = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = csrf
    response = client.post(TICKETS, NEW_TICKET, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201


def test_a_token_write_needs_no_csrf_token(cast):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(cast['requester_a'])}")
    assert client.post(TICKETS, NEW_TICKET, format="json").status_code == 201


def test_instants_are_utc_whatever_the_viewers_time_zone(cast):
    member = cast["requester_a"]
    assert member.time_zone == "Europe/Berlin"
    ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="x",
        body_text="y",
        now=NOW,
    )
    client = APIClient()
    client.force_login(member.user)  # the site's middleware activates Europe/Berlin
    (row,) = client.get(TICKETS).json()["results"]
    assert row["created_at"] == "2026-03-02T10:00:00Z"


# --- Throttling ----------------------------------------------------------------------------------


@pytest.fixture
def two_writes_a_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"writes": "2/minute"},
    }
    cache.clear()


def test_writes_beyond_the_rate_are_a_429_with_retry_after(cast, two_writes_a_minute):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    assert [client.post(TICKETS, NEW_TICKET).status_code for _ in range(2)] == [201, 201]
    response = client.post(TICKETS, NEW_TICKET)
    error = error_of(response, 429, "throttled")
    assert response["Retry-After"] == "60"
    assert "throttled" in error["message"]
    assert Ticket.objects.count() == 2


def test_reads_are_not_counted_against_the_write_rate(cast, two_writes_a_minute):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    assert {client.get(TICKETS).status_code for _ in range(5)} == {200}
    assert client.post(TICKETS, NEW_TICKET).status_code == 201


def test_the_write_rate_is_per_user(cast, two_writes_a_minute):
    first, second = APIClient(), APIClient()
    first.force_authenticate(cast["requester_a"].user)
    second.force_authenticate(cast["colleague_a"].user)
    for _ in range(2):
        first.post(TICKETS, NEW_TICKET)
    error_of(first.post(TICKETS, NEW_TICKET), 429, "throttled")
    assert second.post(TICKETS, NEW_TICKET).status_code == 201


def test_the_write_rate_frees_up_after_its_period(cast, two_writes_a_minute, time_machine):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    for _ in range(2):
        client.post(TICKETS, NEW_TICKET)
    error_of(client.post(TICKETS, NEW_TICKET), 429, "throttled")
    time_machine.shift(61)
    assert client.post(TICKETS, NEW_TICKET).status_code == 201
