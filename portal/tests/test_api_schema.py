"""The OpenAPI schema is valid, complete, and says what the API really answers."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from conftest import api_client
from portal.models import IdempotencyKey, Team
from tickets.services import ticket_create, ticket_reply

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("api_world")


@pytest.fixture(scope="module")
def schema() -> dict:
    """The schema as served at /api/schema/ (JSON)."""
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def strict(node, components: dict):
    """`node` with every $ref inlined, and objects closed: a key the schema does not declare
    fails validation, as does a declared required key that is missing."""
    if isinstance(node, list):
        return [strict(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return strict(copy.deepcopy(components[name]), components)
    out = {key: strict(value, components) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.get("nullable") and "allOf" in out and "type" not in out:
        # OpenAPI 3.0 has no nullable $ref; drf-spectacular (like most generators and Swagger
        # UI) writes `allOf: [$ref]` + `nullable: true` for "this object or null".
        return {"anyOf": [{k: v for k, v in out.items() if k != "nullable"}, {"enum": [None]}]}
    return out


def check(schema: dict, response, path: str, method: str = "get") -> dict:
    """Validate a real response against what the schema declares for it; return its body."""
    declared = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in declared, (
        f"{method.upper()} {path} answered {response.status_code}, which the schema does not "
        f"declare ({', '.join(declared)})"
    )
    content = declared[str(response.status_code)]["content"]["application/json"]["schema"]
    body = response.json()
    OAS30ReadValidator(strict(content, schema["components"]["schemas"])).validate(body)
    return body


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.0")
    validate(schema)


def test_the_schema_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors"


def test_the_schema_documents_every_endpoint(schema):
    assert sorted(schema["paths"]) == [
        "/api/v1/contracts/",
        "/api/v1/contracts/{reference}/",
        "/api/v1/inbound/email/",
        "/api/v1/organisation/",
        "/api/v1/organisations/",
        "/api/v1/organisations/{slug}/",
        "/api/v1/statements/",
        "/api/v1/statements/{id}/",
        "/api/v1/tickets/",
        "/api/v1/tickets/{reference}/",
        "/api/v1/tickets/{reference}/attachments/",
        "/api/v1/tickets/{reference}/attachments/{attachment_id}/",
        "/api/v1/tickets/{reference}/merge/",
        "/api/v1/tickets/{reference}/replies/",
        "/api/v1/tickets/{reference}/root-cause/",
        "/api/v1/tickets/{reference}/status/",
        "/api/v1/tiers/",
        "/api/v1/tiers/{code}/",
    ]
    schemes = set(schema["components"]["securitySchemes"])
    assert schemes == {"tokenAuth", "cookieAuth", "mailboxToken"}


def test_writes_document_json_multipart_and_the_idempotency_key(schema):
    for path in ("/api/v1/tickets/", "/api/v1/tickets/{reference}/replies/"):
        operation = schema["paths"][path]["post"]
        assert set(operation["requestBody"]["content"]) == {
            "application/json",
            "multipart/form-data",
        }
        multipart = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        files = schema["components"]["schemas"][multipart["$ref"].split("/")[-1]]
        assert files["properties"]["attachments"]["items"]["format"] == "binary"
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key"
        assert {"409", "422", "429"} <= set(operation["responses"])


def test_the_list_documents_its_filters_and_cursor_pagination(schema):
    operation = schema["paths"]["/api/v1/tickets/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "status",
        "priority",
        "updated_since",
        "ordering",
        "team",
        "assignee",
        "sla",
        "cursor",
        "page_size",
    }
    sla = next(p for p in operation["parameters"] if p["name"] == "sla")
    assert sla["schema"]["enum"] == ["breached", "at_risk", "ok", "paused", "none"]
    page = schema["components"]["schemas"]["PaginatedTicketSummaryList"]
    assert set(page["properties"]) == {"next", "previous", "results"}


def test_every_error_response_has_the_one_error_shape(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (method, path, status)


# --- Real responses against the schema -----------------------------------------------------------


@pytest.fixture
def ticket(cast):
    ticket = ticket_create(
        organisation=cast["org_a"],
        requester=cast["requester_a"],
        channel="web",
        subject="Stream drops",
        body_text="Every hour",
        priority="p2",
        attachments=[SimpleUploadedFile("trace.log", b"abc")],
        now=NOW,
    )
    ticket_reply(ticket=ticket, author=cast["agent_ber"].user, body_text="On it", now=NOW)
    ticket_reply(
        ticket=ticket, author=cast["agent_ber"].user, body_text="L2?", internal=True, now=NOW
    )
    return ticket


def test_ticket_reads_match_the_schema_field_for_field(schema, cast, ticket):
    customer = api_client(cast["requester_a"].user)
    page = check(schema, customer.get("/api/v1/tickets/"), "/api/v1/tickets/")
    assert len(page["results"]) == 1
    detail_path = f"/api/v1/tickets/{ticket.reference}/"
    body = check(schema, customer.get(detail_path), "/api/v1/tickets/{reference}/")
    declared = schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert set(body) == set(declared)
    assert set(body["sla"]["clocks"][0]) == set(
        schema["components"]["schemas"]["Clock"]["properties"]
    )
    staff = api_client(cast["agent_ber"].user)
    check(schema, staff.get(detail_path), "/api/v1/tickets/{reference}/")
    check(
        schema,
        staff.get(f"{detail_path}attachments/"),
        "/api/v1/tickets/{reference}/attachments/",
    )


def test_a_ticket_without_sla_matches_the_schema(schema, cast):
    ticket = ticket_create(
        organisation=cast["org_b"],
        requester=cast["requester_b"],
        channel="web",
        subject="Before the contract",
        body_text="x",
        now=datetime(2025, 11, 3, 4, 0, tzinfo=UTC),
    )
    response = api_client(cast["requester_b"].user).get(f"/api/v1/tickets/{ticket.reference}/")
    assert check(schema, response, "/api/v1/tickets/{reference}/")["sla"] is None


def test_ticket_writes_match_the_schema(schema, cast, ticket):
    customer = api_client(cast["requester_a"].user)
    created = customer.post(
        "/api/v1/tickets/",
        {"subject": "New", "description": "x", "attachments": [SimpleUploadedFile("a.log", b"a")]},
        format="multipart",
    )
    check(schema, created, "/api/v1/tickets/", "post")
    reply = customer.post(
        f"/api/v1/tickets/{ticket.reference}/replies/", {"body": "Thanks"}, HTTP_IDEMPOTENCY_KEY="k"
    )
    check(schema, reply, "/api/v1/tickets/{reference}/replies/", "post")
    assert IdempotencyKey.objects.get().response == reply.json()
    resolved = customer.post(f"/api/v1/tickets/{ticket.reference}/status/", {"status": "resolved"})
    check(schema, resolved, "/api/v1/tickets/{reference}/status/", "post")
    patched = api_client(cast["lead_ber"].user).patch(
        f"/api/v1/tickets/{ticket.reference}/",
        {"assignee": "lena.agent", "team": Team.objects.get(name="Berlin L1").pk},
    )
    assert patched.json()["assignee"]["username"] == "lena.agent"
    check(schema, patched, "/api/v1/tickets/{reference}/", "patch")


def test_contract_tier_and_organisation_reads_match_the_schema(schema, cast):
    customer = api_client(cast["org_admin_a"].user)
    for path, template in [
        ("/api/v1/contracts/", "/api/v1/contracts/"),
        ("/api/v1/contracts/CT-A-1/", "/api/v1/contracts/{reference}/"),
        ("/api/v1/tiers/", "/api/v1/tiers/"),
        ("/api/v1/tiers/enterprise/", "/api/v1/tiers/{code}/"),
        ("/api/v1/organisation/", "/api/v1/organisation/"),
        ("/api/v1/organisations/", "/api/v1/organisations/"),
        ("/api/v1/organisations/acme/", "/api/v1/organisations/{slug}/"),
    ]:
        check(schema, customer.get(path), template)


def test_errors_match_the_schema(schema, cast, ticket, settings, time_machine):
    customer = api_client(cast["requester_a"].user)
    detail = f"/api/v1/tickets/{ticket.reference}/"
    check(schema, APIClient().get("/api/v1/tickets/"), "/api/v1/tickets/")  # 401
    check(schema, customer.get("/api/v1/tickets/", {"status": "x"}), "/api/v1/tickets/")  # 400
    check(schema, customer.get("/api/v1/tickets/MRD-999999/"), "/api/v1/tickets/{reference}/")
    check(
        schema, customer.patch(detail, {"priority": "p1"}), "/api/v1/tickets/{reference}/", "patch"
    )
    check(
        schema,
        customer.generic("POST", "/api/v1/tickets/", "x", "text/plain"),
        "/api/v1/tickets/",
        "post",
    )  # 415
    customer.post(
        "/api/v1/tickets/", {"subject": "a", "description": "b"}, HTTP_IDEMPOTENCY_KEY="z"
    )
    reused = customer.post(
        "/api/v1/tickets/", {"subject": "c", "description": "d"}, HTTP_IDEMPOTENCY_KEY="z"
    )
    check(schema, reused, "/api/v1/tickets/", "post")  # 422
    IdempotencyKey.objects.update(status=None, response=None)
    again = customer.post(
        "/api/v1/tickets/", {"subject": "a", "description": "b"}, HTTP_IDEMPOTENCY_KEY="z"
    )
    check(schema, again, "/api/v1/tickets/", "post")  # 409
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"writes": "1/hour"},
    }
    cache.clear()
    time_machine.shift(timedelta(seconds=1))
    customer.post(f"{detail}replies/", {"body": "one"})
    throttled = customer.post(f"{detail}replies/", {"body": "two"})
    assert throttled.status_code == 429
    check(schema, throttled, "/api/v1/tickets/{reference}/replies/", "post")
