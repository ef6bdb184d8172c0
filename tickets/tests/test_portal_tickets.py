"""Customer portal ticket pages: new ticket, the ticket page and its actions, attachments, list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tickets.models import Attachment, Message, Ticket
from tickets.services import (
    ticket_change_status,
    ticket_create,
    ticket_record_root_cause,
    ticket_reply,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; 11:00 in Berlin, 18:00 in Singapore

pytestmark = [pytest.mark.usefixtures("media"), pytest.mark.four_promises]


def open_ticket(member, *, now=NOW, **extra) -> Ticket:
    extra.setdefault("priority", "p2")
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject=extra.pop("subject", "Audio drops"),
        body_text=extra.pop("body_text", "Calls drop audio."),
        now=now,
        **extra,
    )


def detail_url(ticket: Ticket) -> str:
    return reverse("tickets:detail", args=[ticket.reference])


def new_ticket_form(**overrides) -> dict:
    return {
        "subject": "Stream stalls",
        "description": "The live stream stalls every 10 minutes.",
        "priority": "p2",
        "product_area": "streaming",
        **overrides,
    }


# --- New ticket ----------------------------------------------------------------------------------


def test_new_ticket_form_offers_only_the_priorities_the_contract_allows(
    contract_b, requester_b, client
):
    client.force_login(requester_b.user)
    page = client.get(reverse("tickets:new"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="p1"' not in html  # Standard covers no P1
    for priority in ("p2", "p3", "p4"):
        assert f'name="priority" value="{priority}"' in html
    assert "Your Standard contract covers these priorities" in html


def test_new_ticket_form_explains_each_priority_and_its_targets(contract_a, requester_a, client):
    client.force_login(requester_a.user)
    html = client.get(reverse("tickets:new")).content.decode()
    assert "P1 – service down" in html
    assert "Your service is down or unusable" in html
    # Enterprise P1: first response 10 min, resolution 48 h, workaround 30 min; P3 has none.
    assert "First response within 10 min" in html
    assert "resolution within 48 h." in html
    assert "workaround not promised" in html


def test_new_ticket_form_shows_the_attachment_limits_from_settings(
    contract_a, requester_a, client, settings
):
    settings.ATTACHMENT_MAX_FILES = 3
    settings.ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    settings.ATTACHMENT_EXTENSIONS = ["log", "png"]
    client.force_login(requester_a.user)
    html = client.get(reverse("tickets:new")).content.decode()
    assert "Up to 3 files, 2.0\xa0MB each. Accepted types: log, png." in html
    field = re.search(r"<input[^>]*name=\"attachments\"[^>]*>", html).group(0)
    assert "multiple" in field
    assert 'accept=".log,.png"' in field
    assert 'aria-describedby="id_attachments_helptext"' in field


@time_machine.travel(NOW, tick=False)
def test_creating_a_ticket_redirects_to_it_with_the_reference_and_promised_first_response(
    contract_a, requester_a, client
):
    client.force_login(requester_a.user)
    form = new_ticket_form(attachments=[SimpleUploadedFile("trace.log", b"frames")])
    response = client.post(reverse("tickets:new"), form, follow=True)
    ticket = Ticket.objects.get()
    assert response.redirect_chain == [(detail_url(ticket), 302)]
    # Enterprise P2: first response within 30 minutes, 24x7: 10:30 UTC is 11:30 in Berlin.
    assert (
        f"Ticket {ticket.reference} created. We will respond by Mon 2 Mar 2026, 11:30 CET."
        in response.content.decode()
    )
    assert (ticket.requester, ticket.channel, ticket.priority, ticket.product_area) == (
        requester_a,
        "web",
        "p2",
        "streaming",
    )
    assert ticket.first_response_due_at == NOW + timedelta(minutes=30)
    message = ticket.messages.get()
    assert message.body_text == "The live stream stalls every 10 minutes."
    assert message.author == requester_a.user
    assert list(message.attachments.values_list("filename", flat=True)) == ["trace.log"]


def test_a_ticket_without_a_contract_is_created_and_says_it_has_no_deadlines(
    org_b, requester_b, client
):
    client.force_login(requester_b.user)
    html = client.get(reverse("tickets:new")).content.decode()
    assert "no active support contract" in html
    response = client.post(reverse("tickets:new"), new_ticket_form(priority="p1"), follow=True)
    assert "It has no SLA deadlines" in response.content.decode()
    assert Ticket.objects.get().has_sla is False


def test_a_priority_the_contract_does_not_cover_is_refused_and_nothing_is_created(
    contract_b, requester_b, client
):
    client.force_login(requester_b.user)
    response = client.post(reverse("tickets:new"), new_ticket_form(priority="p1"))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_priority_error"' in html
    assert "The Standard contract does not cover P1; choose one of P2, P3, P4." in html
    assert not Ticket.objects.exists()


def test_missing_fields_are_reported_on_each_field_and_nothing_is_created(
    contract_a, requester_a, client
):
    client.force_login(requester_a.user)
    response = client.post(reverse("tickets:new"), new_ticket_form(subject="  ", description=""))
    html = response.content.decode()
    assert response.status_code == 400
    subject = re.search(r"<input[^>]*name=\"subject\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in subject
    assert 'aria-describedby="id_subject_helptext id_subject_error"' in subject
    assert '<ul class="errorlist" id="id_subject_error"><li>Please write a subject.</li>' in html
    assert 'id="id_description_error"' in html
    # The summary at the top links to each field in error.
    assert '<a href="#id_subject">Subject: Please write a subject.</a>' in html
    assert '<a href="#id_description">Description: Please describe the problem.</a>' in html
    # The choices made are kept.
    assert re.search(r'<input[^>]*name="priority" value="p2"[^>]*checked', html)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ([SimpleUploadedFile("payload.exe", b"MZ")], "payload.exe: files of type .exe are not"),
        ([SimpleUploadedFile("empty.txt", b"")], "empty.txt is empty."),
        (
            [SimpleUploadedFile(f"log{n}.txt", b"x") for n in range(6)],
            "At most 5 files per message; 6 were sent.",
        ),
    ],
)
def test_unacceptable_attachments_are_refused_on_the_field_naming_the_file(
    contract_a, requester_a, client, files, error
):
    client.force_login(requester_a.user)
    response = client.post(reverse("tickets:new"), new_ticket_form(attachments=files))
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<ul class="errorlist" id="id_attachments_error"><li>[^<]*', html)
    assert error in html
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def test_an_attachment_over_the_size_limit_is_refused(contract_a, requester_a, client, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    client.force_login(requester_a.user)
    files = [SimpleUploadedFile("big.log", b"x" * 2048)]
    response = client.post(reverse("tickets:new"), new_ticket_form(attachments=files))
    assert "big.log is larger than 1.0\xa0KB." in response.content.decode()
    assert not Ticket.objects.exists()


def test_agents_do_not_file_tickets_through_the_customer_form(agent_ber, client):
    client.force_login(agent_ber.user)
    assert client.get(reverse("tickets:new")).status_code == 404
    assert client.post(reverse("tickets:new"), new_ticket_form()).status_code == 404
    assert not Ticket.objects.exists()


def test_the_new_ticket_form_needs_a_login(client):
    response = client.get(reverse("tickets:new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_new_ticket_form_refuses_a_post_without_the_csrf_token(contract_a, requester_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(requester_a.user)
    refused = client.post(reverse("tickets:new"), new_ticket_form())
    assert refused.status_code == 403
    assert "security check failed" in refused.content.decode()
    assert not Ticket.objects.exists()
    page = client.get(reverse("tickets:new"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    accepted = client.post(
        reverse("tickets:new"), new_ticket_form(csrfmiddlewaretoken=token.group(1))
    )
    assert accepted.status_code == 302
    assert Ticket.objects.count() == 1


# --- The ticket page -----------------------------------------------------------------------------


def test_the_ticket_page_shows_the_public_conversation_but_never_internal_notes(
    contract_a, requester_a, agent_ber, client
):
    ticket = open_ticket(requester_a)
    ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="Looking into it.",
        now=NOW + timedelta(minutes=5),
    )
    ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="Customer's CDN is misconfigured, do not say yet.",
        internal=True,
        attachments=[SimpleUploadedFile("internal-trace.log", b"secret")],
        now=NOW + timedelta(minutes=6),
    )
    client.force_login(requester_a.user)
    html = client.get(detail_url(ticket)).content.decode()
    assert "Calls drop audio." in html
    assert "Looking into it." in html
    assert "CDN is misconfigured" not in html
    assert "internal-trace.log" not in html
    assert "internal note" not in html


def test_the_ticket_page_is_404_for_other_organisations_and_unshared_colleagues(
    contract_a, requester_a, colleague_a, org_admin_b, client
):
    ticket = open_ticket(requester_a)
    for outsider in (org_admin_b, colleague_a):
        client.force_login(outsider.user)
        assert client.get(detail_url(ticket)).status_code == 404
    client.force_login(requester_a.user)
    assert client.get(detail_url(ticket)).status_code == 200
    assert client.get(detail_url(ticket).replace("MRD-", "mrd-")).status_code == 200


def test_agents_see_internal_notes_on_the_ticket_page(contract_a, requester_a, agent_ber, client):
    ticket = open_ticket(requester_a)
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Check the CDN.", internal=True, now=NOW
    )
    client.force_login(agent_ber.user)
    html = client.get(detail_url(ticket)).content.decode()
    assert "Check the CDN." in html and "internal note" in html
    assert "Work this ticket in the support desk" in html


def test_the_ticket_page_links_each_attachment_for_download(contract_a, requester_a, client):
    ticket = open_ticket(requester_a, attachments=[SimpleUploadedFile("trace.log", b"abc")])
    attachment = Attachment.objects.get()
    client.force_login(requester_a.user)
    html = client.get(detail_url(ticket)).content.decode()
    url = reverse("tickets:attachment", args=[ticket.reference, attachment.pk])
    assert f'<a href="{url}" download>trace.log</a>' in html
    assert "3\xa0bytes" in html


def milestone(html: str, clock: str) -> str:
    start = html.index(f'id="milestone-{clock}"')
    return html[start : html.index("</li>", start)]


def milestone_states(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<li class="milestone milestone-(\w+)[^"]*" id="milestone-(\w+)">', html)


def test_the_ticket_page_shows_each_milestone_in_order_with_its_state_in_words(
    contract_a, requester_a, agent_ber, client
):
    ticket = open_ticket(requester_a)  # P2: respond 30 min, work around 2 h, root cause 8 h
    ticket_reply(ticket=ticket, author=agent_ber.user, body_text="Hi", now=NOW)
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        html = client.get(detail_url(ticket)).content.decode()
    assert '<ol class="milestones" role="list" aria-label="Milestones">' in html
    assert 'class="clocks"' not in html  # the timeline replaces the clocks table
    assert [name for _state, name in milestone_states(html)] == [
        "first_response",
        "workaround",
        "root_cause",
        "resolution",
    ]
    assert dict((name, state) for state, name in milestone_states(html)) == {
        "first_response": "met",
        "workaround": "breached",
        "root_cause": "running",
        "resolution": "running",
    }
    first = milestone(html, "first_response")
    assert "within 30m" in first and "(around the clock)" in first  # Enterprise is 24x7
    assert '<strong class="state state-met">Met</strong>: met Mon 02 Mar 2026 11:00 CET' in first
    workaround = milestone(html, "workaround")
    assert '<strong class="state state-breached">Missed</strong>: missed by 1h 00m' in workaround
    assert 'class="milestone milestone-breached is-broken"' in html
    # Resolution (24 h) due Tuesday 10:00 UTC, 11:00 in Berlin; 21 hours to go.
    resolution = milestone(html, "resolution")
    assert "within 24h 00m" in resolution
    assert '<time datetime="2026-03-03T11:00:00+01:00">Tue 03 Mar 2026 11:00 CET</time>' in (
        resolution
    )
    assert "On track</strong>: 21h 00m left" in resolution
    ticket_change_status(
        ticket=ticket, status="pending", actor=agent_ber.user, now=NOW + timedelta(hours=3)
    )
    with time_machine.travel(NOW + timedelta(hours=4), tick=False):
        html = client.get(detail_url(ticket)).content.decode()
    assert "Paused</strong>: paused" in milestone(html, "resolution")


def test_a_milestone_met_after_its_breach_says_how_late(contract_a, requester_a, agent_ber, client):
    ticket = open_ticket(requester_a)  # P2: first response due within 30 min
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Sorry", now=NOW + timedelta(minutes=45)
    )
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        first = milestone(client.get(detail_url(ticket)).content.decode(), "first_response")
    assert "Met late</strong>: met Mon 02 Mar 2026 11:45 CET (late by 15m)" in first
    assert "is-broken" in client.get(detail_url(ticket)).content.decode()


def test_a_business_hours_contract_says_which_milestones_count_around_the_clock(
    contract_b, requester_b, client
):
    ticket = open_ticket(requester_b, priority="p4")  # Standard: P4 resolution around the clock
    client.force_login(requester_b.user)
    html = client.get(detail_url(ticket)).content.decode()
    assert "(in business hours)" in milestone(html, "first_response")
    assert "(around the clock)" in milestone(html, "resolution")
    assert "milestone-root_cause" not in html  # Standard promises no root cause


def test_the_root_cause_summary_is_shown_with_its_milestone_and_never_the_detail(
    contract_a, requester_a, agent_ber, client
):
    ticket = open_ticket(requester_a)
    ticket_record_root_cause(
        ticket=ticket,
        now=NOW + timedelta(hours=2),
        actor=agent_ber.user,
        summary="A certificate expired on the edge proxies.",
        detail="INTERNAL: cron job for renewals was disabled by ops ticket OPS-77.",
    )
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        html = client.get(detail_url(ticket)).content.decode()
    root_cause = milestone(html, "root_cause")
    assert "A certificate expired on the edge proxies." in root_cause
    assert "met Mon 02 Mar 2026 13:00 CET" in root_cause
    assert "OPS-77" not in html and "INTERNAL" not in html


def test_a_root_cause_without_a_promise_is_still_shown_to_the_customer(
    contract_b, requester_b, agent_sg, client
):
    ticket = open_ticket(requester_b)  # Standard promises no root cause
    ticket_record_root_cause(
        ticket=ticket,
        now=NOW + timedelta(hours=1),
        actor=agent_sg.user,
        summary="A routing table was wrong.",
        detail="INTERNAL: change CHG-9 pushed the wrong table.",
    )
    client.force_login(requester_b.user)
    html = client.get(detail_url(ticket)).content.decode()
    assert html.count("A routing table was wrong.") == 1
    assert "CHG-9" not in html


# --- Replying ------------------------------------------------------------------------------------


def test_a_customer_reply_is_added_with_its_attachments(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)
    client.force_login(requester_a.user)
    response = client.post(
        reverse("tickets:reply", args=[ticket.reference]),
        {"body": "Here is a capture.", "attachments": [SimpleUploadedFile("call.pcap", b"\x01")]},
    )
    message = ticket.messages.latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"{detail_url(ticket)}#message-{message.pk}"
    assert (message.body_text, message.author_kind, message.visibility) == (
        "Here is a capture.",
        Message.AuthorKind.CUSTOMER,
        Message.Visibility.PUBLIC,
    )
    assert list(message.attachments.values_list("filename", flat=True)) == ["call.pcap"]
    page = client.get(response["Location"])
    assert f"Your reply was added to {ticket.reference}." in page.content.decode()


def test_an_empty_reply_is_refused_on_its_field(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)
    client.force_login(requester_a.user)
    response = client.post(reverse("tickets:reply", args=[ticket.reference]), {"body": "  "})
    html = response.content.decode()
    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_body_error"><li>Please write a reply.</li>' in html
    assert ticket.messages.count() == 1


def test_a_reply_with_a_refused_attachment_names_the_file_and_adds_nothing(
    contract_a, requester_a, client
):
    ticket = open_ticket(requester_a)
    client.force_login(requester_a.user)
    response = client.post(
        reverse("tickets:reply", args=[ticket.reference]),
        {"body": "See file", "attachments": [SimpleUploadedFile("run.sh", b"rm -rf")]},
    )
    assert response.status_code == 400
    assert "run.sh: files of type .sh are not accepted" in response.content.decode()
    assert ticket.messages.count() == 1
    assert not Attachment.objects.exists()


def test_replying_to_a_resolved_ticket_within_the_window_reopens_it(
    contract_a, requester_a, agent_ber, client
):
    ticket = open_ticket(requester_a)
    ticket_change_status(ticket=ticket, status="resolved", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        page = client.get(detail_url(ticket)).content.decode()
        assert "This ticket is resolved; replying reopens it." in page
        response = client.post(
            reverse("tickets:reply", args=[ticket.reference]), {"body": "Still broken."}
        )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_after_the_reopen_window_there_is_no_reply_form_and_a_reply_is_refused(
    contract_a, requester_a, agent_ber, client, settings
):
    settings.REOPEN_WINDOW_DAYS = 14
    ticket = open_ticket(requester_a)
    ticket_change_status(ticket=ticket, status="resolved", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        page = client.get(detail_url(ticket)).content.decode()
        response = client.post(
            reverse("tickets:reply", args=[ticket.reference]), {"body": "Still broken."}
        )
    assert "Send reply" not in page
    assert (
        'It could be reopened until <time datetime="2026-03-16T11:00:00+01:00">'
        "Mon 16 Mar 2026, 11:00 CET</time>; please"
    ) in page
    assert response.status_code == 400
    assert "can no longer be reopened; please open a new ticket." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.messages.count() == 1


def test_a_closed_ticket_takes_no_reply(contract_a, requester_a, agent_ber, client):
    ticket = open_ticket(requester_a)
    ticket_change_status(ticket=ticket, status="closed", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    page = client.get(detail_url(ticket)).content.decode()
    assert "This ticket is closed." in page
    assert "Send reply" not in page and "Mark as resolved" not in page
    response = client.post(reverse("tickets:reply", args=[ticket.reference]), {"body": "Hello?"})
    assert response.status_code == 400
    assert "is closed; open a new ticket instead." in response.content.decode()


def test_customers_of_another_organisation_cannot_reply(
    contract_a, requester_a, requester_b, client
):
    ticket = open_ticket(requester_a)
    client.force_login(requester_b.user)
    response = client.post(reverse("tickets:reply", args=[ticket.reference]), {"body": "Hi"})
    assert response.status_code == 404
    assert ticket.messages.count() == 1


def test_a_colleague_cannot_reply_to_an_unshared_ticket(
    contract_a, requester_a, colleague_a, client
):
    ticket = open_ticket(requester_a)
    client.force_login(colleague_a.user)
    response = client.post(reverse("tickets:reply", args=[ticket.reference]), {"body": "Hi"})
    assert response.status_code == 404
    assert ticket.messages.count() == 1


# --- Resolving and reopening ---------------------------------------------------------------------


def test_a_customer_marks_their_ticket_as_resolved(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)
    client.force_login(requester_a.user)
    assert "Mark as resolved" in client.get(detail_url(ticket)).content.decode()
    response = client.post(
        reverse("tickets:status", args=[ticket.reference]), {"status": "resolved"}, follow=True
    )
    assert f"{ticket.reference} marked as resolved." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.resolution_met_at is not None


def test_a_customer_reopens_a_resolved_ticket_while_within_the_window(
    contract_a, requester_a, agent_ber, client, settings
):
    settings.REOPEN_WINDOW_DAYS = 14
    ticket = open_ticket(requester_a)
    ticket_change_status(ticket=ticket, status="resolved", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(days=13), tick=False):
        page = client.get(detail_url(ticket)).content.decode()
        response = client.post(
            reverse("tickets:status", args=[ticket.reference]), {"status": "open"}, follow=True
        )
    assert "Mark as resolved" not in page
    assert '<button type="submit" class="button secondary">Reopen</button>' in page
    assert "You can reopen this ticket until" in page
    assert "Mon 16 Mar 2026, 11:00 CET" in page
    assert f"{ticket.reference} reopened." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_reopening_after_the_window_is_refused_with_the_reason(
    contract_a, requester_a, agent_ber, client, settings
):
    settings.REOPEN_WINDOW_DAYS = 14
    ticket = open_ticket(requester_a)
    ticket_change_status(ticket=ticket, status="resolved", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        page = client.get(detail_url(ticket)).content.decode()
        response = client.post(
            reverse("tickets:status", args=[ticket.reference]), {"status": "open"}, follow=True
        )
    assert ">Reopen</button>" not in page
    assert "can no longer be reopened" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_customers_cannot_set_other_statuses(contract_a, requester_a, client):
    ticket = open_ticket(requester_a)
    client.force_login(requester_a.user)
    response = client.post(
        reverse("tickets:status", args=[ticket.reference]), {"status": "closed"}, follow=True
    )
    assert "Choose to mark the ticket as resolved or to reopen it." in response.content.decode()
    response = client.post(
        reverse("tickets:status", args=[ticket.reference]), {"status": "open"}, follow=True
    )
    assert "Customers can resolve a ticket or reopen a resolved one." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_status_changes_are_404_for_other_organisations_and_need_a_post(
    contract_a, requester_a, requester_b, client
):
    ticket = open_ticket(requester_a)
    url = reverse("tickets:status", args=[ticket.reference])
    client.force_login(requester_b.user)
    assert client.post(url, {"status": "resolved"}).status_code == 404
    client.force_login(requester_a.user)
    assert client.get(url).status_code == 405
    ticket.refresh_from_db()
    assert ticket.status == "new"


# --- Attachment downloads ------------------------------------------------------------------------


def attachment_url(attachment: Attachment) -> str:
    return reverse("tickets:attachment", args=[attachment.ticket.reference, attachment.pk])


def test_an_attachment_downloads_with_its_name_type_and_nosniff(contract_a, requester_a, client):
    upload = SimpleUploadedFile("trace.log", b"frame 1\nframe 2\n", content_type="text/plain")
    open_ticket(requester_a, attachments=[upload])
    attachment = Attachment.objects.get()
    client.force_login(requester_a.user)
    response = client.get(attachment_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"frame 1\nframe 2\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="trace.log"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_attachment_of_another_organisation_is_404(contract_a, requester_a, org_admin_b, client):
    open_ticket(requester_a, attachments=[SimpleUploadedFile("trace.log", b"abc")])
    client.force_login(org_admin_b.user)
    assert client.get(attachment_url(Attachment.objects.get())).status_code == 404


def test_an_attachment_on_a_colleagues_ticket_is_404_unless_the_organisation_shares_tickets(
    contract_a, requester_a, colleague_a, client
):
    open_ticket(requester_a, attachments=[SimpleUploadedFile("trace.log", b"abc")])
    url = attachment_url(Attachment.objects.get())
    client.force_login(colleague_a.user)
    assert client.get(url).status_code == 404
    requester_a.organisation.requesters_see_all_tickets = True
    requester_a.organisation.save(update_fields=["requesters_see_all_tickets"])
    assert client.get(url).status_code == 200


def test_an_attachment_on_an_internal_note_is_404_for_customers_but_not_for_agents(
    contract_a, requester_a, org_admin_a, agent_ber, client
):
    ticket = open_ticket(requester_a)
    ticket_reply(
        ticket=ticket,
        author=agent_ber.user,
        body_text="Trace from our side.",
        internal=True,
        attachments=[SimpleUploadedFile("ours.log", b"x")],
        now=NOW,
    )
    url = attachment_url(Attachment.objects.get())
    for member in (requester_a, org_admin_a):
        client.force_login(member.user)
        assert client.get(url).status_code == 404
    client.force_login(agent_ber.user)
    assert client.get(url).status_code == 200


def test_a_missing_attachment_or_one_of_another_ticket_is_404(contract_a, requester_a, client):
    first = open_ticket(requester_a, attachments=[SimpleUploadedFile("a.log", b"a")])
    second = open_ticket(requester_a)
    attachment = Attachment.objects.get()
    client.force_login(requester_a.user)
    assert client.get(attachment_url(attachment)).status_code == 200
    other = reverse("tickets:attachment", args=[second.reference, attachment.pk])
    assert client.get(other).status_code == 404
    missing = reverse("tickets:attachment", args=[first.reference, attachment.pk + 1000])
    assert client.get(missing).status_code == 404


def test_attachment_downloads_need_a_login(contract_a, requester_a, client):
    open_ticket(requester_a, attachments=[SimpleUploadedFile("a.log", b"a")])
    response = client.get(attachment_url(Attachment.objects.get()))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- The ticket list -----------------------------------------------------------------------------


def references(html: str) -> list[str]:
    return re.findall(r'href="/tickets/(MRD-\d+)/"', html)


def test_the_list_filters_by_status_and_priority(contract_a, requester_a, agent_ber, client):
    p1 = open_ticket(requester_a, priority="p1", subject="Outage")
    p3 = open_ticket(requester_a, priority="p3", subject="Typo")
    done = open_ticket(requester_a, priority="p3", subject="Old")
    ticket_change_status(ticket=done, status="resolved", actor=agent_ber.user, now=NOW)
    client.force_login(requester_a.user)
    url = reverse("tickets:list")
    assert set(references(client.get(url).content.decode())) == {
        p1.reference,
        p3.reference,
        done.reference,
    }
    html = client.get(url, {"priority": "p3"}).content.decode()
    assert set(references(html)) == {p3.reference, done.reference}
    html = client.get(url, {"priority": "p3", "status": "resolved"}).content.decode()
    assert references(html) == [done.reference]
    html = client.get(url, {"status": "active"}).content.decode()
    assert set(references(html)) == {p1.reference, p3.reference}
    # An unknown filter value is ignored, the others still apply.
    html = client.get(url, {"status": "bogus", "priority": "p1"}).content.decode()
    assert references(html) == [p1.reference]


def test_the_list_searches_by_reference_or_subject(contract_a, requester_a, client):
    outage = open_ticket(requester_a, subject="Outage in Frankfurt")
    typo = open_ticket(requester_a, subject="Typo on invoice")
    client.force_login(requester_a.user)
    url = reverse("tickets:list")
    assert references(client.get(url, {"q": "frankfurt"}).content.decode()) == [outage.reference]
    html = client.get(url, {"q": typo.reference.lower()}).content.decode()
    assert references(html) == [typo.reference]
    html = client.get(url, {"q": "nothing like it"}).content.decode()
    assert references(html) == []
    assert "No tickets match these filters." in html


def test_the_list_shows_only_tickets_the_member_may_see(
    contract_a, contract_b, requester_a, colleague_a, requester_b, client
):
    mine = open_ticket(requester_a)
    open_ticket(colleague_a)
    open_ticket(requester_b)
    client.force_login(requester_a.user)
    assert references(client.get(reverse("tickets:list")).content.decode()) == [mine.reference]


def test_pagination_keeps_the_filters_in_its_links(contract_a, requester_a, client):
    for n in range(27):
        open_ticket(requester_a, priority="p3", subject=f"Question {n}")
    open_ticket(requester_a, priority="p1", subject="Outage")
    client.force_login(requester_a.user)
    url = reverse("tickets:list")
    html = client.get(url, {"priority": "p3", "q": "question"}).content.decode()
    assert len(references(html)) == 25
    assert "page 1 of 2" in html
    assert 'href="?priority=p3&amp;q=question&amp;page=2" rel="next"' in html
    html = client.get(url, {"priority": "p3", "q": "question", "page": 2}).content.decode()
    assert len(references(html)) == 2
    assert 'href="?priority=p3&amp;q=question&amp;page=1" rel="prev"' in html


# Session, user with its membership, count, one page of rows with their requesters.
LIST_QUERIES = 4


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_runs_the_same_queries_for_5_and_50_tickets(
    contract_a, org_admin_a, requester_a, colleague_a, client, django_assert_num_queries, count
):
    for n in range(count):
        open_ticket(requester_a if n % 2 else colleague_a, subject=f"T{n}")
    client.force_login(org_admin_a.user)
    with django_assert_num_queries(LIST_QUERIES):
        page = client.get(reverse("tickets:list"), {"status": "active", "priority": "p2"})
    assert len(references(page.content.decode())) == min(count, 25)
    assert "Rita Requester" in page.content.decode()  # requester names come with the rows
