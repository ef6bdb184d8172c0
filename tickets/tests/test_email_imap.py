"""Polling a real IMAP server (a throwaway Dovecot): what is fetched is stored, and only what
is stored is marked seen or moved, so a poll that dies mid-batch loses nothing and a message
fetched twice makes no second ticket."""

import time
from datetime import UTC, datetime

import pytest

from tickets.channels.email import imap
from tickets.models import InboundEmail, Mailbox, Message, OutboundEmail, Ticket
from tickets.tasks import poll_mailboxes
from tickets.tests.email_messages import email_bytes
from tickets.tests.mail_servers import ImapServer, dovecot

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECRET_ENV = "MERIDIAN_TEST_IMAP_PASSWORD"

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def imap_server() -> ImapServer:
    with dovecot() as server:
        yield server


@pytest.fixture
def mailbox(imap_server, monkeypatch) -> Mailbox:
    monkeypatch.setenv(SECRET_ENV, imap_server.password)
    return Mailbox.objects.create(
        name="support",
        address="support@meridian.test",
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_tls=False,
        imap_user=imap_server.user,
        secret_env=SECRET_ENV,
    )


def deliver(server: ImapServer, *senders: str) -> list[str]:
    """One message from each sender, in order; their Message-IDs."""
    ids = []
    for n, sender in enumerate(senders):
        message_id = f"<imap-{n}-{time.time_ns()}@example.test>"
        server.deliver(email_bytes(sender=sender, subject=f"Problem {n}", message_id=message_id))
        ids.append(message_id)
    return ids


RITA = "rita.requester@acme.test"
STRANGER = "someone@unknown.example"


def test_a_poll_stores_every_unseen_message_then_marks_it_seen(
    contract_a, requester_a, imap_server, mailbox
):
    ids = deliver(imap_server, RITA, STRANGER, RITA)
    assert len(imap_server.uids("UNSEEN")) == 3

    result = imap.mailbox_poll(mailbox, now=NOW)

    assert (result.error, result.fetched) == ("", 3)
    assert result.outcomes == {"ticket": 2, "quarantined": 1}
    tickets = Ticket.objects.filter(requester=requester_a, channel="email")
    assert sorted(tickets.values_list("subject", flat=True)) == ["Problem 0", "Problem 2"]
    assert set(Message.objects.values_list("email_message_id", flat=True)) == {ids[0], ids[2]}
    quarantined = InboundEmail.objects.get(outcome="quarantined")
    assert (quarantined.sender, quarantined.reason) == (STRANGER, "unknown sender")
    records = InboundEmail.objects.all()
    assert {(r.via, r.mailbox_id) for r in records} == {("imap", mailbox.pk)}
    assert sorted(records.values_list("dedupe_key", flat=True)) == sorted(ids)
    assert imap_server.uids("UNSEEN") == []
    assert len(imap_server.uids("SEEN")) == 3
    mailbox.refresh_from_db()
    assert (mailbox.last_polled_at, mailbox.last_error) == (NOW, "")

    # Nothing new: the next poll fetches nothing and stores nothing.
    again = imap.mailbox_poll(mailbox, now=NOW)
    assert (again.fetched, again.outcomes, again.error) == (0, {}, "")
    assert InboundEmail.objects.count() == 3


def test_a_poll_with_a_limit_leaves_the_rest_for_the_next_poll(
    contract_a, requester_a, imap_server, mailbox
):
    deliver(imap_server, RITA, RITA, RITA)
    assert imap.mailbox_poll(mailbox, now=NOW, limit=2).fetched == 2
    assert len(imap_server.uids("UNSEEN")) == 1
    assert imap.mailbox_poll(mailbox, now=NOW, limit=2).fetched == 1
    assert imap_server.uids("UNSEEN") == []
    assert Ticket.objects.count() == 3


def test_with_move_to_stored_messages_are_moved_out_of_the_inbox(
    contract_a, requester_a, imap_server, mailbox
):
    with imap_server.client() as client:
        client.create_folder("Stored")
    mailbox.move_to = "Stored"
    mailbox.save()
    ids = deliver(imap_server, RITA, STRANGER)

    result = imap.mailbox_poll(mailbox, now=NOW)

    assert (result.error, result.outcomes) == ("", {"ticket": 1, "quarantined": 1})
    assert imap_server.uids() == []
    assert imap_server.message_ids(folder="Stored") == set(ids)


def test_a_move_to_folder_that_does_not_exist_yet_is_created(
    contract_a, requester_a, imap_server, mailbox
):
    mailbox.move_to = "Archive"
    mailbox.save()
    ids = deliver(imap_server, RITA, RITA)

    result = imap.mailbox_poll(mailbox, now=NOW)

    assert (result.error, result.outcomes) == ("", {"ticket": 2})
    assert imap_server.uids() == []
    assert imap_server.message_ids(folder="Archive") == set(ids)


def test_a_poll_that_fails_mid_batch_loses_nothing_and_duplicates_nothing(
    contract_a, requester_a, imap_server, mailbox, monkeypatch
):
    ids = deliver(imap_server, RITA, RITA, RITA)
    real_ingest = imap.ingest
    calls = []

    def ingest_failing_on_the_second_call(raw, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(imap, "ingest", ingest_failing_on_the_second_call)

    first = imap.mailbox_poll(mailbox, now=NOW)

    assert first.fetched == 1 and first.outcomes == {"ticket": 1}
    assert "database went away" in first.error
    mailbox.refresh_from_db()
    assert "database went away" in mailbox.last_error
    assert list(Message.objects.values_list("email_message_id", flat=True)) == [ids[0]]
    # The one that failed and the ones after it are still new on the server.
    assert len(imap_server.uids("UNSEEN")) == 2

    second = imap.mailbox_poll(mailbox, now=NOW)

    assert (second.error, second.fetched, second.outcomes) == ("", 2, {"ticket": 2})
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert imap_server.uids("UNSEEN") == []
    assert sorted(Message.objects.values_list("email_message_id", flat=True)) == sorted(ids)

    # A message stored but not marked (the poll died between the two) comes again.
    with imap_server.client() as client:
        client.remove_flags(client.search(["ALL"])[:1], [b"\\Seen"])

    third = imap.mailbox_poll(mailbox, now=NOW)

    assert (third.error, third.outcomes) == ("", {"ignored": 1})
    duplicate = InboundEmail.objects.get(duplicate_of__isnull=False)
    assert (duplicate.outcome, duplicate.reason) == ("ignored", "duplicate")
    assert duplicate.duplicate_of.dedupe_key == ids[0]
    assert Ticket.objects.count() == 3
    assert Message.objects.filter(email_message_id=ids[0]).count() == 1
    assert imap_server.uids("UNSEEN") == []


def test_the_password_comes_from_the_environment_variable_the_mailbox_names(
    contract_a, requester_a, imap_server, mailbox, monkeypatch
):
    deliver(imap_server, RITA)
    monkeypatch.setenv(SECRET_ENV, "not-the-password")

    wrong = imap.mailbox_poll(mailbox, now=NOW)

    assert wrong.fetched == 0 and wrong.error
    mailbox.refresh_from_db()
    assert mailbox.last_error == wrong.error and mailbox.last_polled_at == NOW
    assert "LoginError" in mailbox.last_error

    monkeypatch.delenv(SECRET_ENV)
    unset = imap.mailbox_poll(mailbox, now=NOW)
    assert SECRET_ENV in unset.error and unset.fetched == 0
    assert len(imap_server.uids("UNSEEN")) == 1 and not Ticket.objects.exists()

    monkeypatch.setenv(SECRET_ENV, imap_server.password)
    right = imap.mailbox_poll(mailbox, now=NOW)
    assert (right.error, right.outcomes) == ("", {"ticket": 1})
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_a_mailbox_that_fails_does_not_stop_the_others(
    contract_a, requester_a, imap_server, mailbox, monkeypatch
):
    broken = Mailbox.objects.create(
        name="broken",
        address="broken@meridian.test",
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_tls=False,
        imap_user="nobody",
        secret_env=SECRET_ENV,
    )
    Mailbox.objects.create(name="http only", address="hook@meridian.test")
    deliver(imap_server, RITA)

    outcomes = poll_mailboxes()

    assert outcomes == {"broken": {}, "support": {"ticket": 1}}
    broken.refresh_from_db()
    assert "LoginError" in broken.last_error


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_poll_task_run_by_a_real_worker_stores_the_mail(
    contract_a, requester_a, imap_server, mailbox, celery_worker, tmp_path
):
    (message_id,) = deliver(imap_server, RITA)
    # The worker inherits the environment, the mailbox's password with it.
    worker = celery_worker(env={"EMAIL_URL": f"filemail:///{tmp_path / 'mail'}"})

    poll_mailboxes.apply_async(queue=worker.queue)

    # The record's outcome is written last, after the ticket's own transaction.
    processed = InboundEmail.objects.filter(processed_at__isnull=False)
    wait_for(processed.exists, 60, "the poll")
    ticket = Ticket.objects.get(requester=requester_a)
    assert ticket.channel == "email"
    assert ticket.messages.get().email_message_id == message_id
    record = InboundEmail.objects.get()
    assert (record.via, record.mailbox_id, record.outcome) == ("imap", mailbox.pk, "ticket")
    wait_for(lambda: imap_server.uids("UNSEEN") == [], 10, "the message to be marked seen")
    # Storing it queued the acknowledgement, which the same worker sends after the commit.
    ack = OutboundEmail.objects.filter(ticket=ticket, kind="ack", sent_at__isnull=False)
    wait_for(ack.exists, 30, "the acknowledgement to be sent")
    sent = "".join(path.read_text() for path in (tmp_path / "mail").iterdir())
    assert ack.get().message_id in sent
