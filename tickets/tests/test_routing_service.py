"""Applying routing: the `routed` event, automatic assignment, handover at the end of a shift
(exactly once), the coverage check, and the region queues."""

import io
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections

from portal.models import Agent, Member, Organisation, Team
from tickets.demo.seeding import seed_world
from tickets.models import Handover, Message, Ticket, TicketEvent
from tickets.services import ticket_create, ticket_reply
from tickets.services.routing import handovers_run, ticket_route


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def open_ticket(
    name: str, when: datetime, *, priority: str = "p2", subject: str = "Echo"
) -> Ticket:
    organisation = Organisation.objects.get(name=name)
    requester = Member.objects.filter(organisation=organisation).first()
    return ticket_create(
        organisation=organisation,
        requester=requester,
        channel=Ticket.Channel.WEB,
        subject=subject,
        body_text="Viewers hear an echo on every call.",
        priority=priority,
        now=when,
        actor=requester.user,
    )


def test_routing_a_new_ticket_records_from_to_and_why(demo_world):
    # Aurora Live (Berlin, Enterprise 24x7) writes in on a Monday evening in Berlin.
    when = at("2026-03-02 18:00")
    ticket = open_ticket("Aurora Live", when)
    assert ticket.team is None
    decision = ticket_route(ticket_id=ticket.pk, now=when)
    ticket.refresh_from_db()
    assert ticket.team.name == "São Paulo L1" == decision.team.name
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    assert event.data["from"]["team"] is None
    assert event.data["to"]["team"] == ticket.team_id
    assert event.data["trigger"] == "created"
    assert "follow-the-sun" in event.data["reason"]
    # Routing again moves nothing and records nothing.
    ticket_route(ticket_id=ticket.pk, now=when + timedelta(minutes=1))
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_a_resolved_ticket_is_not_routed(demo_world):
    when = at("2026-03-02 18:00")
    ticket = open_ticket("Aurora Live", when)
    Ticket.objects.filter(pk=ticket.pk).update(status="resolved", resolved_at=when)
    assert ticket_route(ticket_id=ticket.pk, now=when) is None
    assert not TicketEvent.objects.filter(ticket=ticket, kind="routed").exists()


def test_the_creations_routing_leaves_a_ticket_placed_since_where_it_is(demo_world):
    # The task runs late (a worker that was down) and an escalation already moved the ticket.
    when = at("2026-03-02 18:00")
    ticket = open_ticket("Aurora Live", when)
    berlin_l2 = Team.objects.get(name="Berlin L2")
    Ticket.objects.filter(pk=ticket.pk).update(team=berlin_l2)
    assert ticket_route(ticket_id=ticket.pk, now=when + timedelta(minutes=5)) is None
    ticket.refresh_from_db()
    assert ticket.team == berlin_l2
    assert not ticket.events.filter(kind=TicketEvent.Kind.ROUTED).exists()
    # An escalation's routing still moves it.
    decision = ticket_route(
        ticket_id=ticket.pk, now=when + timedelta(minutes=6), trigger="escalated"
    )
    assert decision is not None


def test_creation_enqueues_routing_on_the_home_regions_queue_after_commit(
    demo_world, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "tickets.services.routing.current_app.send_task",
        lambda name, args, queue=None: sent.append((name, args, queue)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket("Harbour Telecom", at("2026-03-03 02:00"))
    routed = [call for call in sent if call[0] == "tickets.tasks.route_ticket"]
    assert routed == [("tickets.tasks.route_ticket", [ticket.pk, "created"], "region.sg")]


def test_auto_assignment_is_fair_by_weighted_load_respects_caps_and_skips_the_away(demo_world):
    team = Team.objects.get(name="Singapore L1")
    assert team.auto_assign
    agents = list(Agent.objects.filter(team=team).select_related("user").order_by("pk"))
    mei, arjun, siew, hafiz = agents
    Agent.objects.filter(pk=hafiz.pk).update(away=True)
    Agent.objects.filter(pk=siew.pk).update(max_open_tickets=1)
    Agent.objects.filter(team=team).exclude(pk=siew.pk).update(max_open_tickets=None)
    when = at("2026-03-03 02:00")  # Singapore on shift
    given = []
    for number, priority in enumerate(["p1", "p4", "p4", "p4", "p4", "p2"]):
        ticket = open_ticket("Harbour Telecom", when, priority=priority, subject=f"Issue {number}")
        ticket_route(ticket_id=ticket.pk, now=when + timedelta(seconds=number))
        ticket.refresh_from_db()
        given.append((priority, ticket.assignee_id))
        when += timedelta(minutes=1)
    # Ties go to whoever waited longest (never assigned first, by id): Mei takes the P1 (load
    # 4); Arjun and Siew are still at 0 — Arjun waited longest; then Siew (cap 1, now full);
    # then Arjun again (1 < 4), again (2 < 4), then the P2 to Arjun (3) rather than Mei (4).
    assert given == [
        ("p1", mei.user_id),
        ("p4", arjun.user_id),
        ("p4", siew.user_id),
        ("p4", arjun.user_id),
        ("p4", arjun.user_id),
        ("p2", arjun.user_id),
    ]
    assert hafiz.user_id not in {assignee for _priority, assignee in given}
    assert Agent.objects.get(pk=arjun.pk).last_assigned_at is not None


def test_a_team_with_everyone_away_leaves_the_ticket_unassigned_and_says_why(demo_world):
    team = Team.objects.get(name="Singapore L1")
    Agent.objects.filter(team=team).update(away=True)
    when = at("2026-03-03 02:00")
    ticket = open_ticket("Harbour Telecom", when)
    decision = ticket_route(ticket_id=ticket.pk, now=when)
    ticket.refresh_from_db()
    assert ticket.team == team and ticket.assignee is None
    assert "away or at their cap" in decision.reason


def _urgent_ticket_with_berlin(when: datetime) -> Ticket:
    ticket = open_ticket("Aurora Live", when, priority="p1", subject="Black screen in Europe")
    ticket_route(ticket_id=ticket.pk, now=when)
    ticket.refresh_from_db()
    assert ticket.team.name == "Berlin L1"
    return ticket


def test_handover_moves_urgent_24x7_tickets_once_with_a_note(demo_world):
    morning = at("2026-03-02 15:00")
    urgent = _urgent_ticket_with_berlin(morning)
    ticket_reply(
        ticket=urgent,
        author=urgent.requester.user,
        now=morning + timedelta(minutes=5),
        body_text="Still black for viewers in Hamburg and Munich.",
    )
    calm = open_ticket("Aurora Live", morning, priority="p3", subject="Billing question")
    ticket_route(ticket_id=calm.pk, now=morning)
    business = open_ticket("Fjord Media", morning, priority="p2", subject="Standard contract")
    ticket_route(ticket_id=business.pk, now=morning)
    # Berlin's shift ends at 17:00 UTC (18:00 local); the beat runs a minute later, twice.
    first = handovers_run(now=at("2026-03-02 17:01"))
    second = handovers_run(now=at("2026-03-02 17:02"))
    assert first.moved == 1 and second.moved == 0
    assert Handover.objects.filter(team__name="Berlin L1", shift_ended_at=at("2026-03-02 17:00"))
    urgent.refresh_from_db()
    assert urgent.team.name == "São Paulo L1"
    routed = urgent.events.filter(kind="routed").last()
    assert routed.data["trigger"] == "handover"
    note = urgent.messages.filter(author_kind=Message.AuthorKind.SYSTEM).last()
    assert note.visibility == Message.Visibility.INTERNAL
    assert "Hamburg and Munich" in note.body_text
    assert "Resolution" in note.body_text and "Time left" in note.body_text
    # P3 and business-hours tickets stay with Berlin overnight.
    assert Ticket.objects.get(pk=calm.pk).team.name == "Berlin L1"
    assert Ticket.objects.get(pk=business.pk).team.name == "Berlin L1"


def test_a_handover_that_fails_midway_is_retried_whole(demo_world, monkeypatch):
    urgent = _urgent_ticket_with_berlin(at("2026-03-02 15:00"))

    def broken(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr("tickets.services.routing._handover_note", broken)
    with pytest.raises(RuntimeError):
        handovers_run(now=at("2026-03-02 17:01"))
    assert not Handover.objects.exists()
    assert Ticket.objects.get(pk=urgent.pk).team.name == "Berlin L1"
    monkeypatch.undo()
    assert handovers_run(now=at("2026-03-02 17:05")).moved == 1
    assert handovers_run(now=at("2026-03-02 17:06")).moved == 0
    assert urgent.events.filter(kind="routed", data__trigger="handover").count() == 1


def test_coverage_check_reports_a_gap_when_the_duty_team_is_gone(demo_world):
    out = io.StringIO()
    call_command("coverage_check", "--weeks", "2", "--from", "2026-03-02T00:00", stdout=out)
    assert "Covered" in out.getvalue()
    Agent.objects.filter(team__level=Team.Level.DUTY).delete()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("coverage_check", "--weeks", "2", "--from", "2026-03-02T00:00", stdout=out)
    assert exit_.value.code == 1
    report = out.getvalue()
    assert "GAP Sat 2026-03-07 01:00 to Mon 2026-03-09 00:00 UTC" in report
    assert "GAP Sat 2026-03-14 00:00 to Mon 2026-03-16 00:00 UTC" in report
    assert "2 gaps" in report


@pytest.mark.django_db(transaction=True)
def test_a_region_worker_routes_the_tickets_of_its_region(celery_worker, settings):
    seed_world(now=at("2026-03-01 00:00"), password=None)
    worker = celery_worker("--pool=solo", queue="region.sg")
    settings.CELERY_REGION_QUEUES = True
    ticket = open_ticket("Harbour Telecom", datetime.now(UTC))
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while datetime.now(UTC) < deadline:
        ticket.refresh_from_db()
        if ticket.team_id is not None:
            break
        connection.close()
        time.sleep(0.5)
    assert ticket.team_id is not None, "the region's worker did not route the ticket"
    assert worker.process.poll() is None


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_hand_a_shift_over_once():
    seed_world(now=at("2026-03-01 00:00"), password=None)
    urgent = [_urgent_ticket_with_berlin(at("2026-03-02 15:00")) for _ in range(5)]
    start = threading.Barrier(2)
    results, errors = [], []

    def beat() -> None:
        try:
            start.wait()
            results.append(handovers_run(now=at("2026-03-02 17:01")))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(result.moved for result in results) == 5
    assert Handover.objects.filter(team__name="Berlin L1").count() == 1
    for ticket in urgent:
        assert ticket.events.filter(kind="routed", data__trigger="handover").count() == 1
        assert ticket.messages.filter(author_kind="system").count() == 1
