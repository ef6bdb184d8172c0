"""The tenant wall: another organisation's objects answer 404 on every endpoint that takes an
id, exactly like objects that do not exist; so does a colleague's ticket unless the organisation
shares tickets. One line per endpoint."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from portal.models import Member, Organisation
from tickets.models import Message, Ticket
from tickets.services import ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # placeholders: {ticket}, {attachment}, {contract}, {tier}, {organisation}
    payload: dict | None = None
    owner_status: int = 200  # what a member of the object's own organisation gets

    def call(self, user, objects: dict):
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, self.method)(
            self.path.format(**objects), self.payload, format="json"
        )


TICKET_ENDPOINTS = {
    "ticket detail": Endpoint("get", "/api/v1/tickets/{ticket}/"),
    "ticket patch": Endpoint("patch", "/api/v1/tickets/{ticket}/", {"priority": "p2"}, 403),
    "ticket reply": Endpoint("post", "/api/v1/tickets/{ticket}/replies/", {"body": "Hi"}, 201),
    "ticket status": Endpoint("post", "/api/v1/tickets/{ticket}/status/", {"status": "resolved"}),
    "attachment list": Endpoint("get", "/api/v1/tickets/{ticket}/attachments/"),
    "attachment file": Endpoint("get", "/api/v1/tickets/{ticket}/attachments/{attachment}/"),
}
ENDPOINTS = {
    **TICKET_ENDPOINTS,
    "contract detail": Endpoint("get", "/api/v1/contracts/{contract}/"),
    "tier detail": Endpoint("get", "/api/v1/tiers/{tier}/"),
    "organisation detail": Endpoint("get", "/api/v1/organisations/{organisation}/"),
}


pytestmark = pytest.mark.usefixtures("api_world")


def objects_of(member: Member) -> dict[str, str]:
    """A ticket of `member` with an attachment, and their organisation's contract and tier."""
    ticket = ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Private matter",
        body_text="Only for us",
        attachments=[SimpleUploadedFile("private.log", b"secret")],
        now=NOW,
    )
    contract = member.organisation.contracts.get()
    return {
        "ticket": ticket.reference,
        "attachment": str(ticket.attachments.get().pk),
        "contract": contract.reference,
        "tier": contract.tier.code,
        "organisation": member.organisation.slug,
    }


def assert_untouched(reference: str) -> None:
    ticket = Ticket.objects.get(reference=reference)
    assert (ticket.status, ticket.priority) == ("new", "p3")
    assert Message.objects.filter(ticket=ticket).count() == 1


@pytest.mark.parametrize("caller", ["requester_a", "org_admin_a"])
@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_another_organisations_object_is_a_404(cast, caller, endpoint):
    theirs = objects_of(cast["requester_b"])
    response = endpoint.call(cast[caller].user, theirs)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert_untouched(theirs["ticket"])


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_the_objects_own_organisation_reaches_it(cast, endpoint):
    """The control: the same calls by the owner are not 404s, so the wall is what refuses."""
    theirs = objects_of(cast["requester_b"])
    response = endpoint.call(cast["requester_b"].user, theirs)
    assert response.status_code == endpoint.owner_status, response.content


@pytest.mark.parametrize("endpoint", TICKET_ENDPOINTS.values(), ids=TICKET_ENDPOINTS.keys())
def test_a_colleagues_ticket_is_a_404_unless_the_organisation_shares(cast, endpoint):
    colleagues = objects_of(cast["colleague_a"])
    response = endpoint.call(cast["requester_a"].user, colleagues)
    assert response.status_code == 404, response.content
    assert_untouched(colleagues["ticket"])
    Organisation.objects.filter(pk=cast["org_a"].pk).update(requesters_see_all_tickets=True)
    requester = type(cast["requester_a"].user).objects.get(pk=cast["requester_a"].user.pk)
    response = endpoint.call(requester, colleagues)
    assert response.status_code == endpoint.owner_status, response.content


@pytest.mark.parametrize("endpoint", TICKET_ENDPOINTS.values(), ids=TICKET_ENDPOINTS.keys())
def test_an_org_admin_reaches_every_ticket_of_the_organisation(cast, endpoint):
    colleagues = objects_of(cast["colleague_a"])
    response = endpoint.call(cast["org_admin_a"].user, colleagues)
    assert response.status_code == endpoint.owner_status, response.content


def test_a_ticket_that_does_not_exist_answers_exactly_like_a_foreign_one(cast):
    theirs = objects_of(cast["requester_b"])
    client = APIClient()
    client.force_authenticate(cast["requester_a"].user)
    foreign = client.get(f"/api/v1/tickets/{theirs['ticket']}/")
    missing = client.get("/api/v1/tickets/MRD-999999/")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
