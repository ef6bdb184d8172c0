"""A customer in a real browser (Debian's Chromium driven by Playwright) against the server
`make run` starts (Django's development server, in a process of its own):
log in, file a ticket with an attachment, follow its countdown on the dashboard, reply, resolve.

The screenshots of the key pages are written to docs/screenshots/ and shown in the README.
"""

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from portal.services import staff_permissions_sync
from tickets.models import Attachment, CannedResponse, Ticket
from tickets.services import ticket_create, ticket_reply

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct-horse-battery"  # conftest's make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Passwords hashed as in production: the server, a process of its own, checks them."""


@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does)")
    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # refuse ORM calls from the test as "async"; they are synchronous here.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if allowed is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


@pytest.fixture
def page(chromium, dev_server):
    context = chromium.new_context(
        base_url=dev_server, viewport={"width": 1280, "height": 860}, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_customer_files_a_ticket_follows_it_replies_and_resolves(cast, page, tmp_path):
    requester = cast["requester_a"]
    # Some history so the dashboard is not empty.
    earlier = ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="email",
        subject="Latency jumped from 3 s to 20 s on our main channel",
        body_text="Since this morning.",
        priority="p3",
        now=timezone.now() - timedelta(hours=2),
    )
    ticket_reply(
        ticket=earlier,
        author=cast["agent_ber"].user,
        body_text="Looking into it.",
        now=timezone.now() - timedelta(hours=1),
    )

    page.goto("/accounts/login/")
    shot(page, "login")
    log_in(page, requester.user.username)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto("/tickets/new/")
    page.get_by_label("Subject").fill("Viewers in Berlin see buffering every few minutes")
    page.get_by_label("Description").fill(
        "Since 09:00 about 300 viewers see the player buffer every 2-3 minutes."
    )
    page.locator("input[name=priority][value=p2]").check()
    page.get_by_label("Product area").select_option("streaming")
    log = tmp_path / "player-trace.log"
    log.write_text("09:01:12 buffer underrun cdn=edge-ber-3\n")
    page.get_by_label(re.compile("^Attachments")).set_input_files(str(log))
    shot(page, "new-ticket")
    page.get_by_role("button", name="Create ticket").click()

    expect(page.get_by_text(re.compile(r"Ticket MRD-\d{6} created"))).to_be_visible()
    ticket = Ticket.objects.exclude(pk=earlier.pk).get()
    assert page.url.endswith(f"/tickets/{ticket.reference}/")
    assert Attachment.objects.get(ticket=ticket).filename == "player-trace.log"
    expect(page.get_by_role("link", name="player-trace.log")).to_be_visible()
    milestones = page.get_by_role("list", name="Milestones").get_by_role("listitem")
    first_response = milestones.filter(has=page.get_by_role("heading", name="First response"))
    expect(first_response).to_contain_text("On track")
    shot(page, "ticket")

    # The dashboard lists it with a live countdown to its next deadline.
    page.goto("/")
    row = page.get_by_role("row", name=re.compile(ticket.reference))
    expect(row).to_be_visible()
    countdown = row.locator(".countdown[data-due]")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=5_000)  # it ticks
    shot(page, "dashboard")

    page.get_by_role("link", name=ticket.reference).click()
    page.get_by_label("Your reply").fill("It also happens on the backup stream.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("It also happens on the backup stream.")).to_be_visible()

    page.get_by_role("button", name="Mark as resolved").click()
    expect(page.get_by_text(re.compile("Status: Resolved"))).to_be_visible()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.resolution_met_at is not None


def test_agent_sees_the_ticket_and_its_clocks_in_the_support_desk(cast, page):
    staff_permissions_sync()
    requester = cast["requester_a"]
    ticket = ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="web",
        subject="One-way audio for Android callers",
        body_text="Callers cannot hear us.",
        priority="p1",
        now=timezone.now() - timedelta(minutes=4),
    )
    CannedResponse.objects.create(
        title="Investigating", body="Hello {customer_name}, we are on {ticket_reference}."
    )
    # The page is laid out for a 1366x768 laptop screen.
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, cast["agent_ber"].user.username)
    page.goto(f"/admin/tickets/ticket/{ticket.pk}/change/")
    clocks = page.locator("ol.sla-milestones")
    expect(clocks).to_contain_text("First response")
    expect(clocks).to_contain_text("running")
    expect(page.locator(".desk-conversation")).to_contain_text("Callers cannot hear us.")
    expect(page.locator(".desk-routing")).to_contain_text("Routing would choose now")
    shot(page, "support-desk-ticket")

    # A canned response goes into the reply box; Ctrl+Enter sends it and stays on the page.
    page.get_by_label("Insert a canned response").select_option(label="Investigating")
    reply = page.locator("#id_reply")
    expect(reply).to_have_value(f"Hello Rita Requester, we are on {ticket.reference}.")
    page.locator("#id_attachments").set_input_files(
        files=[{"name": "steps.txt", "mimeType": "text/plain", "buffer": b"1. update"}]
    )
    reply.press("Control+Enter")
    answer = page.locator(".desk-message-agent")
    expect(answer).to_contain_text(f"we are on {ticket.reference}")
    expect(answer).to_contain_text("Support desk")
    with page.expect_download() as download:
        answer.get_by_role("link", name="steps.txt").click()
    assert download.value.suggested_filename == "steps.txt"
    page.goto("/admin/tickets/ticket/")
    expect(page.get_by_role("link", name=ticket.reference)).to_be_visible()
    # Untaken in Berlin: the Berlin L1 agent's default view shows it; answered, its next clock
    # is the workaround's.
    expect(page.locator("td.field-next_clock .q-clock").first).to_contain_text("Workaround")
    shot(page, "support-desk-queue")
    work_the_at_risk_queue(cast, page)


def work_the_at_risk_queue(cast, page) -> None:
    """Open At risk, take the ticket, answer with a canned response, resolve.

    Part of the desk's test, not a test of its own: the development server caches content
    type ids, which a flush between transactional tests renumbers on PostgreSQL."""
    requester, agent = cast["requester_a"], cast["agent_ber"]
    # A P1 opened 4 minutes ago: its first response is due in 6 minutes (at risk).
    ticket = ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="email",
        subject="Stream freezes for viewers in Madrid",
        body_text="Every viewer in Madrid sees a frozen frame since 10:00.",
        priority="p1",
        now=timezone.now() - timedelta(minutes=4),
    )
    calm = ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="web",
        subject="Question about invoice numbering",
        body_text="Which number do we quote?",
        priority="p4",
        now=timezone.now(),
    )
    CannedResponse.objects.create(
        title="Fixed", body="Hello {customer_name}, {ticket_reference} is fixed: please check."
    )
    page.goto("/admin/tickets/ticket/")
    page.locator("nav.queue-views").get_by_role("link", name=re.compile("^At risk")).click()
    row = page.get_by_role("row", name=re.compile(ticket.reference))
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name=calm.reference)).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shot(page, "support-desk-at-risk")

    row.locator("input[name=_selected_action]").check()
    page.locator("select[name=action]").select_option(label="Assign to me")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("1 ticket assigned to you")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.assignee == agent.user

    page.get_by_role("link", name=ticket.reference).click()
    # Loaded, not just parsed: the page's script sets up the canned responses when it is ready.
    page.wait_for_url(re.compile(rf"/tickets/ticket/{ticket.pk}/change/"))
    page.get_by_label("Insert a canned response").select_option(label="Fixed")
    expect(page.locator("#id_reply")).to_have_value(re.compile(f"{ticket.reference} is fixed"))
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".desk-conversation")).to_contain_text(f"{ticket.reference} is fixed")
    shot(page, "support-desk-resolved")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.first_response_met_at is not None and ticket.resolution_met_at is not None
    assert ticket.messages.filter(channel="desk", visibility="public").count() == 1
