"""Every API error has one shape: {"error": {"status", "code", "message", "fields"}}."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from rest_framework import exceptions
from rest_framework.test import APIClient

from contracts.services import ContractError
from portal.api.errors import exception_handler, refusal_as_field_error
from tickets.models import Ticket
from tickets.services import TicketError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("api_world")


def handled(exc: Exception) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("exc", "status", "code", "message", "fields"),
    [
        (TicketError("T-1 is closed."), 400, "invalid", "T-1 is closed.", {}),
        (ContractError("Only an admin signs."), 400, "invalid", "Only an admin signs.", {}),
        (
            DjangoValidationError({"subject": ["Too long."]}),
            400,
            "invalid",
            "subject: Too long.",
            {"subject": ["Too long."]},
        ),
        (DjangoValidationError("Nope."), 400, "invalid", "Nope.", {}),
        (
            exceptions.ValidationError({"a": ["x"], "b": {"0": ["y"]}}),
            400,
            "invalid",
            "Invalid input in a, b.",
            {"a": ["x"], "b": ["0: y"]},
        ),
        (
            exceptions.ValidationError({"non_field_errors": ["Send something."]}),
            400,
            "invalid",
            "Send something.",
            {"non_field_errors": ["Send something."]},
        ),
        (Http404("No such ticket."), 404, "not_found", "No such ticket.", {}),
        (Http404(), 404, "not_found", "Not found.", {}),
        (
            PermissionDenied(),
            403,
            "permission_denied",
            "You do not have permission to perform this action.",
            {},
        ),
        (RequestDataTooBig(), 413, "too_large", "The request body is too large.", {}),
        (TooManyFieldsSent(), 400, "parse_error", "The request could not be read.", {}),
        (
            exceptions.Throttled(wait=7),
            429,
            "throttled",
            "Request was throttled. Expected available in 7 seconds.",
            {},
        ),
    ],
)
def test_exceptions_become_the_one_error_shape(exc, status, code, message, fields):
    assert handled(exc) == (
        status,
        {"error": {"status": status, "code": code, "message": message, "fields": fields}},
    )


def test_a_refusal_about_one_input_becomes_that_fields_error():
    with pytest.raises(exceptions.ValidationError) as caught, refusal_as_field_error("status"):
        raise TicketError("Customers can resolve a ticket.")
    assert caught.value.detail == {"status": ["Customers can resolve a ticket."]}


def test_a_bug_is_left_to_djangos_500_handling():
    assert exception_handler(ValueError("bug"), {}) is None


def test_an_unknown_api_path_is_a_404_in_the_error_shape(db):
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert APIClient().post("/api/v1/tickets/MRD-1/frobnicate/").json()["error"]["status"] == 404


def test_a_wrong_method_is_a_405_in_the_error_shape(cast):
    client = APIClient()
    client.force_authenticate(cast["agent_ber"].user)
    response = client.post("/api/v1/contracts/", {})
    assert response.status_code == 405
    assert response.json()["error"] == {
        "status": 405,
        "code": "method_not_allowed",
        "message": 'Method "POST" not allowed.',
        "fields": {},
    }


def test_an_unsupported_content_type_is_a_415(cast):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    response = client.generic("POST", "/api/v1/tickets/", "<ticket/>", "application/xml")
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert response.status_code == 415


def test_a_json_body_over_the_upload_limit_is_a_413(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    response = client.post("/api/v1/tickets/", {"subject": "x", "description": "y" * 2000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Ticket.objects.exists()


def test_a_form_over_the_upload_limit_is_a_413_but_files_do_not_count(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    response = client.post(
        "/api/v1/tickets/", {"subject": "x", "description": "y" * 2000}, format="multipart"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    response = client.post(
        "/api/v1/tickets/",
        {
            "subject": "x",
            "description": "y",
            "attachments": [SimpleUploadedFile("big.log", b"z" * 5000)],
        },
        format="multipart",
    )
    assert response.status_code == 201


def test_an_accept_header_the_api_cannot_serve_is_a_406(cast):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    response = client.get("/api/v1/tickets/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/",
        "/api/v1/tickets/MRD-000001/",
        "/api/v1/tickets/MRD-000001/replies/",
        "/api/v1/contracts/",
        "/api/v1/organisation/",
    ],
)
def test_options_never_fails(cast, path):
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    assert client.options(path).status_code in (200, 404)
