"""An agent works the four promises of an Enterprise P1 in a real browser (Debian's Chromium
driven by Playwright) on the demo's world: respond, work around, find the root cause, fix.

The screenshot is written to docs/screenshots/ and shown in the README.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.models import Member
from portal.tests.test_browser import chromium, shot  # noqa: F401 (a fixture)
from tickets.clock_display import format_instant
from tickets.demo.seeding import seed_world
from tickets.models import Ticket
from tickets.services import ticket_create

PASSWORD = "meridian-demo"  # noqa: S105 (the demo's)
AGENT = "lena.fischer"  # Berlin L1, in Europe/Berlin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Passwords hashed as in production: the server, a process of its own, checks them."""


@pytest.fixture
def page(chromium, fresh_dev_server):  # noqa: F811 (the fixture imported above)
    # The page is laid out for a 1366x768 laptop screen.
    context = chromium.new_context(
        base_url=fresh_dev_server, viewport={"width": 1366, "height": 768}, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_agent_sees_an_enterprise_p1s_four_promises_and_meets_two_in_the_desk(page):
    seed_world(now=timezone.now(), password=PASSWORD)
    customer = Member.objects.select_related("organisation").get(
        user__username="ben.okafor@auroralive.example"
    )
    assert customer.organisation.name == "Aurora Live"
    # Opened a few minutes ago: the first response is still running when the agent looks.
    created = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=6)
    ticket = ticket_create(
        organisation=customer.organisation,
        requester=customer,
        channel="web",
        subject="Live channel main-01 rebuffers for every viewer",
        body_text="Since 10:02 every viewer of main-01 sees the player rebuffer every minute.",
        priority="p1",
        now=created,
    )

    page.goto("/admin/login/")
    page.get_by_label("Username").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/tickets/ticket/{ticket.pk}/change/")

    def milestone(clock: str):
        return page.locator(f".sla-milestones li[data-clock={clock}]")

    # Respond in 10 minutes, work around in 30, the root cause in 2 hours, the fix in 48, each
    # due in the agent's zone; the next response starts when the customer writes again.
    with timezone.override("Europe/Berlin"):
        for clock, target, after in (
            ("first_response", "within 10m", timedelta(minutes=10)),
            ("workaround", "within 30m", timedelta(minutes=30)),
            ("root_cause", "within 2h 00m", timedelta(hours=2)),
            ("resolution", "within 48h 00m", timedelta(hours=48)),
        ):
            expect(milestone(clock)).to_contain_text(target)
            expect(milestone(clock)).to_contain_text(
                f"Due {format_instant(created + after, year=False)}"
            )
            expect(milestone(clock)).to_contain_text("running")
    expect(milestone("next_response")).to_contain_text("not started")
    expect(page.locator(".field-root_cause_recorded")).to_contain_text("Not yet.")

    page.get_by_label("Mark workaround").check()
    page.get_by_label("Workaround note").fill("Switch main-01 to the backup CDN host.")
    summary = (
        "A configuration change on our Berlin edge made it drop video segments under load. "
        "We rolled it back."
    )
    page.get_by_label("Public summary").fill(summary)
    page.get_by_label("Internal detail").fill("edge-ber-3 got cache config v412 (segment TTL 0).")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(milestone("workaround")).to_contain_text("met")
    expect(milestone("root_cause")).to_contain_text("met")
    expect(milestone("first_response")).to_contain_text("running")
    recorded = page.locator(".field-root_cause_recorded")
    expect(recorded).to_contain_text(summary)
    expect(recorded).to_contain_text("Internal edge-ber-3 got cache config v412")
    expect(recorded).to_contain_text("met the promise")
    expect(page.locator(".desk-history")).to_contain_text("Lena Fischer recorded the root cause.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shot(page, "support-desk-milestones")

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.workaround_met_at is not None and ticket.workaround_breached_at is None
    assert ticket.root_cause_met_at is not None and ticket.root_cause_breached_at is None
    assert ticket.root_cause_detail == "edge-ber-3 got cache config v412 (segment TTL 0)."
