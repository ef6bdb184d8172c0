"""`manage.py loadgen`: realistic tickets, fast, that replay cleanly and leave the sweep exactly
the work asked for."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Q

from contracts.models import Contract
from contracts.selectors import sla_terms_for
from portal.models import Member, Organisation
from tickets.clock_replay import replay_differences
from tickets.clocks import CLOCKS
from tickets.demo.world import ALERT_SUBJECTS, REGIONS, SUBJECTS
from tickets.loadgen import DUE_WINDOW, LoadgenError, loadgen
from tickets.models import Message, PhoneCall, SLAAlert, Ticket, TicketEvent
from tickets.services.sweep import deadlines_sweep

pytestmark = pytest.mark.usefixtures("demo_world")

# A Tuesday morning in Europe: some business-hours calendars are open, some closed.
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def run(**options):
    options = {"orgs": 3, "tickets": 300, "now": NOW, **options}
    return loadgen(**options)


def load_tickets():
    return Ticket.objects.filter(organisation__slug__startswith="load-")


def alert_due(at: datetime) -> Q:
    due = Q()
    for clock in CLOCKS:
        due |= Q(**{f"{clock}_alert_at__lte": at})
    return due


def due_clocks(at: datetime) -> list[tuple[str, str, datetime]]:
    return [
        (ticket.reference, clock, getattr(ticket, f"{clock}_alert_at"))
        for ticket in load_tickets().filter(alert_due(at))
        for clock in CLOCKS
        if getattr(ticket, f"{clock}_alert_at") and getattr(ticket, f"{clock}_alert_at") <= at
    ]


@pytest.fixture
def small_run(db):
    return run()


def test_small_run_creates_organisations_with_a_signed_contract_an_admin_and_a_requester(
    small_run,
):
    organisations = Organisation.objects.filter(slug__startswith="load-").order_by("slug")
    assert [org.name for org in organisations] == [
        "Load Org 000001",
        "Load Org 000002",
        "Load Org 000003",
    ]
    assert small_run.organisations_created == 3
    tiers = []
    for org in organisations:
        (contract,) = Contract.objects.filter(organisation=org)
        contract.full_clean()  # one active contract per organisation per day
        assert contract.status == Contract.Status.ACTIVE
        assert contract.signed_by.member.role == Member.Role.ADMIN
        assert contract.terms_hash
        assert set(org.members.values_list("role", flat=True)) == {"admin", "requester"}
        tiers.append(contract.tier.code)
    assert tiers == ["enterprise", "business", "standard"]
    assert len({org.home_region_id for org in organisations}) == 3


def test_small_run_covers_every_channel_status_and_the_priorities_each_contract_allows(
    small_run,
):
    tickets = load_tickets()
    assert tickets.count() == small_run.tickets == 300
    assert set(tickets.values_list("channel", flat=True)) == set(Ticket.Channel.values)
    assert set(tickets.values_list("status", flat=True)) == set(Ticket.Status.values)
    for org in Organisation.objects.filter(slug__startswith="load-"):
        allowed = set(Contract.objects.get(organisation=org).terms["targets"])
        used = set(tickets.filter(organisation=org).values_list("priority", flat=True))
        assert used == allowed
    standard = tickets.filter(sla_tier__code="standard")
    assert standard.exists()
    assert not standard.filter(priority="p1").exists()


def test_every_generated_ticket_replays_without_differences(small_run):
    for ticket in load_tickets():
        assert replay_differences(ticket, ticket.events.order_by("id")) == [], ticket.reference


def test_tickets_carry_the_snapshot_ticket_create_would_take(small_run):
    for ticket in load_tickets().select_related("organisation")[:40]:
        terms = sla_terms_for(organisation=ticket.organisation, at=ticket.created_at)
        assert ticket.sla_contract_id == terms.contract.pk
        assert ticket.sla_tier_id == terms.tier.pk
        assert (ticket.sla_calendar_id, ticket.sla_calendar_version) == (
            terms.calendar.pk,
            terms.calendar_version,
        )
        assert ticket.sla_targets == terms.targets
        assert ticket.sla_pause_statuses == terms.pause_statuses
        assert ticket.sla_paused_clocks == terms.paused_clocks
        assert ticket.sla_warning_thresholds == terms.warning_thresholds
        assert ticket.sla_around_the_clock == terms.around_the_clock


def test_resolved_tickets_promised_a_root_cause_mostly_have_one(small_run):
    resolved = load_tickets().filter(status__in=["resolved", "closed"])
    promised = resolved.filter(root_cause_due_at__isnull=False)
    recorded = promised.filter(root_cause_met_at__isnull=False)
    assert promised.count() > 10
    assert recorded.count() >= promised.count() // 2
    for ticket in recorded[:10]:
        assert ticket.root_cause_summary and ticket.root_cause_detail
        event = ticket.events.get(kind=TicketEvent.Kind.ROOT_CAUSE)
        assert event.data["summary"] == ticket.root_cause_summary
        assert event.at == ticket.root_cause_met_at
        assert ticket.root_cause_taken is not None


def test_histories_hold_the_events_and_messages_the_services_write(small_run):
    tickets = load_tickets()
    created = TicketEvent.objects.filter(ticket__in=tickets, kind=TicketEvent.Kind.CREATED)
    assert created.count() == 300
    assert set(created.first().data) == {
        "channel",
        "priority",
        "status",
        "contract",
        "tier",
        "clocks",
    }
    first_messages = Counter(
        Message.objects.filter(ticket__in=tickets, visibility="public")
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", flat=True)
    )
    assert set(first_messages) == set(tickets.values_list("pk", flat=True))
    for ticket in tickets.filter(status__in=["resolved", "closed"]):
        kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
        assert "responded" in kinds or "call" in kinds
        assert "resolved" in kinds
        assert ("closed" in kinds) == (ticket.status == "closed")
        assert ticket.resolved_at is not None
        assert ticket.updated_at == ticket.events.order_by("id").last().at
    phone = tickets.filter(channel="phone")
    assert PhoneCall.objects.filter(ticket__in=phone).count() == phone.count()
    for ticket in tickets.filter(channel="email")[:20]:
        first = ticket.messages.order_by("created_at", "id").first()
        assert first.email_message_id.startswith(f"<{ticket.reference.lower()}@")
    assigned = tickets.filter(team__isnull=False, assignee__isnull=False)
    assert assigned.count() > 200
    assert all(t.team.region_id == t.organisation.home_region_id for t in assigned[:30])


def test_tickets_share_stories_told_once_on_the_clock_engine(small_run):
    # Tickets drawing the same snapshot, priority, kind of story and variant share its clocks.
    assert 0 < small_run.stories < small_run.tickets
    shapes = Counter(
        load_tickets().values_list(
            "sla_tier_id", "sla_calendar_id", "priority", "status", "created_at"
        )
    )
    assert max(shapes.values()) > 1
    assert len(shapes) > 50  # still spread over many instants


def test_texts_survive_the_copy_format(small_run):
    """Newlines, percent signs and accents come back as written."""
    cities = {spec.name for spec in REGIONS}
    expected = {
        subject.format(city=city)
        for city in cities
        for subject in (*ALERT_SUBJECTS, *(s for group in SUBJECTS.values() for s in group))
    }
    subjects = set(load_tickets().values_list("subject", flat=True))
    assert subjects <= expected
    assert any("%" in subject for subject in subjects)
    assert any("ã" in subject for subject in subjects)  # São Paulo
    web = load_tickets().filter(channel="web").first()
    body = web.messages.order_by("id").first().body_text
    assert body.startswith(f"Hello support,\n\n{web.subject}. It affects ")
    replies = Message.objects.filter(ticket__in=load_tickets(), author_kind="agent", channel="web")
    reply = replies.select_related("ticket").first()
    assert reply.body_text.endswith(f"({reply.ticket.reference})")


def test_events_and_alerts_have_the_shape_the_services_write(small_run):
    events = TicketEvent.objects.filter(ticket__in=load_tickets())
    # `_record` writes no paused or resumed event for a clock with nothing promised.
    for event in events.filter(kind__in=["paused", "resumed"]):
        assert event.data["due_before"] or event.data["due_after"], event.data
    # A breach a transition observes is recorded as `alerts_raise` does: an alert and its event.
    breaches = list(events.filter(kind="breach"))
    assert breaches
    alerts = {alert.pk: alert for alert in SLAAlert.objects.filter(ticket__in=load_tickets())}
    for event in breaches:
        alert = alerts[event.data["alert"]]
        assert (alert.ticket_id, alert.clock) == (event.ticket_id, event.clock)
        assert alert.kind == SLAAlert.Kind.BREACH
        assert alert.threshold == SLAAlert.BREACH_THRESHOLD == event.data["threshold"]
        assert alert.at == event.at
        assert alert.due_at.isoformat() == event.data["due_at"]
    # Every message an event points at is the ticket's own.
    messages = dict(Message.objects.filter(ticket__in=load_tickets()).values_list("pk", "ticket"))
    for event in events.filter(kind__in=["responded", "message"]):
        assert messages[event.data["message"]] == event.ticket_id
    calls = dict(PhoneCall.objects.values_list("pk", "ticket"))
    for event in events.filter(kind="call"):
        assert calls[event.data["call"]] == event.ticket_id


def test_open_share_is_respected(db):
    report = run(tickets=200, open_share=0.5)
    assert report.open_tickets == 100
    assert load_tickets().open().count() == 100


def test_with_due_now_zero_no_clock_is_due_and_sweep_instants_lie_ahead(small_run):
    assert small_run.due_clocks == 0
    assert due_clocks(NOW) == []
    ahead = sorted(
        getattr(ticket, f"{clock}_alert_at")
        for ticket in load_tickets().open()
        for clock in CLOCKS
        if getattr(ticket, f"{clock}_alert_at")
    )
    assert len(ahead) >= 60  # open tickets have running clocks, pending ones are paused
    assert ahead[0] > NOW
    assert ahead[len(ahead) // 2] < NOW + timedelta(days=5)
    running = Q()
    for clock in CLOCKS:
        running |= Q(**{f"{clock}_alert_at__isnull": False})
    assert not load_tickets().filter(running, status__in=["resolved", "closed"]).exists()


def test_due_now_leaves_exactly_that_many_clocks_due_within_the_last_minutes(db):
    report = run(due_now=25)
    assert report.due_clocks == 25
    due = due_clocks(NOW)
    assert len(due) == 25
    assert len({reference for reference, _, _ in due}) == 25
    assert all(NOW - DUE_WINDOW <= at < NOW for _, _, at in due)
    # Some cross a warning threshold; some are past due after every warning was recorded.
    tickets = load_tickets().filter(reference__in=[reference for reference, _, _ in due])
    warned = [getattr(t, f"{clock}_warned") for t in tickets for clock in CLOCKS]
    assert 0 in warned and 80 in warned
    assert SLAAlert.objects.filter(ticket__in=tickets).exists()
    for ticket in tickets:
        assert replay_differences(ticket, ticket.events.order_by("id")) == []
        # The sweep records alerts without touching `updated_at`: the last service operation.
        operations = ticket.events.exclude(kind__in=["warning", "breach"]).order_by("id")
        assert ticket.updated_at == max(event.at for event in operations)


def test_a_sweep_now_records_exactly_one_alert_per_clock_due(db):

    run(due_now=25)
    before = SLAAlert.objects.count()
    result = deadlines_sweep(now=NOW)
    assert (result.tickets, result.warnings + result.breaches) == (25, 25)
    assert result.warnings and result.breaches
    assert SLAAlert.objects.count() == before + 25


def test_running_twice_with_the_same_seed_adds_tickets_but_no_organisations(db):
    first = run(tickets=100)
    second = run(tickets=100)
    assert (first.organisations_created, second.organisations_created) == (3, 0)
    assert Organisation.objects.filter(slug__startswith="load-").count() == 3
    assert Contract.objects.filter(organisation__slug__startswith="load-").count() == 3
    assert load_tickets().count() == 200
    assert len(set(load_tickets().values_list("reference", flat=True))) == 200


def test_more_due_clocks_than_open_tickets_is_refused(db):
    with pytest.raises(LoadgenError, match="exceeds"):
        run(tickets=10, open_share=0.3, due_now=4)


@pytest.mark.django_db(transaction=True)
def test_parallel_jobs_write_the_same_tickets_as_one_job():
    def content(tickets):
        return sorted(
            tickets.values_list(
                "organisation__slug",
                "channel",
                "priority",
                "status",
                "subject",
                "created_at",
                "updated_at",
                "first_response_due_at",
                "resolution_alert_at",
            )
        )

    one = run(tickets=120, chunk_size=40, seed=7)
    ids = (load_tickets().order_by("pk").first().pk, load_tickets().order_by("pk").last().pk)
    parallel = run(tickets=120, chunk_size=40, seed=7, jobs=2)
    assert parallel.tickets == one.tickets == 120
    assert content(load_tickets().filter(pk__range=ids)) == content(
        load_tickets().exclude(pk__range=ids)
    )


def test_command_prints_the_rate_and_the_data_size(db):
    out = StringIO()
    call_command("loadgen", "--orgs", "2", "--tickets", "40", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "40 tickets" in text
    assert "tickets/s" in text
    assert "Clocks due for the sweep" in text
    assert load_tickets().count() == 40
