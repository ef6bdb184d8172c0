"""Customer emails through a real SMTP server (aiosmtpd, in this process): what arrives is
what a mail client sees, its headers thread the conversation, and the customer's answer to it
finds its ticket again."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from conftest import free_port
from tickets.channels.email import ingest
from tickets.channels.email.outbound import customer_email_send
from tickets.models import OutboundEmail, Ticket
from tickets.services import ticket_change_status, ticket_create, ticket_reply
from tickets.tests.email_messages import email_bytes
from tickets.tests.mail_servers import SmtpServer, smtp_server

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FIRST_ID = "<first@acme.test>"

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def smtp(settings) -> SmtpServer:
    with smtp_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        yield server


def opened_by_email(now: datetime = NOW) -> Ticket:
    result = ingest(email_bytes(message_id=FIRST_ID), now=now)
    assert result.outcome == "ticket", result
    return result.ticket


def queued(ticket: Ticket, kind: str) -> OutboundEmail:
    return OutboundEmail.objects.get(ticket=ticket, kind=kind)


def send(smtp: SmtpServer, email: OutboundEmail, now: datetime) -> EmailMessage:
    """Send one queued email and return it as the server received it."""
    before = len(smtp.envelopes)
    assert customer_email_send(email_id=email.pk, now=now) is True
    assert len(smtp.envelopes) == before + 1
    envelope = smtp.envelopes[-1]
    assert envelope.rcpt_tos == [email.to_address]
    return message_from_bytes(envelope.content, policy=default)


def texts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    return plain.get_content(), html.get_content()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo"])
def test_the_acknowledgement_arrives_threaded_with_the_due_time_in_the_members_zone(
    contract_a, requester_a, smtp, zone
):
    requester_a.time_zone = zone
    requester_a.save()
    ticket = opened_by_email()
    ack = queued(ticket, "ack")

    received = send(smtp, ack, NOW)

    assert received["Message-ID"] == ack.message_id
    assert received["Message-ID"].endswith(f"@{settings.EMAIL_MESSAGE_ID_DOMAIN}>")
    assert f"[{ticket.reference}]" in received["Subject"]
    assert received["To"] == "rita.requester@acme.test"
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["In-Reply-To"] == FIRST_ID
    assert FIRST_ID in received["References"].split()
    plain, html = texts(received)
    link = f"{settings.SITE_URL}/tickets/{ticket.reference}/"
    assert link in plain and f'href="{link}"' in html
    # P3 on the 24x7 tier: a first response within two hours.
    due = ticket.first_response_due_at
    assert due == NOW + timedelta(hours=2)
    local = due.astimezone(ZoneInfo(zone))
    assert local.utcoffset() != timedelta(0)
    for text in (plain, html):
        assert f"{local:%H:%M}" in text and zone in text
        assert f"{due:%H:%M}" not in text
    ack.refresh_from_db()
    assert ack.sent_at == NOW and ack.attempts == 1


def test_a_ticket_opened_on_the_web_is_acknowledged_without_in_reply_to(
    contract_a, requester_a, smtp
):
    ticket = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Encoder keeps rebooting",
        body_text="Since the update.",
        now=NOW,
    )

    received = send(smtp, queued(ticket, "ack"), NOW)

    assert received["In-Reply-To"] is None and received["References"] is None
    assert f"[{ticket.reference}] " in received["Subject"]


def test_an_agents_reply_threads_and_the_customers_answer_finds_the_ticket(
    contract_a, requester_a, agent_ber, smtp
):
    ticket = opened_by_email()
    ack = queued(ticket, "ack")
    send(smtp, ack, NOW)
    later = NOW + timedelta(minutes=20)
    ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="Please update the encoder firmware to 4.2 and tell us if it helps.",
        now=later,
    )
    reply = queued(ticket, "reply")

    received = send(smtp, reply, later)

    assert received["Message-ID"] == reply.message_id
    assert received["Auto-Submitted"] is None
    assert f"[{ticket.reference}]" in received["Subject"]
    assert received["In-Reply-To"] == FIRST_ID
    references = received["References"].split()
    assert references[0] == FIRST_ID and ack.message_id in references
    assert reply.message_id not in references
    plain, html = texts(received)
    assert "update the encoder firmware to 4.2" in plain
    assert "update the encoder firmware to 4.2" in html

    # The customer's client answers it; no reference token in the subject, so only the
    # Message-ID can lead back to the ticket.
    answer_id = "<answer@acme.test>"
    answer = ingest(
        email_bytes(
            subject="Re: firmware",
            message_id=answer_id,
            in_reply_to=received["Message-ID"],
            body="Updated, the stream is stable now.\n\n> Please update the encoder firmware",
        ),
        now=later + timedelta(minutes=30),
    )
    assert (answer.outcome, answer.ticket) == ("message", ticket)
    assert answer.message.body_text.startswith("Updated, the stream is stable now.")
    assert Ticket.objects.count() == 1

    # The next reply answers the customer's latest message.
    even_later = later + timedelta(hours=1)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Great, closing.", now=even_later)
    (second,) = OutboundEmail.objects.filter(ticket=ticket, kind="reply").exclude(pk=reply.pk)
    next_received = send(smtp, second, even_later)
    assert next_received["In-Reply-To"] == answer_id
    assert next_received["References"].split()[0] == FIRST_ID
    assert answer_id in next_received["References"].split()


@pytest.mark.parametrize("status, kind", [("pending", "waiting"), ("resolved", "resolved")])
def test_status_emails_are_marked_automatic_and_threaded(
    contract_a, requester_a, agent_ber, smtp, status, kind
):
    ticket = opened_by_email()
    ticket_change_status(ticket=ticket, status=status, now=NOW, actor=agent_ber.user)
    email = queued(ticket, kind)

    received = send(smtp, email, NOW)

    assert received["Auto-Submitted"] == "auto-replied"
    assert received["In-Reply-To"] == FIRST_ID
    assert f"[{ticket.reference}]" in received["Subject"]
    plain, _ = texts(received)
    assert f"{settings.SITE_URL}/tickets/{ticket.reference}/" in plain


def test_a_failed_send_releases_the_claim_and_the_retry_sends_it_once(
    contract_a, requester_a, smtp, settings
):
    ack = queued(opened_by_email(), "ack")
    settings.EMAIL_PORT = free_port()  # nothing listens there

    with pytest.raises(ConnectionRefusedError):
        customer_email_send(email_id=ack.pk, now=NOW)

    ack.refresh_from_db()
    assert (ack.sent_at, ack.claimed_at, ack.attempts) == (None, None, 1)
    assert smtp.envelopes == []

    settings.EMAIL_PORT = smtp.port
    retry = NOW + timedelta(seconds=30)
    assert customer_email_send(email_id=ack.pk, now=retry) is True
    ack.refresh_from_db()
    assert (ack.sent_at, ack.attempts) == (retry, 2)
    assert len(smtp.envelopes) == 1


def test_a_stopped_smtp_server_fails_the_send_without_marking_it_sent(
    contract_a, requester_a, smtp
):
    ack = queued(opened_by_email(), "ack")
    smtp.stop()

    with pytest.raises(OSError):
        customer_email_send(email_id=ack.pk, now=NOW)

    ack.refresh_from_db()
    assert (ack.sent_at, ack.claimed_at) == (None, None)


def test_nothing_is_sent_twice(contract_a, requester_a, smtp):
    ack = queued(opened_by_email(), "ack")

    assert customer_email_send(email_id=ack.pk, now=NOW) is True
    assert customer_email_send(email_id=ack.pk, now=NOW) is False
    # Not even long after, when a claim would count as abandoned.
    assert customer_email_send(email_id=ack.pk, now=NOW + timedelta(days=1)) is False

    assert len(smtp.envelopes) == 1


def test_a_claim_held_by_another_sender_is_respected_until_it_is_stale(
    contract_a, requester_a, smtp
):
    ack = queued(opened_by_email(), "ack")
    # Another sender claimed it and died before sending.
    OutboundEmail.objects.filter(pk=ack.pk).update(claimed_at=NOW)

    soon = NOW + timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS - 1)
    assert customer_email_send(email_id=ack.pk, now=soon) is False
    assert smtp.envelopes == []

    stale = NOW + timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS + 1)
    assert customer_email_send(email_id=ack.pk, now=stale) is True
    assert len(smtp.envelopes) == 1
