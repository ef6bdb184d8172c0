"""What customers hear back: which changes write an email, to whom, as they chose; and the
profile page where they choose."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tickets.channels.email.outbound import customer_email_send
from tickets.models import OutboundEmail
from tickets.services import (
    ticket_change_status,
    ticket_create,
    ticket_record_root_cause,
    ticket_reply,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("media")


def new_ticket(member):
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Echo on calls",
        body_text="Participants hear themselves.",
        now=NOW,
    )


def kinds(ticket) -> list[str]:
    return list(
        OutboundEmail.objects.filter(ticket=ticket).order_by("pk").values_list("kind", flat=True)
    )


def test_each_change_the_customer_cares_about_writes_one_email(contract_a, requester_a, agent_ber):
    ticket = new_ticket(requester_a)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Which SDK?", now=NOW)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="note", internal=True, now=NOW)
    ticket_change_status(ticket=ticket, status="pending", now=NOW, actor=agent_ber.user)
    ticket_reply(ticket=ticket, author=requester_a.user, body_text="4.2", now=NOW)
    ticket_change_status(ticket=ticket, status="resolved", now=NOW, actor=agent_ber.user)
    assert kinds(ticket) == ["ack", "reply", "waiting", "resolved"]
    reply = OutboundEmail.objects.get(kind="reply")
    assert reply.reply.body_text == "Which SDK?"
    assert len({email.message_id for email in OutboundEmail.objects.all()}) == 4


def test_a_member_receives_only_what_they_chose(contract_a, requester_a, agent_ber):
    requester_a.email_on_created = False
    requester_a.email_on_reply = False
    requester_a.save()
    ticket = new_ticket(requester_a)
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Which SDK?", now=NOW)
    ticket_change_status(ticket=ticket, status="resolved", now=NOW, actor=agent_ber.user)
    assert kinds(ticket) == ["resolved"]


def test_a_bouncing_address_is_not_mailed(contract_a, requester_a, agent_ber, mailoutbox):
    ticket = new_ticket(requester_a)
    (ack,) = OutboundEmail.objects.all()
    requester_a.email_bouncing_since = NOW
    requester_a.save()
    # Queued before the bounce came in: skipped when its turn comes.
    assert customer_email_send(email_id=ack.pk, now=NOW) is False
    ack.refresh_from_db()
    assert ack.skipped_reason == "address bouncing" and mailoutbox == []
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Hello?", now=NOW)
    assert kinds(ticket) == ["ack"]


def test_a_sent_email_is_never_sent_twice(contract_a, requester_a, mailoutbox):
    new_ticket(requester_a)
    (ack,) = OutboundEmail.objects.all()
    assert customer_email_send(email_id=ack.pk, now=NOW) is True
    assert customer_email_send(email_id=ack.pk, now=NOW + timedelta(hours=1)) is False
    (sent,) = mailoutbox
    assert sent.extra_headers["Message-ID"] == ack.message_id
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"


def test_a_ticket_without_a_requester_emails_nobody(contract_a, org_a, agent_ber):
    ticket_create(
        organisation=org_a,
        requester=None,
        channel="alert",
        subject="Ingest down",
        body_text="Alert fired.",
        now=NOW,
    )
    assert not OutboundEmail.objects.exists()


def test_the_profile_page_saves_email_choices(requester_a, client):
    client.force_login(requester_a.user)
    page = client.get(reverse("profile"))
    assert b"Emails about my tickets" in page.content
    response = client.post(reverse("profile-email"), {"email_on_reply": "on"})
    assert response.status_code == 302
    requester_a.refresh_from_db()
    assert requester_a.email_on_reply and not requester_a.email_on_created
    assert not requester_a.email_on_waiting and not requester_a.email_on_resolved


def test_a_member_whose_mail_bounced_can_say_it_works_again(requester_a, client):
    requester_a.email_bouncing_since = NOW
    requester_a.email_bounce_reason = "5.1.1 user unknown"
    requester_a.save()
    client.force_login(requester_a.user)
    page = client.get(reverse("profile"))
    assert b"bounced" in page.content and b"5.1.1 user unknown" in page.content
    client.post(reverse("profile-email"), {"resume": "1"})
    requester_a.refresh_from_db()
    assert requester_a.email_bouncing_since is None and requester_a.email_bounce_reason == ""


def test_agents_have_no_email_choices(agent_ber, client):
    client.force_login(agent_ber.user)
    assert b"Emails about my tickets" not in client.get(reverse("profile")).content
    response = client.post(reverse("profile-email"), {"email_on_reply": "on"}, follow=True)
    assert b"Only customers receive emails" in response.content


def test_a_root_cause_recorded_or_revised_is_emailed_with_its_summary_only(
    contract_a, requester_a, agent_ber, mailoutbox
):
    ticket = new_ticket(requester_a)
    ticket_record_root_cause(
        ticket=ticket,
        now=NOW,
        actor=agent_ber.user,
        summary="An expired certificate on the edge proxies.",
        detail="INTERNAL: renewal cron disabled by OPS-77.",
    )
    ticket_record_root_cause(
        ticket=ticket,
        now=NOW + timedelta(hours=1),
        actor=agent_ber.user,
        summary="An expired certificate on two edge proxies.",
        detail="INTERNAL: renewal cron disabled by OPS-77.",
    )
    assert kinds(ticket) == ["ack", "cause", "cause"]
    first, revised = OutboundEmail.objects.filter(kind="cause").order_by("pk")
    assert first.subject == f"[{ticket.reference}] Root cause: Echo on calls"
    for email in (first, revised):
        assert customer_email_send(email_id=email.pk, now=NOW + timedelta(hours=2)) is True
    sent_first, sent_revised = mailoutbox
    assert "We have found what caused" in sent_first.body
    assert "An expired certificate on the edge proxies." in sent_first.body
    assert "We have revised what caused" in sent_revised.body
    assert "two edge proxies" in sent_revised.body
    for sent in mailoutbox:
        html = sent.alternatives[0][0]
        assert "OPS-77" not in sent.body and "OPS-77" not in html
        assert "OPS-77" not in str(OutboundEmail.objects.values_list("data", flat=True))
        # Written by a person: no auto-reply marker, so it is not capped as automatic mail.
        assert "Auto-Submitted" not in sent.extra_headers


def test_a_root_cause_email_follows_the_reply_choice(contract_a, requester_a, agent_ber):
    requester_a.email_on_reply = False
    requester_a.save()
    ticket = new_ticket(requester_a)
    ticket_record_root_cause(
        ticket=ticket, now=NOW, actor=agent_ber.user, summary="A bad deploy.", detail=""
    )
    assert kinds(ticket) == ["ack"]
