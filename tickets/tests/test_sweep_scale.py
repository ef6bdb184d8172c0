"""The sweep's work is set-based: its query count depends on what is due, not on how many
tickets are open."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.loadgen import loadgen
from tickets.services import deadlines_sweep
from tickets.tasks import sweep_deadlines

pytestmark = pytest.mark.usefixtures("demo_world")

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def queries_of_a_sweep() -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = deadlines_sweep(now=NOW)
    return len(queries.captured_queries), result


def test_sweep_query_count_stays_the_same_from_100_to_10000_open_tickets(db):
    loadgen(orgs=4, tickets=100, open_share=1.0, now=NOW)
    small, result = queries_of_a_sweep()
    assert (result.warnings, result.breaches, result.tickets) == (0, 0, 0)
    loadgen(orgs=4, tickets=9_900, open_share=1.0, now=NOW)
    large, result = queries_of_a_sweep()
    assert (result.warnings, result.breaches, result.tickets) == (0, 0, 0)
    assert large == small, (small, large)


def test_sweep_query_count_does_not_grow_with_the_clocks_due_in_a_batch(db):
    loadgen(orgs=4, tickets=20, open_share=1.0, due_now=20, now=NOW)
    few, result = queries_of_a_sweep()
    assert result.warnings + result.breaches == 20
    loadgen(orgs=4, tickets=200, open_share=1.0, due_now=200, now=NOW)
    many, result = queries_of_a_sweep()
    assert result.warnings + result.breaches == 200
    # Same number of queries for ten times the work (a few may differ: L2 moves are one
    # UPDATE per team, and reading the policy of a tier seen for the first time).
    assert many <= few + 6, (few, many)


def test_a_backlog_calls_in_helpers_once_and_a_small_load_does_not(db):
    loadgen(orgs=4, tickets=5, open_share=1.0, due_now=5, now=NOW)
    calls = []
    result = deadlines_sweep(now=NOW, batch_size=2, on_backlog=lambda: calls.append(1))
    assert (result.tickets, calls) == (5, [1])

    loadgen(orgs=4, tickets=1, open_share=1.0, due_now=1, now=NOW)
    result = deadlines_sweep(now=NOW, batch_size=2, on_backlog=lambda: calls.append(2))
    assert (result.tickets, calls) == (1, [1])


def test_the_beat_task_asks_for_helpers_at_its_instant_and_helpers_ask_for_none(
    db, settings, monkeypatch
):
    settings.SWEEP_BATCH_SIZE = 2
    settings.SWEEP_CONCURRENCY = 3
    loadgen(orgs=4, tickets=5, open_share=1.0, due_now=5, now=NOW)
    enqueued = []
    # The broker is the edge: record what would be sent to it.
    monkeypatch.setattr(
        sweep_deadlines, "apply_async", lambda args, queue: enqueued.append((args, queue))
    )
    with time_machine.travel(NOW, tick=False):
        counts = sweep_deadlines()
    assert counts["tickets"] == 5
    assert enqueued == [([NOW.isoformat()], None)] * 2

    enqueued.clear()
    loadgen(orgs=4, tickets=5, open_share=1.0, due_now=5, now=NOW)
    counts = sweep_deadlines(NOW.isoformat())  # a helper: sweeps at the given instant
    assert (counts["tickets"], enqueued) == (5, [])
