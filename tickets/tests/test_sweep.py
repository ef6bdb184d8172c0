"""The deadline sweep records each warning and breach once, at the right instant."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from conftest import make_agent
from portal.models import Agent
from tickets.clock_replay import replay_differences
from tickets.models import Escalation, Notification, SLAAlert, Ticket
from tickets.services import (
    NotificationError,
    deadlines_sweep,
    escalation_acknowledge,
    notification_send,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

SINGAPORE = ZoneInfo("Asia/Singapore")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def create(member, at: datetime, priority: str) -> Ticket:
    return ticket_create(
        organisation=member.organisation,
        requester=member,
        channel="web",
        subject="Broken",
        body_text="It is broken.",
        priority=priority,
        now=at,
    )


def alerts(ticket: Ticket, clock: str | None = None) -> list[tuple[str, int]]:
    rows = SLAAlert.objects.filter(ticket=ticket).order_by("at", "threshold")
    if clock:
        rows = rows.filter(clock=clock)
    return [(row.clock, row.threshold) for row in rows]


def test_warnings_and_breach_come_at_their_business_time_instants(
    contract_b, requester_b, agent_sg
):
    # Standard P2 in Singapore business hours (Mon-Fri 09-17): first response 120 minutes.
    # Created Friday 16:00 SGT: 50% (60 min) is used at Friday 17:00, the closing instant;
    # 80% (96 min) on Monday at 09:36; the deadline is Monday 10:00.
    ticket = create(requester_b, datetime(2026, 3, 6, 16, 0, tzinfo=SINGAPORE), "p2")
    assert ticket.first_response_alert_at == datetime(2026, 3, 6, 17, 0, tzinfo=SINGAPORE)

    def at(day, hour, minute, second=0):
        return datetime(2026, 3, day, hour, minute, second, tzinfo=SINGAPORE)

    assert deadlines_sweep(now=at(6, 17, 0)).warnings == 0  # not yet passed
    result = deadlines_sweep(now=at(7, 12, 0))  # Saturday
    assert (result.warnings, result.breaches) == (1, 0)
    assert alerts(ticket, "first_response") == [("first_response", 50)]
    assert deadlines_sweep(now=at(9, 9, 35)).warnings == 0
    assert deadlines_sweep(now=at(9, 9, 36, 1)).warnings == 1
    assert (
        deadlines_sweep(now=at(9, 10, 0)).breaches == 0
    )  # exactly at the deadline: not passed yet
    assert deadlines_sweep(now=at(9, 10, 0, 1)).breaches == 1
    assert alerts(ticket, "first_response") == [
        ("first_response", 50),
        ("first_response", 80),
        ("first_response", 100),
    ]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.first_response_breached_at == at(9, 10, 0)
    assert stored.first_response_alert_at is None
    # Nothing is recorded twice, however often the sweep runs.
    for _ in range(3):
        deadlines_sweep(now=at(20, 12, 0))
    assert alerts(ticket, "first_response").count(("first_response", 100)) == 1
    stored = Ticket.objects.get(pk=ticket.pk)
    assert replay_differences(stored, stored.events.order_by("id")) == []


def test_a_paused_clock_never_warns_or_breaches_while_paused(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p2")  # Enterprise 24x7: resolution 480 min
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Hi", now=created + timedelta(minutes=5)
    )
    ticket_change_status(
        ticket=ticket, status="pending", actor=agent_ber.user, now=created + timedelta(minutes=10)
    )
    deadlines_sweep(now=created + timedelta(days=3))
    assert alerts(ticket, "resolution") == []
    assert alerts(ticket, "workaround") == []
    # Back to open after three days: the resolution clock runs on from 10 minutes used.
    resumed_at = created + timedelta(days=3)
    ticket_change_status(ticket=ticket, status="open", actor=agent_ber.user, now=resumed_at)
    deadlines_sweep(now=resumed_at + timedelta(minutes=229))
    assert alerts(ticket, "resolution") == []
    deadlines_sweep(now=resumed_at + timedelta(minutes=231))  # 240 of 480 minutes used
    assert alerts(ticket, "resolution") == [("resolution", 50)]


def test_a_met_clock_never_breaches(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p1")  # first response 10 minutes
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Hi", now=created + timedelta(minutes=4)
    )
    deadlines_sweep(now=created + timedelta(hours=1))
    assert alerts(ticket, "first_response") == []


def test_every_clock_is_watched_and_next_response_per_cycle(contract_a, requester_a, agent_ber):
    created = utc(2026, 3, 2, 10, 0)
    ticket = create(requester_a, created, "p1")  # 10 / 30 / 30 / 120
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Hi", now=created + timedelta(minutes=2)
    )
    ticket_reply(
        ticket=ticket, author=requester_a.user, body_text="?", now=created + timedelta(minutes=3)
    )
    deadlines_sweep(now=created + timedelta(minutes=200))
    assert {clock for clock, _ in alerts(ticket)} == {"next_response", "workaround", "resolution"}
    assert alerts(ticket, "next_response") == [
        ("next_response", 50),
        ("next_response", 80),
        ("next_response", 100),
    ]
    ticket_reply(
        ticket=ticket, author=agent_ber.user, body_text="Hi", now=created + timedelta(minutes=201)
    )
    ticket_reply(
        ticket=ticket, author=requester_a.user, body_text="?", now=created + timedelta(minutes=202)
    )
    deadlines_sweep(now=created + timedelta(minutes=300))
    cycles = SLAAlert.objects.filter(ticket=ticket, clock="next_response", threshold=100)
    assert cycles.count() == 2
    assert len(set(cycles.values_list("cycle_started_at", flat=True))) == 2


def test_an_alert_exists_at_most_once_in_the_database(contract_a, requester_a):
    ticket = create(requester_a, utc(2026, 3, 2, 10, 0), "p1")
    deadlines_sweep(now=utc(2026, 3, 2, 12, 0))
    alert = SLAAlert.objects.filter(ticket=ticket, kind="breach").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAAlert.objects.create(
            ticket=ticket,
            clock=alert.clock,
            cycle_started_at=alert.cycle_started_at,
            threshold=100,
            kind="breach",
            due_at=alert.due_at,
            at=alert.at,
        )


# --- Escalation ------------------------------------------------------------------------------


@pytest.fixture
def team_ber(cast):
    """Berlin L1 with agent and lead; Berlin L2; Singapore L1 agent; all on business hours."""
    return cast


def test_warning_goes_to_assignee_and_team_lead(team_ber):
    cast = team_ber
    # Monday 2026-03-02 09:00 UTC is 10:00 in Berlin: Berlin is on shift, Singapore is not.
    created = utc(2026, 3, 2, 9, 0)
    ticket = create(cast["requester_a"], created, "p2")
    l1 = cast["agent_ber"].team
    ticket_assign(ticket=ticket, now=created, actor=None, team=l1, assignee=cast["agent_ber"].user)
    deadlines_sweep(now=created + timedelta(minutes=16))  # first response 30 min: 50% passed
    warning = SLAAlert.objects.get(ticket=ticket, kind="warning")
    recipients = dict(warning.escalations.values_list("recipient__username", "role"))
    assert recipients == {"lena.agent": "assignee", "jonas.lead": "team_lead"}
    assert Notification.objects.filter(escalation__alert=warning).count() == 2


def test_breach_goes_to_lead_and_l2_and_moves_a_p2_to_l2(team_ber):
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    ticket = create(cast["requester_a"], created, "p2")
    ticket_assign(
        ticket=ticket,
        now=created,
        actor=None,
        team=cast["agent_ber"].team,
        assignee=cast["agent_ber"].user,
    )
    deadlines_sweep(now=created + timedelta(minutes=31))
    breach = SLAAlert.objects.get(ticket=ticket, kind="breach")
    recipients = dict(breach.escalations.values_list("recipient__username", "role"))
    assert recipients == {"jonas.lead": "team_lead", "max.l2": "l2_team"}
    moved = Ticket.objects.get(pk=ticket.pk)
    assert moved.team == cast["l2_ber"].team
    assert moved.assignee is None
    routed = moved.events.get(kind="routed")
    assert routed.data["trigger"] == "escalated"
    assert routed.data["to"]["team"] == cast["l2_ber"].team.pk
    assert not breach.escalations.filter(next_repeat_at__isnull=False).exists()  # P2: no repeats


def test_p1_breach_tells_the_account_manager_and_repeats_until_acknowledged(team_ber):
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    ticket = create(cast["requester_a"], created, "p1")
    deadlines_sweep(now=created + timedelta(minutes=11))
    breach = SLAAlert.objects.get(ticket=ticket, kind="breach", clock="first_response")
    roles = set(breach.escalations.values_list("role", flat=True))
    assert roles == {"team_lead", "l2_team", "account_manager"}
    manager = breach.escalations.get(role="account_manager")
    assert manager.next_repeat_at == created + timedelta(minutes=26)
    first = Notification.objects.filter(escalation=manager).count()
    assert deadlines_sweep(now=created + timedelta(minutes=20)).repeats == 0
    result = deadlines_sweep(now=created + timedelta(minutes=27))
    assert result.repeats == breach.escalations.count()
    assert Notification.objects.filter(escalation=manager).count() == first + 1
    escalation_acknowledge(
        escalation=manager, user=cast["account_manager"].user, now=created + timedelta(minutes=30)
    )
    assert deadlines_sweep(now=created + timedelta(minutes=45)).repeats == 0
    assert ticket.events.filter(kind="acknowledged").count() == 1


def test_repeats_stop_when_the_clock_is_met(team_ber):
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    ticket = create(cast["requester_a"], created, "p1")
    deadlines_sweep(now=created + timedelta(minutes=11))
    ticket_reply(
        ticket=ticket,
        author=cast["agent_ber"].user,
        body_text="Here",
        now=created + timedelta(minutes=12),
    )
    result = deadlines_sweep(now=created + timedelta(minutes=30))
    repeated = Notification.objects.filter(
        escalation__alert__clock="first_response", sequence__gt=0
    )
    assert not repeated.exists()
    assert result.repeats >= 0
    assert not Escalation.objects.filter(
        alert__clock="first_response", next_repeat_at__isnull=False
    ).exists()


def test_only_the_recipient_can_acknowledge(team_ber):
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    create(cast["requester_a"], created, "p1")
    deadlines_sweep(now=created + timedelta(minutes=11))
    escalation = Escalation.objects.filter(role="account_manager").first()

    with pytest.raises(NotificationError, match="Only the person"):
        escalation_acknowledge(escalation=escalation, user=cast["agent_ber"].user, now=created)


def test_an_off_shift_lead_is_replaced_by_the_on_shift_lead_of_the_region(cast):
    # 02:00 UTC Monday: Berlin (03:00) is off shift, Singapore (10:00) is on shift. Berlin has
    # no lead on shift, so the lead on shift anywhere (none in Singapore L1 here) ... make one.

    sg_lead = make_agent("wei.lead", cast["agent_sg"].team, Agent.Role.LEAD)
    created = utc(2026, 3, 2, 2, 0)
    ticket = create(cast["requester_a"], created, "p2")
    ticket_assign(
        ticket=ticket,
        now=created,
        actor=None,
        team=cast["agent_ber"].team,
        assignee=cast["agent_ber"].user,
    )
    deadlines_sweep(now=created + timedelta(minutes=16))
    warning = SLAAlert.objects.get(ticket=ticket, kind="warning")
    recipients = dict(warning.escalations.values_list("recipient__username", "role"))
    # The Berlin assignee is off shift and left out; the follow-the-sun lead takes the warning.
    assert recipients == {sg_lead.user.username: "team_lead"}


# --- Notifications -----------------------------------------------------------------------------


def test_notification_email_names_ticket_customer_clock_and_due_in_recipient_zone(
    team_ber, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://support.example.com"
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    ticket = create(cast["requester_a"], created, "p2")
    ticket_assign(
        ticket=ticket,
        now=created,
        actor=None,
        team=cast["agent_ber"].team,
        assignee=cast["agent_ber"].user,
    )
    deadlines_sweep(now=created + timedelta(minutes=16))
    lead_note = Notification.objects.get(recipient=cast["lead_ber"].user)
    assert notification_send(notification_id=lead_note.pk, now=created + timedelta(minutes=17))
    assert not notification_send(notification_id=lead_note.pk, now=created + timedelta(minutes=18))
    (email,) = mail.outbox
    assert email.to == [cast["lead_ber"].user.email]
    assert email.subject == (
        f"[Warning 50%] {ticket.reference} Acme Streaming: first response due Mon 10:30 CET"
    )
    assert "Customer:  Acme Streaming" in email.body
    assert "Due:       Mon 2 Mar 2026, 10:30 CET (Europe/Berlin)" in email.body
    assert "Time left: 13m" in email.body
    assert f"https://support.example.com/admin/tickets/ticket/{ticket.pk}/change/" in email.body
    html = email.alternatives[0][0]
    assert ticket.reference in html and "Acme Streaming" in html
    assert email.extra_headers["X-Meridian-Notification"] == str(lead_note.pk)
    lead_note.refresh_from_db()
    assert lead_note.email_sent_at is not None


def test_breach_email_says_overdue(team_ber, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    create(cast["requester_a"], created, "p1")
    deadlines_sweep(now=created + timedelta(minutes=11))
    note = Notification.objects.filter(
        recipient=cast["account_manager"].user, escalation__alert__clock="first_response"
    ).get()
    notification_send(notification_id=note.pk, now=created + timedelta(minutes=12))
    (email,) = mail.outbox
    assert email.subject.startswith("[Breach] ")
    assert "first response overdue" in email.subject
    assert "Overdue by: 2m" in email.body
    assert "Acknowledge to stop the reminders" in email.body


def test_late_emails_are_handed_to_a_sender_again_and_never_sent_twice(team_ber, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    create(cast["requester_a"], created, "p2")
    deadlines_sweep(now=created + timedelta(minutes=16))
    pending = Notification.objects.filter(email_sent_at__isnull=True).count()
    assert pending > 0
    # Their sender never ran (say the worker died right after the commit): two minutes on,
    # the sweep hands them out again, once.
    assert deadlines_sweep(now=created + timedelta(minutes=17)).resent == 0
    assert deadlines_sweep(now=created + timedelta(minutes=19)).resent == pending
    assert deadlines_sweep(now=created + timedelta(minutes=19, seconds=30)).resent == 0
    for note in Notification.objects.all():
        notification_send(notification_id=note.pk, now=created + timedelta(minutes=20))
        notification_send(notification_id=note.pk, now=created + timedelta(minutes=20))
    assert len(mail.outbox) == pending


def test_one_sweep_hands_out_every_late_email_whatever_its_batch_size(team_ber):
    cast = team_ber
    created = utc(2026, 3, 2, 9, 0)
    create(cast["requester_a"], created, "p1")
    deadlines_sweep(now=created + timedelta(minutes=11))  # a P1 breach: several people told
    pending = Notification.objects.filter(email_sent_at__isnull=True).count()
    assert pending > 1
    # Batches of one: still every late email in one sweep, each once.
    result = deadlines_sweep(now=created + timedelta(minutes=14), batch_size=1)
    assert result.resent == pending
    assert deadlines_sweep(now=created + timedelta(minutes=14), batch_size=1).resent == 0
