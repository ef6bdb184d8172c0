from datetime import UTC, datetime, timedelta

import pytest

from tickets.models import Message, PhoneCall, Ticket, TicketEvent
from tickets.services import (
    TicketError,
    call_log,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def ticket(org_a, requester_a):
    return ticket_create(
        organisation=org_a,
        requester=requester_a,
        channel=Ticket.Channel.WEB,
        subject="  Stream buffering  ",
        body_text="Viewers see buffering.",
        body_html='<p onclick="steal()">Viewers <b>see</b> buffering<script>x()</script></p>',
        now=NOW,
    )


def test_creating_a_ticket_records_its_first_message_and_event(ticket, requester_a):
    assert ticket.reference.startswith("MRD-")
    assert ticket.subject == "Stream buffering"
    assert ticket.status == Ticket.Status.NEW
    assert ticket.region == requester_a.organisation.home_region
    message = ticket.messages.get()
    assert message.author == requester_a.user
    assert message.author_kind == Message.AuthorKind.CUSTOMER
    assert message.body_html == "<p>Viewers <b>see</b> buffering</p>"
    event = ticket.events.get()
    assert (event.kind, event.at) == (TicketEvent.Kind.CREATED, NOW)


def test_a_requester_of_another_organisation_is_refused(org_a, requester_b):
    with pytest.raises(TicketError, match="another organisation"):
        ticket_create(
            organisation=org_a,
            requester=requester_b,
            channel="web",
            subject="x",
            body_text="y",
            now=NOW,
        )
    assert not Ticket.objects.exists()


def test_a_ticket_needs_subject_and_description(org_a, requester_a):
    with pytest.raises(TicketError, match="subject"):
        ticket_create(
            organisation=org_a,
            requester=requester_a,
            channel="web",
            subject=" ",
            body_text="y",
            now=NOW,
        )
    with pytest.raises(TicketError, match="description"):
        ticket_create(
            organisation=org_a,
            requester=requester_a,
            channel="web",
            subject="x",
            body_text="\n",
            now=NOW,
        )


def test_agent_reply_customer_reply_and_internal_note_are_told_apart(
    ticket, agent_ber, requester_a
):
    later = NOW + timedelta(minutes=5)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Looking", now=later)
    ticket_reply(ticket=ticket, author=requester_a.user, body_text="Thanks", now=later)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Hmm", now=later, internal=True)
    kinds = list(ticket.events.values_list("kind", flat=True))
    # The agent's first public reply also opens the new ticket.
    assert kinds == ["created", "responded", "status", "message", "note"]
    visibility = list(ticket.messages.values_list("author_kind", "visibility"))
    assert visibility[1:] == [("agent", "public"), ("customer", "public"), ("agent", "internal")]
    ticket.refresh_from_db()
    assert ticket.updated_at == later


def test_customers_cannot_write_internal_notes(ticket, requester_a):
    with pytest.raises(TicketError, match="Only agents"):
        ticket_reply(ticket=ticket, author=requester_a.user, body_text="x", now=NOW, internal=True)


def test_resolving_and_reopening_keep_the_resolution_instant(ticket, agent_ber, requester_a):
    resolved_at = NOW + timedelta(hours=1)
    ticket = ticket_change_status(
        ticket=ticket, status=Ticket.Status.RESOLVED, now=resolved_at, actor=agent_ber.user
    )
    assert ticket.resolved_at == resolved_at
    ticket = ticket_change_status(
        ticket=ticket,
        status=Ticket.Status.OPEN,
        now=resolved_at + timedelta(hours=1),
        actor=requester_a.user,
    )
    assert ticket.resolved_at is None
    assert list(ticket.events.values_list("kind", flat=True)) == ["created", "resolved", "reopened"]


def test_a_closed_ticket_takes_no_more_messages_or_changes(ticket, agent_ber, requester_a):
    ticket_change_status(ticket=ticket, status="closed", now=NOW, actor=agent_ber.user)
    with pytest.raises(TicketError, match="closed"):
        ticket_reply(ticket=ticket, author=requester_a.user, body_text="more", now=NOW)
    with pytest.raises(TicketError, match="closed"):
        ticket_change_status(ticket=ticket, status="open", now=NOW, actor=agent_ber.user)


def test_a_logged_call_becomes_a_public_agent_message(ticket, agent_ber):
    call = call_log(
        ticket=ticket,
        agent=agent_ber.user,
        caller_name="Rita",
        phone_number="+49301234",
        direction=PhoneCall.Direction.INBOUND,
        started_at=NOW,
        duration=timedelta(minutes=7),
        summary="Walked through the encoder settings.",
        now=NOW + timedelta(minutes=8),
    )
    assert call.message.channel == Ticket.Channel.PHONE
    assert call.message.author_kind == Message.AuthorKind.AGENT
    assert call.message.visibility == Message.Visibility.PUBLIC
    assert ticket.events.filter(kind=TicketEvent.Kind.CALL).count() == 1


def test_only_agents_log_calls(ticket, requester_a):
    with pytest.raises(TicketError, match="Only agents"):
        call_log(
            ticket=ticket,
            agent=requester_a.user,
            caller_name="x",
            phone_number="1",
            direction="inbound",
            started_at=NOW,
            duration=timedelta(0),
            summary="x",
            now=NOW,
        )
