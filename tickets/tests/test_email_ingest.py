"""The email channel's rules: identity, threading, duplicates, machines and loops, content,
quarantine and reprocessing, and how a reply moves the ticket."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import EmailDomain, Member
from tickets.channels.email import inbound_reprocess, ingest
from tickets.channels.email.outbound import customer_email_send
from tickets.models import (
    Attachment,
    InboundEmail,
    Mailbox,
    Message,
    OutboundEmail,
    Ticket,
    TicketEvent,
)
from tickets.services import ticket_change_status, ticket_reply
from tickets.tests.email_messages import email_bytes

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)

pytestmark = pytest.mark.usefixtures("media")


def opened(contract_a, requester_a, **kwargs) -> Ticket:
    result = ingest(email_bytes(**kwargs), now=NOW)
    assert result.outcome == "ticket", result
    return result.ticket


# --- Ways to a ticket ------------------------------------------------------------------------


def test_a_members_email_opens_a_ticket_with_its_clocks_and_an_acknowledgement(
    contract_a, requester_a
):
    result = ingest(email_bytes(message_id="<first@acme.test>"), now=NOW)
    ticket = result.ticket
    assert (result.outcome, ticket.channel, ticket.requester) == ("ticket", "email", requester_a)
    assert ticket.first_response_due_at is not None
    message = ticket.messages.get()
    assert message.email_message_id == "<first@acme.test>"
    assert message.body_text.startswith("Our HLS stream drops")
    (ack,) = OutboundEmail.objects.filter(ticket=ticket)
    assert ack.kind == "ack" and ack.to_address == "rita.requester@acme.test"
    assert ack.data["first_response_due_at"] == ticket.first_response_due_at.isoformat()
    assert f"[{ticket.reference}]" in ack.subject
    assert result.record.outcome == "ticket" and bytes(result.record.raw).startswith(b"From:")


def test_the_sender_is_matched_case_insensitively(contract_a, requester_a):
    result = ingest(email_bytes(sender="Rita <RITA.Requester@ACME.test>"), now=NOW)
    assert result.ticket.requester == requester_a


def test_a_sender_at_an_organisations_domain_becomes_a_new_requester(contract_a, requester_a):
    result = ingest(email_bytes(sender="Nina Neu <nina@eu.acme.test>"), now=NOW)
    member = result.ticket.requester
    assert member.organisation == requester_a.organisation
    assert (member.user.email, member.user.get_full_name()) == ("nina@eu.acme.test", "Nina Neu")
    assert member.role == Member.Role.REQUESTER and not member.user.has_usable_password()


def test_an_unknown_sender_is_quarantined_and_reply_to_never_sets_identity(contract_a, requester_a):
    result = ingest(
        email_bytes(sender="eve@elsewhere.test", headers={"Reply-To": requester_a.user.email}),
        now=NOW,
    )
    assert (result.outcome, result.reason) == ("quarantined", "unknown sender")
    assert result.record.outcome == "quarantined" and bytes(result.record.raw)
    assert not Ticket.objects.exists()
    assert not Member.objects.filter(user__email="eve@elsewhere.test").exists()


def test_a_mailbox_default_organisation_takes_unknown_senders(contract_a, requester_a, org_a):
    mailbox = Mailbox.objects.create(
        name="acme", address="acme@meridian.test", default_organisation=org_a
    )
    result = ingest(email_bytes(sender="someone@gmail.test"), mailbox=mailbox, now=NOW)
    assert result.outcome == "ticket" and result.ticket.organisation == org_a
    assert result.record.mailbox == mailbox


# --- Duplicates ------------------------------------------------------------------------------


def test_the_same_message_delivered_twice_is_stored_once(contract_a, requester_a):
    raw = email_bytes(message_id="<twice@acme.test>")
    first = ingest(raw, now=NOW)
    second = ingest(raw, now=LATER)
    assert (second.outcome, second.reason) == ("ignored", "duplicate")
    assert Ticket.objects.count() == 1
    assert second.record.duplicate_of == first.record
    assert InboundEmail.objects.count() == 2


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(contract_a, requester_a):
    raw = email_bytes(message_id="")
    assert b"Message-ID" not in raw
    assert ingest(raw, now=NOW).outcome == "ticket"
    assert ingest(raw, now=LATER).outcome == "ignored"
    assert ingest(raw + b"\n", now=LATER).outcome == "ticket"  # different bytes: another one


# --- Threading -------------------------------------------------------------------------------


def test_a_reply_to_the_acknowledgement_threads_by_in_reply_to(contract_a, requester_a):
    ticket = opened(contract_a, requester_a)
    ack = OutboundEmail.objects.get(ticket=ticket)
    result = ingest(
        email_bytes(subject="Re: something else", body="More detail.", in_reply_to=ack.message_id),
        now=LATER,
    )
    assert (result.outcome, result.ticket) == ("message", ticket)
    assert result.message.email_in_reply_to == ack.message_id


def test_references_to_a_received_message_thread(contract_a, requester_a, colleague_a):
    ticket = opened(contract_a, requester_a, message_id="<root@acme.test>")
    result = ingest(
        email_bytes(
            sender=colleague_a.user.email,
            subject="fwd",
            references="<unknown@x.test> <root@acme.test>",
        ),
        now=LATER,
    )
    assert (result.outcome, result.ticket) == ("message", ticket)


def test_the_subject_token_threads_when_headers_do_not(contract_a, requester_a):
    ticket = opened(contract_a, requester_a)
    result = ingest(email_bytes(subject=f"Re: [{ticket.reference}] drops"), now=LATER)
    assert (result.outcome, result.ticket) == ("message", ticket)


def test_a_stranger_never_appends_to_another_organisations_ticket(
    contract_a, contract_b, requester_a, requester_b
):
    ticket = opened(contract_a, requester_a)
    result = ingest(
        email_bytes(sender=requester_b.user.email, subject=f"Re: [{ticket.reference}] hi"),
        now=LATER,
    )
    assert result.outcome == "ticket"
    assert result.ticket != ticket and result.ticket.organisation == requester_b.organisation
    note = ticket.messages.get(visibility="internal")
    assert note.author_kind == "system" and requester_b.user.email in note.body_text
    assert ticket.messages.filter(visibility="public").count() == 1


def test_an_unknown_stranger_naming_a_ticket_is_quarantined_and_agents_see_a_note(
    contract_a, requester_a
):
    ticket = opened(contract_a, requester_a)
    result = ingest(
        email_bytes(sender="mallory@evil.test", subject=f"[{ticket.reference}]"), now=LATER
    )
    assert (result.outcome, result.reason) == ("quarantined", "unknown sender")
    assert "mallory@evil.test" in ticket.messages.get(visibility="internal").body_text


# --- Replies move the ticket as a portal reply does ------------------------------------------


def test_an_email_reply_restarts_next_response_exactly_as_a_portal_reply(
    contract_a, requester_a, agent_ber
):
    by_mail = opened(contract_a, requester_a, message_id="<a@acme.test>")
    by_portal = opened(contract_a, requester_a, message_id="<b@acme.test>")
    for ticket in (by_mail, by_portal):
        ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Try again?", now=LATER)
    answer = LATER + timedelta(minutes=3)
    ingest(email_bytes(body="Still broken.", in_reply_to="<a@acme.test>"), now=answer)
    ticket_reply(ticket=by_portal, author=requester_a.user, body_text="Still broken.", now=answer)
    by_mail.refresh_from_db()
    by_portal.refresh_from_db()
    assert by_mail.next_response_started_at == answer
    assert by_mail.next_response_due_at == by_portal.next_response_due_at is not None
    assert by_mail.status == by_portal.status == "open"


def test_quoted_history_and_signature_are_stripped_from_a_reply(contract_a, requester_a):
    ticket = opened(contract_a, requester_a)
    body = (
        "Es funktioniert wieder, danke!\n\n"
        "Am 02.03.2026 um 10:00 schrieb Meridian Support <support@meridian.test>:\n"
        "> Bitte versuchen Sie es erneut.\n"
    )
    result = ingest(email_bytes(subject=f"AW: [{ticket.reference}]", body=body), now=LATER)
    assert result.message.body_text == "Es funktioniert wieder, danke!"
    assert b"Bitte versuchen" in bytes(result.record.raw)  # the original is kept


def test_a_reply_to_a_resolved_ticket_reopens_it_inside_the_window(
    contract_a, requester_a, agent_ber
):
    ticket = opened(contract_a, requester_a)
    ticket_change_status(ticket=ticket, status="resolved", now=LATER, actor=agent_ber.user)
    result = ingest(email_bytes(subject=f"Re: [{ticket.reference}]"), now=LATER + timedelta(days=1))
    ticket.refresh_from_db()
    assert (result.outcome, ticket.status) == ("message", "open")
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED).exists()


def test_a_reply_after_the_reopen_window_opens_a_linked_follow_up(
    contract_a, requester_a, agent_ber, settings
):
    ticket = opened(contract_a, requester_a)
    ticket_change_status(ticket=ticket, status="resolved", now=LATER, actor=agent_ber.user)
    late = LATER + timedelta(days=settings.REOPEN_WINDOW_DAYS + 1)
    result = ingest(email_bytes(subject=f"Re: [{ticket.reference}] again"), now=late)
    ticket.refresh_from_db()
    assert result.outcome == "ticket" and result.ticket.follow_up_of == ticket
    assert result.reason == f"follow-up of {ticket.reference}"
    assert ticket.status == "resolved"
    created = result.ticket.events.get(kind=TicketEvent.Kind.CREATED)
    assert created.data["follow_up_of"] == ticket.reference


# --- Machines and loops ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"List-Id": "<alerts.acme.test>"},
        {"X-Auto-Response-Suppress": "All"},
    ],
)
def test_machine_mail_opens_a_ticket_but_is_never_acknowledged(contract_a, requester_a, headers):
    result = ingest(email_bytes(headers=headers), now=NOW)
    assert result.outcome == "ticket"
    assert not OutboundEmail.objects.exists()


def test_auto_submitted_no_is_a_person(contract_a, requester_a):
    ingest(email_bytes(headers={"Auto-Submitted": "no"}), now=NOW)
    assert OutboundEmail.objects.filter(kind="ack").count() == 1


def test_an_out_of_office_on_a_ticket_is_an_internal_note_that_moves_nothing(
    contract_a, requester_a, agent_ber
):
    ticket = opened(contract_a, requester_a)
    reply = ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Fixed?", now=LATER)
    copy = OutboundEmail.objects.get(reply=reply)
    ticket.refresh_from_db()
    before = Ticket.objects.values().get(pk=ticket.pk)
    result = ingest(
        email_bytes(
            subject="Automatic reply: Re: drops",
            body="I am out of the office until Monday.",
            in_reply_to=copy.message_id,
            headers={"Auto-Submitted": "auto-replied"},
        ),
        now=LATER + timedelta(minutes=1),
    )
    after = Ticket.objects.values().get(pk=ticket.pk)
    assert result.outcome == "message" and result.message.visibility == "internal"
    assert result.message.author_kind == "system"
    changed = {key for key in before if before[key] != after[key]}
    assert changed <= {"updated_at"}
    assert not OutboundEmail.objects.filter(kind="ack", created_at__gt=NOW).exists()


def test_an_out_of_office_about_nothing_is_ignored(contract_a, requester_a):
    result = ingest(
        email_bytes(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}), now=NOW
    )
    assert result.outcome == "ignored" and not Ticket.objects.exists()


def test_our_own_mail_coming_back_is_ignored(contract_a, requester_a):
    ticket = opened(contract_a, requester_a)
    ack = OutboundEmail.objects.get(ticket=ticket)
    looped = ingest(email_bytes(message_id=ack.message_id), now=LATER)
    marked = ingest(email_bytes(headers={"X-Meridian-Outbound": "ack"}), now=LATER)
    assert {looped.outcome, marked.outcome} == {"ignored"}
    assert "loop" in looped.reason and Ticket.objects.count() == 1


def test_automatic_mail_to_one_address_is_capped_per_hour(
    contract_a, requester_a, settings, mailoutbox
):
    settings.EMAIL_AUTOMATIC_PER_HOUR = 3

    def send_all(at):
        for email in OutboundEmail.objects.filter(sent_at=None, skipped_reason=""):
            customer_email_send(email_id=email.pk, now=at)

    for n in range(5):
        ingest(email_bytes(subject=f"issue {n}"), now=NOW + timedelta(minutes=n))
        send_all(NOW + timedelta(minutes=n))
    assert Ticket.objects.count() == 5
    assert len(mailoutbox) == 3
    skipped = OutboundEmail.objects.exclude(skipped_reason="")
    assert [e.skipped_reason for e in skipped] == ["more than 3 automatic emails an hour"] * 2
    ingest(email_bytes(subject="next hour"), now=NOW + timedelta(hours=1, minutes=1))
    send_all(NOW + timedelta(hours=1, minutes=1))
    assert len(mailoutbox) == 4


DSN = (
    b"From: MAILER-DAEMON@mx.acme.test\r\n"
    b"To: support@meridian.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <dsn-1@mx.acme.test>\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.acme.test\r\n\r\n"
    b"Final-Recipient: rfc822; Rita.Requester@acme.test\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
    b"--B--\r\n"
)


def test_a_delivery_status_notification_marks_the_address_bouncing(contract_a, requester_a):
    result = ingest(DSN, now=NOW)
    requester_a.refresh_from_db()
    assert result.outcome == "ignored" and "rita.requester@acme.test" in result.reason
    assert requester_a.email_bouncing_since == NOW
    assert "5.1.1" in requester_a.email_bounce_reason
    assert not Ticket.objects.exists()
    # A bouncing address is not mailed: no acknowledgement for its next ticket.
    ingest(email_bytes(), now=LATER)
    assert not OutboundEmail.objects.exists()


# --- Content ---------------------------------------------------------------------------------


def test_html_only_mail_is_read_as_text_and_stored_sanitised(contract_a, requester_a):
    raw = (
        b"From: rita.requester@acme.test\r\nSubject: html\r\nMessage-ID: <h@acme.test>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Caf\xc3\xa9 <b>down</b></p><script>alert(1)</script><p onclick='x()'>again</p>"
    )
    message = ingest(raw, now=NOW).message
    assert message.body_text == "Café down\n\nagain"
    assert "<script" not in message.body_html and "onclick" not in message.body_html
    assert "<b>down</b>" in message.body_html


def test_attachments_and_inline_images_are_stored_with_clean_names(contract_a, requester_a):
    result = ingest(
        email_bytes(
            attachments=[
                ("../../etc/trace.log", "text/plain", b"line 1\n"),
                ("screen.png", "image/png", b"\x89PNG....."),
            ]
        ),
        now=NOW,
    )
    names = sorted(
        Attachment.objects.filter(ticket=result.ticket).values_list("filename", flat=True)
    )
    assert names == ["screen.png", "trace.log"]


def test_an_oversized_message_is_quarantined_and_the_sender_told_once(
    contract_a, requester_a, settings
):
    settings.EMAIL_MAX_BYTES = 2000
    raw = email_bytes(attachments=[("big.log", "text/plain", b"x" * 3000)])
    result = ingest(raw, now=NOW)
    assert result.outcome == "quarantined" and "larger than" in result.reason
    assert ingest(raw, now=LATER).outcome == "ignored"
    (told,) = OutboundEmail.objects.all()
    assert (told.kind, told.to_address) == ("refused", "rita.requester@acme.test")
    assert told.data["reason"] == result.reason


def test_a_refused_attachment_type_quarantines_with_the_reason(contract_a, requester_a):
    result = ingest(
        email_bytes(attachments=[("setup.exe", "application/octet-stream", b"MZ")]), now=NOW
    )
    assert result.outcome == "quarantined" and "setup.exe" in result.reason
    assert OutboundEmail.objects.get().kind == "refused"


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage", b"not an email at all"])
def test_what_is_not_an_email_is_quarantined_with_its_bytes(db, raw):
    result = ingest(raw, now=NOW)
    assert result.outcome == "quarantined" and result.reason
    assert bytes(result.record.raw) == raw


def test_unknown_charsets_are_decoded_without_crashing(contract_a, requester_a):
    raw = (
        b"From: rita.requester@acme.test\r\nSubject: =?x-unknown?q?Hall=F6?=\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nGr\xfc\xdfe"
    )
    result = ingest(raw, now=NOW)
    assert result.outcome == "ticket" and result.message.body_text.startswith("Gr")


# --- Quarantine: counts and reprocessing -----------------------------------------------------


def test_every_message_in_is_counted_in_exactly_one_outcome(contract_a, requester_a):
    raws = [email_bytes(message_id=f"<m{n}@acme.test>") for n in range(3)]
    raws += [raws[0], email_bytes(sender="x@nowhere.test"), b""]
    for raw in raws:
        ingest(raw, now=NOW)
    counts = {o: InboundEmail.objects.filter(outcome=o).count() for o in InboundEmail.Outcome}
    assert counts == {"received": 0, "ticket": 3, "message": 0, "quarantined": 2, "ignored": 1}
    assert sum(counts.values()) == len(raws)


def test_a_quarantined_message_is_stored_after_the_fix(contract_a, requester_a, org_a, capsys):
    result = ingest(email_bytes(sender="new@partner.test"), now=NOW)
    EmailDomain.objects.create(organisation=org_a, domain="partner.test")
    call_command("reprocess_quarantine", "--all", verbosity=0)
    record = InboundEmail.objects.get(pk=result.record.pk)
    assert record.outcome == "ticket" and record.ticket.organisation == org_a
    assert record.attempts == 2
    assert f"#{record.pk}: ticket {record.ticket.reference}" in capsys.readouterr().out


def test_an_agent_assigns_an_unknown_sender_to_an_organisation(contract_a, org_a):
    result = ingest(email_bytes(sender="Pat <pat@freemail.test>"), now=NOW)
    again = inbound_reprocess(result.record, organisation=org_a, now=LATER)
    assert again.outcome == "ticket" and again.ticket.organisation == org_a
    assert again.ticket.requester.user.email == "pat@freemail.test"


def test_reprocessing_a_message_stored_before_does_not_store_it_twice(contract_a, requester_a):
    result = ingest(email_bytes(message_id="<once@acme.test>"), now=NOW)
    InboundEmail.objects.filter(pk=result.record.pk).update(outcome="received")
    again = inbound_reprocess(InboundEmail.objects.get(pk=result.record.pk), now=LATER)
    assert again.ticket == result.ticket and Message.objects.count() == 1


def test_the_signature_after_the_delimiter_is_stripped_from_a_reply(contract_a, requester_a):
    ticket = opened(contract_a, requester_a)
    body = "Thanks, it works.\n\n-- \nRita Requester\nAcme Streaming, +49 30 1234\n"
    result = ingest(email_bytes(subject=f"Re: [{ticket.reference}]", body=body), now=LATER)
    assert result.message.body_text == "Thanks, it works."


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_message_id_look_up_uses_its_partial_index_in_a_generic_plan(db):
    """A prepared statement ends up with a generic plan, in which the empty string would be a
    parameter: only a literal `<> ''` lets the planner use the partial unique index."""
    query = Message.objects.filter(
        email_message_id__in=["<x@acme.test>"], email_message_id__nonempty=True
    ).values_list("ticket_id", flat=True)
    sql, params = query.query.sql_with_params()
    assert list(params) == ["<x@acme.test>"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE thread_lookup(text) AS {sql.replace('%s', '$1')}")
        cursor.execute("EXPLAIN EXECUTE thread_lookup('<x@acme.test>')")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE thread_lookup")
    assert "message_unique_email_id" in plan, plan


def queries_of(raw, at):
    with CaptureQueriesContext(connection) as captured:
        result = ingest(raw, now=at)
    return result, len(captured)


def test_ingestion_costs_the_same_few_queries_however_many_tickets_there_are(
    contract_a, requester_a
):
    def new_and_reply(n):
        first, new_cost = queries_of(email_bytes(subject=f"new {n}"), NOW)
        ack = OutboundEmail.objects.get(ticket=first.ticket)
        reply, reply_cost = queries_of(email_bytes(body="more", in_reply_to=ack.message_id), LATER)
        assert (first.outcome, reply.outcome) == ("ticket", "message")
        return new_cost, reply_cost

    # The first ticket also freezes the calendar version every later one uses.
    ingest(email_bytes(subject="first"), now=NOW)
    before = new_and_reply(0)
    for n in range(1, 25):
        ingest(email_bytes(subject=f"filler {n}"), now=NOW)
    after = new_and_reply(99)
    assert before == after
    # A new ticket: claim, sender, thread, SLA terms, the ticket's rows, the outcome; a reply
    # the same without the terms. No query per ticket or message stored before.
    assert after[0] <= 17 and after[1] <= 15, after
