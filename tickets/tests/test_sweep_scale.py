"""The sweep's work is set-based: its query count depends on what is due, not on how many
tickets are open."""

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.loadgen import loadgen
from tickets.services import sweep

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def queries_of_a_sweep() -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = sweep(NOW)
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
