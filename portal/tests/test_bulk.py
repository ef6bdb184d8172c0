"""Many rows in one statement: what goes in comes back, in order, on either database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import bulk
from tickets.models import Escalation, Notification, SLAAlert, Ticket, TicketEvent
from tickets.services import ticket_create

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def ticket(contract_a, requester_a) -> Ticket:
    return ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Broken",
        body_text="It is broken.",
        priority="p2",
        now=AT,
    )


def test_rows_insert_returns_the_new_keys_in_row_order_and_stores_every_value(ticket):
    before = set(TicketEvent.objects.values_list("pk", flat=True))
    rows = [
        (ticket.pk, TicketEvent.Kind.WARNING, "resolution", AT + timedelta(minutes=n), {"n": n})
        for n in range(5)
    ]
    ids = bulk.rows_insert(TicketEvent, ("ticket_id", "kind", "clock", "at", "data"), rows)

    assert len(ids) == 5 and not before & set(ids)
    stored = TicketEvent.objects.in_bulk(ids)
    for pk, (_, kind, clock, at, data) in zip(ids, rows, strict=True):
        event = stored[pk]
        assert (event.kind, event.clock, event.at, event.data) == (kind, clock, at, data)
        assert event.actor_id is None  # not given: its default


def test_rows_insert_fills_the_defaults_of_fields_not_given(ticket, agent_ber):
    alert_id, *_ = bulk.rows_insert(
        SLAAlert,
        ("ticket_id", "clock", "cycle_started_at", "threshold", "kind", "due_at", "at"),
        [(ticket.pk, "resolution", AT, 50, SLAAlert.Kind.WARNING, AT + timedelta(hours=4), AT)],
    )
    (escalation_id,) = bulk.rows_insert(
        Escalation,
        ("alert_id", "ticket_id", "recipient_id", "role", "created_at", "repeat_every"),
        [(alert_id, ticket.pk, agent_ber.user_id, "team_lead", AT, timedelta(minutes=15))],
    )
    (notification_id,) = bulk.rows_insert(
        Notification,
        ("escalation_id", "recipient_id", "ticket_id", "created_at"),
        [(escalation_id, agent_ber.user_id, ticket.pk, AT)],
    )
    escalation = Escalation.objects.get(pk=escalation_id)
    assert escalation.repeat_every == timedelta(minutes=15)
    assert (escalation.repeats, escalation.acknowledged_at) == (0, None)
    notification = Notification.objects.get(pk=notification_id)
    assert notification.sequence == notification.email_attempts == 0
    assert notification.read_at is None
    assert notification.escalation.alert.threshold == 50


def test_rows_insert_splits_large_inputs_and_keeps_their_order(ticket, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 3)
    rows = [(ticket.pk, TicketEvent.Kind.MESSAGE, "", AT, {"n": n}) for n in range(8)]
    ids = bulk.rows_insert(TicketEvent, ("ticket_id", "kind", "clock", "at", "data"), rows)
    stored = TicketEvent.objects.in_bulk(ids)
    assert [stored[pk].data["n"] for pk in ids] == list(range(8))


def test_rows_insert_of_nothing_writes_nothing(db):
    with CaptureQueriesContext(connection) as queries:
        assert bulk.rows_insert(TicketEvent, ("ticket_id",), []) == []
    assert queries.captured_queries == []


def test_rows_insert_is_counted_where_queries_are_counted(ticket):
    with CaptureQueriesContext(connection) as queries:
        bulk.rows_insert(
            TicketEvent,
            ("ticket_id", "kind", "at"),
            [(ticket.pk, TicketEvent.Kind.MESSAGE, AT)] * 3,
        )
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    expected = "COPY" if connection.vendor == "postgresql" else "INSERT"
    assert statements.count(expected) == 1, statements


def test_bulk_set_writes_each_row_its_own_values(ticket, requester_a):
    other = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="email",
        subject="Also broken",
        body_text="Same here.",
        priority="p3",
        now=AT,
    )
    ticket.resolution_alert_at = AT + timedelta(hours=1)
    ticket.resolution_paused_for = timedelta(minutes=7)
    ticket.sla_paused_clocks = ["resolution"]
    other.resolution_alert_at = None
    other.resolution_paused_for = timedelta(0)
    other.sla_paused_clocks = []
    fields = ["resolution_alert_at", "resolution_paused_for", "sla_paused_clocks"]

    bulk.bulk_set([ticket, other], fields)

    for saved in (ticket, other):
        stored = Ticket.objects.get(pk=saved.pk)
        assert [getattr(stored, f) for f in fields] == [getattr(saved, f) for f in fields]
    assert Ticket.objects.get(pk=other.pk).subject == "Also broken"  # other fields untouched


def test_bulk_set_of_nothing_writes_nothing(db):
    with CaptureQueriesContext(connection) as queries:
        bulk.bulk_set([], ["updated_at"])
    assert queries.captured_queries == []
