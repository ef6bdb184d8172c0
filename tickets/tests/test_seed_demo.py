from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from contracts.models import BusinessCalendar, ComplianceStatement, Contract, SLATier
from portal.models import Agent, Member, Organisation, Region, Team
from tickets.models import (
    CannedResponse,
    Escalation,
    Message,
    Notification,
    OutboundEmail,
    PhoneCall,
    SLAAlert,
    Ticket,
    TicketEvent,
)
from tickets.services import deadlines_sweep, ticket_create

DATA_APPS = ("portal", "contracts", "tickets", "auth")


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every model, as plain values, ordered by primary key."""
    return {
        model._meta.label: [
            tuple(row.values()) for row in model._default_manager.order_by("pk").values()
        ]
        for app in DATA_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", "--tickets-per-org", "6", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_builds_the_demo_world(seeded):
    assert set(Region.objects.values_list("code", flat=True)) == {"sg", "dxb", "sao", "ber", "nyc"}
    # An L1 and an L2 team per region, and one duty team on call around the clock.
    assert Team.objects.filter(level__in=[Team.Level.L1, Team.Level.L2]).count() == 10
    assert list(Team.objects.filter(level=Team.Level.DUTY).values_list("name", flat=True)) == [
        "Follow-the-sun duty"
    ]
    assert set(Team.objects.values_list("level", flat=True)) == {"l1", "l2", "duty"}
    assert BusinessCalendar.objects.get(team__level=Team.Level.DUTY).hours == "always"
    assert BusinessCalendar.objects.filter(region__isnull=False).count() == 10
    assert set(SLATier.objects.values_list("code", flat=True)) == {
        "standard",
        "business",
        "enterprise",
    }
    enterprise_p1 = SLATier.objects.get(code="enterprise").targets.get(priority="p1")
    assert (
        enterprise_p1.first_response_minutes,
        enterprise_p1.workaround_minutes,
        enterprise_p1.root_cause_minutes,
        enterprise_p1.resolution_minutes,
    ) == (10, 30, 120, 2880)
    assert Organisation.objects.count() == 20
    assert Member.objects.filter(role=Member.Role.ADMIN).count() == 20
    assert Agent.objects.filter(role=Agent.Role.ACCOUNT_MANAGER).exists()
    assert Agent.objects.filter(role=Agent.Role.LEAD).count() == 11
    assert Contract.objects.filter(status=Contract.Status.ACTIVE).count() >= 20


def test_seed_tickets_cover_every_channel_and_state(seeded):
    assert Ticket.objects.count() >= 20 * 4
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Ticket.Channel.values)
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert PhoneCall.objects.exists()
    assert Message.objects.filter(visibility=Message.Visibility.INTERNAL).exists()
    # Agents answer from the support desk, with canned responses at hand.
    agents = Message.objects.filter(author_kind=Message.AuthorKind.AGENT)
    assert set(agents.values_list("channel", flat=True)) == {"desk", "phone"}
    assert CannedResponse.objects.filter(active=True).count() == 4
    assert (
        TicketEvent.objects.filter(kind=TicketEvent.Kind.CREATED).count() == Ticket.objects.count()
    )


def test_seed_records_root_causes_met_late_and_still_owed(seeded):
    promised = Ticket.objects.filter(root_cause_due_at__isnull=False)
    assert set(promised.values_list("sla_tier__code", flat=True)) == {"enterprise", "business"}
    recorded = promised.exclude(root_cause_summary="")
    # Met within the promise, met late, and owed on open work, running or already missed.
    assert recorded.filter(root_cause_breached_at__isnull=True).exists()
    assert recorded.filter(root_cause_breached_at__isnull=False).exists()
    owed = promised.filter(root_cause_met_at__isnull=True, status__in=["new", "open", "pending"])
    assert owed.filter(root_cause_breached_at__isnull=True).exists()
    assert owed.filter(root_cause_breached_at__isnull=False).exists()
    assert recorded.filter(status__in=["resolved", "closed"]).exists()
    assert recorded.filter(status__in=["open", "pending"]).exists()
    # Every one with an internal detail, which the history never carries.
    assert not recorded.filter(root_cause_detail="").exists()
    events = TicketEvent.objects.filter(kind=TicketEvent.Kind.ROOT_CAUSE)
    assert events.count() == recorded.count()
    assert all(
        set(event.data) == {"summary", "revised", "with_detail", "clocks"} for event in events
    )


def test_seed_prints_the_demo_logins(seeded):
    assert "Demo logins" in seeded
    assert "admin " in seeded
    assert "sophie.laurent" in seeded
    assert "@auroralive.example" in seeded


def test_seeding_twice_gives_the_same_data(seeded):
    before = snapshot()
    out = StringIO()
    call_command("seed_demo", "--tickets-per-org", "6", stdout=out, stderr=StringIO())
    assert "Created: nothing new" in out.getvalue()
    assert snapshot() == before


# A Wednesday morning in Europe: every region's shift but New York's is open or near.
DEMO_NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def test_the_demo_starts_calm_and_tells_people_only_what_happens_while_it_runs(
    db, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(DEMO_NOW, tick=False)
    call_command("seed_demo", "--tickets-per-org", "6", stdout=StringIO(), stderr=StringIO())
    # The demo's past: its alerts were told and acknowledged back then, nothing waits to be sent.
    assert SLAAlert.objects.exists()
    assert not Notification.objects.filter(email_sent_at__isnull=True).exists()
    assert not Escalation.objects.filter(acknowledged_at__isnull=True).exists()
    assert not OutboundEmail.objects.filter(sent_at__isnull=True, skipped_reason="").exists()

    # The first beat of the live demo finds nothing to tell anyone.
    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        result = deadlines_sweep(now=DEMO_NOW)
    assert result.as_dict() == dict.fromkeys(result.as_dict(), 0)
    assert dispatched == []

    # A ticket opened while the demo runs, and left unanswered, is told about.
    contract = Contract.objects.active_on(DEMO_NOW.date()).filter(tier__code="enterprise")[0]
    requester = Member.objects.filter(organisation=contract.organisation)[0]
    ticket = ticket_create(
        organisation=contract.organisation,
        requester=requester,
        channel="web",
        subject="Live streams stall",
        body_text="Every stream stalls after a minute.",
        priority="p1",
        now=DEMO_NOW + timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        result = deadlines_sweep(now=DEMO_NOW + timedelta(minutes=30))
    assert result.breaches >= 1
    told = Notification.objects.filter(ticket=ticket, email_sent_at__isnull=True)
    assert told.exists()
    assert dispatched  # their sender tasks, handed out when the sweep's batch committed


def test_seed_issues_last_months_statements_but_one_left_to_check(seeded):
    last_day = timezone.now().date().replace(day=1) - timedelta(days=1)
    month = last_day.replace(day=1)
    in_force = Contract.objects.filter(status__in=["active", "ended"], starts_on__lte=last_day)
    in_force = in_force.exclude(ends_on__lt=month)
    statements = ComplianceStatement.objects.filter(month=month)
    assert set(in_force.values_list("organisation_id", flat=True)) <= set(
        statements.values_list("organisation_id", flat=True)
    )
    assert list(statements.values_list("status", flat=True)).count("draft") == 1
    assert all(s.content_hash for s in statements.filter(status="issued"))
