"""Tenants are walls, checked over every URL of the site that takes an object id.

The list of such URLs is read from the URL configuration, so a new page or endpoint that takes an
id fails `test_every_url_that_takes_an_object_is_in_the_matrix` until it is added here.
"""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from contracts.models import ComplianceStatement
from tickets.services import ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# url name -> the requests to try: (method, payload)
PROBES: dict[str, list[tuple[str, dict | None]]] = {
    "tickets:detail": [("get", None)],
    "tickets:reply": [("post", {"body": "Let me in"})],
    "tickets:status": [("post", {"status": "resolved"})],
    "tickets:attachment": [("get", None)],
    "api-ticket-detail": [("get", None), ("patch", {"priority": "p2"})],
    "api-ticket-reply": [("post", {"body": "Let me in"})],
    "api-ticket-change-status": [("post", {"status": "resolved"})],
    "api-ticket-merge": [("post", {"duplicates": ["MRD-999999"]})],
    "api-ticket-root-cause": [("post", {"summary": "A bad deploy."})],
    "api-ticket-attachments": [("get", None)],
    "api-ticket-attachment-download": [("get", None)],
    "api-contract-detail": [("get", None)],
    "api-tier-detail": [("get", None)],
    "api-organisation-detail": [("get", None)],
    "api-statement-detail": [("get", None)],
}
TICKET_URLS = [name for name in PROBES if name.startswith(("tickets:", "api-ticket"))]
# Token-protected flows rather than objects of an organisation.
NOT_OBJECTS = {"password_reset_confirm"}


def url_names_with_parameters() -> set[str]:
    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = f"{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif pattern.pattern.regex.groups and pattern.name:
                yield namespace + pattern.name

    return set(walk(get_resolver().url_patterns)) - NOT_OBJECTS


def objects_of(member) -> dict[str, str]:
    ticket = ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Private",
        body_text="Only for us",
        now=NOW,
        attachments=[SimpleUploadedFile("private.log", b"secret")],
    )
    contract = member.organisation.contracts.get()
    statement = ComplianceStatement.objects.create(
        organisation=member.organisation,
        month=datetime(2026, 2, 1, tzinfo=UTC).date(),
        status="issued",
        generated_at=NOW,
        issued_at=NOW,
        content_hash="a" * 64,
    )
    return {
        "ticket": ticket.reference,
        "attachment": ticket.attachments.get().pk,
        "contract": contract.reference,
        "tier": contract.tier.code,
        "organisation": member.organisation.slug,
        "statement": statement.pk,
    }


def url_for(name: str, objects: dict) -> str:
    kwargs = {
        "tickets:detail": {"reference": objects["ticket"]},
        "tickets:reply": {"reference": objects["ticket"]},
        "tickets:status": {"reference": objects["ticket"]},
        "tickets:attachment": {
            "reference": objects["ticket"],
            "attachment_id": objects["attachment"],
        },
        "api-ticket-detail": {"reference": objects["ticket"]},
        "api-ticket-reply": {"reference": objects["ticket"]},
        "api-ticket-change-status": {"reference": objects["ticket"]},
        "api-ticket-merge": {"reference": objects["ticket"]},
        "api-ticket-root-cause": {"reference": objects["ticket"]},
        "api-ticket-attachments": {"reference": objects["ticket"]},
        "api-ticket-attachment-download": {
            "reference": objects["ticket"],
            "attachment_id": objects["attachment"],
        },
        "api-contract-detail": {"reference": objects["contract"]},
        "api-tier-detail": {"code": objects["tier"]},
        "api-organisation-detail": {"slug": objects["organisation"]},
        "api-statement-detail": {"pk": objects["statement"]},
    }[name]
    return reverse(name, kwargs=kwargs)


def request(user, name: str, method: str, payload: dict | None, objects: dict) -> int:
    url = url_for(name, objects)
    if name.startswith("api-"):
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(url, payload, format="json").status_code
    client = Client()
    client.force_login(user)
    return getattr(client, method)(url, payload or {}).status_code


@pytest.fixture(autouse=True)
def _still(media, time_machine):
    time_machine.move_to(NOW, tick=False)


def test_every_url_that_takes_an_object_is_in_the_matrix():
    assert url_names_with_parameters() == set(PROBES)


@pytest.mark.parametrize("name", sorted(PROBES))
@pytest.mark.parametrize("who", ["requester_a", "org_admin_a"])
def test_another_organisations_object_answers_404(name, who, cast):
    theirs = objects_of(cast["requester_b"])
    for method, payload in PROBES[name]:
        status = request(cast[who].user, name, method, payload, theirs)
        assert status == 404, (name, method, status)
    # The same request on the owner's side reaches the object: the URL itself is right
    # (statements are read by the organisation's admins).
    owner = cast["org_admin_b"] if "statement" in name else cast["requester_b"]
    method, payload = PROBES[name][0]
    assert request(owner.user, name, method, payload, theirs) != 404


@pytest.mark.parametrize("name", sorted(TICKET_URLS))
def test_a_colleagues_ticket_answers_404_unless_the_organisation_shares(name, cast):
    colleagues = objects_of(cast["colleague_a"])
    for method, payload in PROBES[name]:
        assert request(cast["requester_a"].user, name, method, payload, colleagues) == 404
    organisation = cast["org_a"]
    organisation.requesters_see_all_tickets = True
    organisation.save(update_fields=["requesters_see_all_tickets"])
    method, payload = PROBES[name][0]
    assert request(cast["requester_a"].user, name, method, payload, colleagues) != 404


@pytest.mark.parametrize("name", sorted(PROBES))
def test_agents_see_every_organisations_objects(name, cast):
    theirs = objects_of(cast["requester_b"])
    method, payload = PROBES[name][0]
    if name.startswith("tickets:") and name != "tickets:detail" and name != "tickets:attachment":
        pytest.skip("customer-only portal action")
    assert request(cast["agent_ber"].user, name, method, payload, theirs) != 404
