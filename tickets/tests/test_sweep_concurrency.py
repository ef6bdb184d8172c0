"""Sweeps running at the same time split the work and record every alert exactly once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from tickets.models import SLAAlert, TicketEvent
from tickets.services import deadlines_sweep, ticket_create

CREATED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_each_alert_once(cast):
    requester = cast["requester_a"]
    for n in range(120):
        ticket_create(
            organisation=requester.organisation,
            requester=requester,
            channel="api",
            subject=f"Outage {n}",
            body_text="Down.",
            priority="p1",
            now=CREATED,
        )
    now = CREATED + timedelta(hours=3)  # every P1 clock is long past its deadline
    start = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            start.wait()
            results.append(deadlines_sweep(now=now, batch_size=10))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # First response, workaround and resolution: two warnings and a breach each.
    expected = 120 * 3
    assert SLAAlert.objects.filter(kind="breach").count() == expected
    assert SLAAlert.objects.filter(kind="warning").count() == 2 * expected
    assert sum(r.breaches for r in results) == expected
    assert sum(r.warnings for r in results) == 2 * expected
    assert TicketEvent.objects.filter(kind="breach").count() == expected
    if connection.vendor == "postgresql":
        # SKIP LOCKED: each sweep took tickets the other had not locked.
        assert all(r.tickets > 0 for r in results)
        assert sum(r.tickets for r in results) == 120
