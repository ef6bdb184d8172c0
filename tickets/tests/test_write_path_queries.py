"""The write path's SQL, pinned: filing a ticket, replying and changing its status cost the same
few queries through the API and the portal, whatever the number of tickets (at most 12 each;
`bench/create.py` measures their time). A new ticket and a resolution include the INSERT of the
email they owe the customer (the outbox row; the email is sent after commit).

Transactional, as in production: each write is its own transaction (BEGIN and COMMIT are
counted), and the calendar version a first ticket freezes is known to every later one.
"""

import pytest
from django.urls import reverse

from conftest import api_client
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]

TICKET = {"subject": "Stream stalls", "description": "Every ten minutes.", "priority": "p2"}


@pytest.fixture
def customer(cast, client):
    """A requester with an API token and a portal session, after a first ticket each way (the
    one that freezes the calendar version the others use)."""
    member = cast["requester_a"]
    api = api_client(member.user, token=True)
    assert api.post("/api/v1/tickets/", TICKET, format="json").status_code == 201
    portal = client
    portal.force_login(member.user)
    assert (
        portal.post(reverse("tickets:new"), {**TICKET, "product_area": "other"}).status_code == 302
    )
    return api, portal


def test_filing_a_ticket_through_the_api(customer, django_assert_num_queries):
    api, _ = customer
    # Token with its user and profile; contract; calendar; BEGIN; reference; ticket; message;
    # events; the acknowledgement; COMMIT. The answer shows the ticket as written: nothing is
    # read back.
    with django_assert_num_queries(10):
        response = api.post("/api/v1/tickets/", TICKET, format="json")
    assert response.status_code == 201


def test_filing_a_ticket_through_the_portal(customer, django_assert_num_queries):
    _, portal = customer
    # Session; user with its profile; contract; calendar; BEGIN; reference; ticket; message;
    # events; the acknowledgement; COMMIT.
    with django_assert_num_queries(11):
        response = portal.post(reverse("tickets:new"), {**TICKET, "product_area": "other"})
    assert response.status_code == 302


def test_replying_through_the_api_and_the_portal(customer, django_assert_num_queries):
    api, portal = customer
    reference = Ticket.objects.order_by("pk").first().reference
    # Token; ticket; BEGIN; lock; message; ticket; events; COMMIT; the message as shown
    # (with its attachments).
    with django_assert_num_queries(10):
        response = api.post(f"/api/v1/tickets/{reference}/replies/", {"body": "More."})
    assert response.status_code == 201
    # Session; user; ticket; BEGIN; lock; message; ticket; events; COMMIT.
    with django_assert_num_queries(9):
        response = portal.post(reverse("tickets:reply", args=[reference]), {"body": "More."})
    assert response.status_code == 302


def test_changing_the_status_through_the_api_and_the_portal(customer, django_assert_num_queries):
    api, portal = customer
    first, second = Ticket.objects.order_by("pk")[:2]
    # Token; ticket; BEGIN; lock; ticket; events; the "resolved" email; COMMIT; the
    # conversation as shown (messages, attachments).
    with django_assert_num_queries(10):
        response = api.post(
            f"/api/v1/tickets/{first.reference}/status/", {"status": "resolved"}, format="json"
        )
    assert response.status_code == 200
    # Session; user; ticket; BEGIN; lock; ticket; events; the requester's address and the
    # "resolved" email; COMMIT.
    with django_assert_num_queries(10):
        response = portal.post(
            reverse("tickets:status", args=[second.reference]), {"status": "resolved"}
        )
    assert response.status_code == 302


@pytest.mark.parametrize("tickets_before", [0, 40])
def test_the_count_does_not_grow_with_the_tickets(
    customer, tickets_before, django_assert_num_queries
):
    api, _ = customer
    for _ in range(tickets_before):
        api.post("/api/v1/tickets/", TICKET, format="json")
    with django_assert_num_queries(10):
        api.post("/api/v1/tickets/", TICKET, format="json")
