from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.models import Attachment
from tickets.services import (
    TicketError,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("media")


def create(member, **extra):
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Logs",
        body_text="See attached.",
        now=NOW,
        **extra,
    )


def test_attachments_are_stored_with_their_name_size_and_hash(contract_a, requester_a):
    ticket = create(requester_a, attachments=[SimpleUploadedFile("trace.log", b"abc")])
    attachment = Attachment.objects.get(ticket=ticket)
    assert (attachment.filename, attachment.size) == ("trace.log", 3)
    assert attachment.sha256 == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert attachment.message == ticket.messages.get()
    assert attachment.file.read() == b"abc"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([SimpleUploadedFile("payload.exe", b"MZ")], r"payload.exe: files of type .exe"),
        ([SimpleUploadedFile("empty.txt", b"")], "empty.txt is empty"),
        ([SimpleUploadedFile(f"{n}.txt", b"x") for n in range(6)], "At most 5 files"),
    ],
)
def test_unacceptable_attachments_are_refused_with_the_reason(
    contract_a, requester_a, files, message
):
    with pytest.raises(TicketError, match=message):
        create(requester_a, attachments=files)
    assert not Attachment.objects.exists()


def test_an_attachment_over_the_size_limit_is_refused(contract_a, requester_a, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(TicketError, match=r"big.log is larger than 1\.0\xa0KB"):
        create(requester_a, attachments=[SimpleUploadedFile("big.log", b"x" * 2048)])


def test_customer_may_reopen_within_the_window_only(contract_a, requester_a, agent_ber, settings):
    settings.REOPEN_WINDOW_DAYS = 14
    ticket = create(requester_a)
    ticket_change_status(ticket=ticket, status="resolved", actor=agent_ber.user, now=NOW)
    with pytest.raises(TicketError, match="can no longer be reopened"):
        ticket_change_status(
            ticket=ticket, status="open", actor=requester_a.user, now=NOW + timedelta(days=15)
        )
    with pytest.raises(TicketError, match="can no longer be reopened"):
        ticket_reply(
            ticket=ticket,
            author=requester_a.user,
            body_text="still broken",
            now=NOW + timedelta(days=15),
        )
    ticket_change_status(
        ticket=ticket, status="open", actor=requester_a.user, now=NOW + timedelta(days=13)
    )
    ticket.refresh_from_db()
    assert ticket.status == "open"
