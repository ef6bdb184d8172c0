from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from tickets.models import Message, PhoneCall, Ticket, TicketEvent
from tickets.services import references_reserve, ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def ticket(org_a, requester_a):
    return ticket_create(
        organisation=org_a,
        requester=requester_a,
        channel=Ticket.Channel.WEB,
        subject="Stream buffering",
        body_text="Viewers see buffering.",
        now=NOW,
    )


def test_references_are_consecutive_and_formatted(db):
    first = references_reserve(count=3)
    second = references_reserve(count=1)
    numbers = [int(ref.removeprefix("MRD-")) for ref in first + second]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert all(len(ref) == len("MRD-000123") for ref in first + second)


def test_ticket_references_are_unique(ticket, org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            reference=ticket.reference,
            organisation=org_a,
            channel="web",
            subject="x",
            region=org_a.home_region,
            created_at=NOW,
            updated_at=NOW,
        )


def test_ticket_events_cannot_be_changed(ticket):
    event = ticket.events.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).update(kind=TicketEvent.Kind.BREACH)
    event.refresh_from_db()
    assert event.kind == TicketEvent.Kind.CREATED


@pytest.mark.parametrize(
    ("field", "value"),
    [("priority", "p0"), ("status", "waiting"), ("channel", "fax")],
)
def test_sla_columns_only_take_known_values(ticket, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(**{field: value})


def test_a_resolved_ticket_knows_when_it_was_resolved(ticket):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.RESOLVED)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.RESOLVED, resolved_at=NOW)
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.RESOLVED


def test_internal_notes_are_written_by_agents_only(ticket, requester_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket,
            author=requester_a.user,
            author_kind=Message.AuthorKind.CUSTOMER,
            visibility=Message.Visibility.INTERNAL,
            channel="web",
            body_text="psst",
            created_at=NOW,
        )


def test_an_email_message_id_is_stored_once(ticket):
    Message.objects.create(
        ticket=ticket,
        author_kind=Message.AuthorKind.CUSTOMER,
        channel="email",
        body_text="hello",
        email_message_id="<abc@acme.test>",
        created_at=NOW,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket,
            author_kind=Message.AuthorKind.CUSTOMER,
            channel="email",
            body_text="hello again",
            email_message_id="<abc@acme.test>",
            created_at=NOW,
        )


def test_a_phone_call_cannot_last_less_than_nothing(ticket, agent_ber):

    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneCall.objects.create(
            ticket=ticket,
            agent=agent_ber.user,
            caller_name="Rita",
            phone_number="+4930123",
            direction="inbound",
            started_at=NOW,
            duration=timedelta(seconds=-1),
            summary="?",
            created_at=NOW,
        )


def test_open_and_breached_querysets(ticket):
    assert list(Ticket.objects.open()) == [ticket]
    assert list(Ticket.objects.breached()) == []
    Ticket.objects.filter(pk=ticket.pk).update(first_response_breached_at=NOW)
    assert list(Ticket.objects.breached()) == [ticket]
