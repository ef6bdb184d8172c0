"""The three ways in (the pipe command and Maildir, the HTTP hook; IMAP has its own tests) all
store through `ingest`; and the support desk's view of what came in."""

import base64
import io
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

import tickets.management.commands.ingest_email as command
from portal.services import staff_permissions_sync
from tickets.channels.email import ingest
from tickets.channels.email.mailboxes import mailbox_for_token, mailbox_token_issue
from tickets.management.commands.ingest_email import EX_TEMPFAIL
from tickets.models import InboundEmail, Mailbox, Ticket
from tickets.tests.email_messages import email_bytes

pytestmark = pytest.mark.usefixtures("media")
URL = "/api/v1/inbound/email/"


@pytest.fixture
def mailbox(db, region_sg) -> Mailbox:
    return Mailbox.objects.create(
        name="support", address="support@meridian.test", default_region=region_sg
    )


# --- The pipe command ------------------------------------------------------------------------


def test_ingest_email_takes_files_and_prints_one_line_each(contract_a, requester_a, tmp_path):
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(email_bytes(message_id="<a@acme.test>"))
    second.write_bytes(email_bytes(sender="who@nowhere.test"))
    out = io.StringIO()
    call_command("ingest_email", str(first), str(second), stdout=out)
    lines = out.getvalue().splitlines()
    ticket = Ticket.objects.get()
    assert lines[0] == f"{first}: ticket {ticket.reference}"
    record = InboundEmail.objects.get(outcome="quarantined")
    assert lines[1] == f"{second}: quarantined #{record.pk} unknown sender"


def test_ingest_email_reads_stdin(contract_a, requester_a, monkeypatch):
    raw = email_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("ingest_email", stdout=out)
    assert out.getvalue().startswith("<stdin>: ticket MRD-")
    assert Ticket.objects.get().channel == "email"


def test_the_pipe_tells_the_mta_to_retry_when_nothing_could_be_stored(db, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr("tickets.management.commands.ingest_email.ingest", broken)
    path = tmp_path / "m.eml"
    path.write_bytes(email_bytes())
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ingest_email", str(path), stderr=err)
    assert exit_.value.code == EX_TEMPFAIL
    assert "not stored, try again" in err.getvalue()


def maildir(root: Path, messages: dict[str, bytes]) -> Path:
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True)
    for name, raw in messages.items():
        (root / "new" / name).write_bytes(raw)
    return root


def test_a_maildir_is_ingested_and_each_message_moved_to_cur_once_stored(
    contract_a, requester_a, tmp_path, monkeypatch
):
    box = maildir(
        tmp_path / "Maildir",
        {"1.host": email_bytes(message_id="<1@acme.test>"), "2.host": email_bytes()},
    )
    real = command.ingest
    calls = []

    def failing_second(raw, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real(raw, **kwargs)

    monkeypatch.setattr(command, "ingest", failing_second)
    with pytest.raises(SystemExit):
        call_command("ingest_email", "--maildir", str(box), stdout=io.StringIO(), verbosity=0)
    # The one that failed stays in new/ for the next run.
    assert sorted(p.name for p in (box / "cur").iterdir()) == ["1.host:2,S"]
    assert [p.name for p in (box / "new").iterdir()] == ["2.host"]
    monkeypatch.setattr(command, "ingest", real)
    call_command("ingest_email", "--maildir", str(box), stdout=io.StringIO(), verbosity=0)
    assert not list((box / "new").iterdir())
    assert Ticket.objects.count() == 2


def test_a_folder_that_is_not_a_maildir_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="not a Maildir"):
        call_command("ingest_email", "--maildir", str(tmp_path))


def test_the_command_applies_the_named_mailbox(contract_a, requester_a, mailbox, tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(email_bytes())
    call_command("ingest_email", str(path), "--mailbox", "support", stdout=io.StringIO())
    ticket = Ticket.objects.get()
    assert ticket.region == mailbox.default_region != ticket.organisation.home_region


# --- The HTTP hook ---------------------------------------------------------------------------


def test_a_token_is_shown_once_and_checked_against_its_hash(mailbox):
    token = mailbox_token_issue(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert token.split(".", 1)[1] not in mailbox.token_sha256
    assert mailbox_for_token(token) == mailbox
    assert mailbox_for_token(token + "x") is None
    assert mailbox_for_token(f"{mailbox.pk}.") is None
    assert mailbox_for_token("garbage") is None
    mailbox_token_issue(mailbox=mailbox)
    assert mailbox_for_token(token) is None  # the old one stopped working


def test_the_hook_stores_a_message_with_the_mailboxs_token(
    contract_a, requester_a, mailbox, client
):
    token = mailbox_token_issue(mailbox=mailbox)
    raw = email_bytes(message_id="<hook@acme.test>")
    response = client.post(
        URL, raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response.json() == {
        "outcome": "ticket",
        "reason": "",
        "ticket": ticket.reference,
        "record": InboundEmail.objects.get().pk,
    }
    assert InboundEmail.objects.get().via == "http"
    again = client.post(
        URL, raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert again.status_code == 200 and again.json()["outcome"] == "ignored"


def test_the_hook_takes_the_token_as_a_basic_auth_password(
    contract_a, requester_a, mailbox, client
):
    token = mailbox_token_issue(mailbox=mailbox)
    basic = base64.b64encode(f"hook:{token}".encode()).decode()
    response = client.post(
        URL,
        email_bytes(sender="who@nowhere.test"),
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 202 and response.json()["outcome"] == "quarantined"


@pytest.mark.parametrize("header", [None, "Bearer 1.wrong", "Bearer nonsense", "Token abc"])
def test_the_hook_refuses_without_a_valid_token(contract_a, mailbox, client, header):
    mailbox_token_issue(mailbox=mailbox)
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(URL, email_bytes(), content_type="message/rfc822", **extra)
    assert response.status_code == 401
    assert response.json()["error"]["message"]
    assert not InboundEmail.objects.exists()


def test_the_hook_refuses_a_deactivated_mailbox(contract_a, mailbox, client):
    token = mailbox_token_issue(mailbox=mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(active=False)
    response = client.post(
        URL, email_bytes(), content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 401


def test_the_hook_refuses_an_empty_body(mailbox, client):
    token = mailbox_token_issue(mailbox=mailbox)
    response = client.post(
        URL, b"", content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400 and "raw email" in response.json()["error"]["message"]


# --- The support desk ------------------------------------------------------------------------


def test_the_desk_lists_what_came_in_with_counts_and_reprocesses(
    contract_a, requester_a, org_a, superuser, client
):
    ingest(email_bytes())
    quarantined = ingest(email_bytes(sender="new@partner.test")).record
    client.force_login(superuser)
    page = client.get(reverse("admin:tickets_inboundemail_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Messages in: 2" in text and "Quarantined 1" in text and "New ticket 1" in text
    detail = client.get(reverse("admin:tickets_inboundemail_change", args=[quarantined.pk]))
    assert b"new@partner.test" in detail.content and b"unknown sender" in detail.content
    response = client.post(
        reverse("admin:tickets_inboundemail_changelist"),
        {
            "action": "assign_organisation",
            "_selected_action": [quarantined.pk],
            "organisation": org_a.pk,
            "apply": "1",
        },
    )
    assert response.status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.outcome == "ticket" and quarantined.ticket.organisation == org_a


def test_an_agent_can_reprocess_but_not_configure_mailboxes(agent_ber, client, mailbox):
    staff_permissions_sync()
    user = type(agent_ber.user).objects.get(pk=agent_ber.user.pk)
    assert user.has_perm("tickets.change_inboundemail")
    assert not user.has_perm("tickets.change_mailbox")


def test_issuing_a_token_in_the_desk_shows_it_once(superuser, client, mailbox):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:tickets_mailbox_changelist"),
        {"action": "issue_token", "_selected_action": [mailbox.pk]},
        follow=True,
    )
    text = response.content.decode()
    token = text.split("<code>", 1)[1].split("</code>", 1)[0]
    assert mailbox_for_token(token) == mailbox
