"""A whole run: reference data, organisations, then chunks of tickets, in parallel processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import connection, connections
from django.utils import timezone

from contracts.models import SLATier
from portal.models import Region
from tickets.clocks import CLOCKS
from tickets.demo.world import REGIONS
from tickets.loadgen.chunks import CHUNK_SIZE, ChunkResult, Generator, ticket_kinds
from tickets.loadgen.organisations import LoadgenError, organisations_ensure, organisations_load
from tickets.models import Ticket


@dataclass
class LoadReport:
    """What a run created, how long it took, and how many clocks it left due for the sweep."""

    organisations: int
    organisations_created: int
    tickets: int = 0
    open_tickets: int = 0
    messages: int = 0
    events: int = 0
    calls: int = 0
    alerts: int = 0
    due_clocks: int = 0  # clocks of this run's tickets with alert_at <= now
    due_clocks_total: int = 0  # the same over every ticket in the database
    seconds: float = 0.0  # the whole run
    ticket_seconds: float = 0.0  # generating and writing the tickets
    database_seconds: float = 0.0  # of which COPY or inserts and commits, summed over chunks
    generate_seconds: float = 0.0  # drawing, telling stories and building rows, summed
    stories: int = 0  # stories told on the clock engine, summed over the processes

    @property
    def tickets_per_second(self) -> float:
        return self.tickets / self.ticket_seconds if self.ticket_seconds else 0.0

    @property
    def overall_tickets_per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


def due_clocks(*, now: datetime, id_range: tuple[int, int] | None = None) -> int:
    """Clocks with an alert instant at or before `now` (one query per clock's partial index)."""
    tickets = Ticket.objects.all()
    if id_range is not None:
        tickets = tickets.filter(pk__range=id_range)
    return sum(tickets.filter(**{f"{clock}_alert_at__lte": now}).count() for clock in CLOCKS)


def database_size() -> int | None:
    """Bytes the database takes on disk (PostgreSQL or an SQLite file); None when unknown."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return cursor.fetchone()[0]
    name = connection.settings_dict["NAME"]
    path = Path(str(name))
    return path.stat().st_size if connection.vendor == "sqlite" and path.is_file() else None


@dataclass(frozen=True)
class _Plan:
    tickets: int
    open_total: int
    due_now: int
    chunk_size: int

    def chunks(self) -> list[tuple[int, int, int]]:
        """(index, first ticket, end) of each chunk."""
        return [
            (index, start, min(start + self.chunk_size, self.tickets))
            for index, start in enumerate(range(0, self.tickets, self.chunk_size))
        ]

    def kinds(self, start: int, stop: int) -> list[str]:
        return ticket_kinds(
            start, stop, tickets=self.tickets, open_total=self.open_total, due_now=self.due_now
        )


# Worker processes (PostgreSQL, jobs > 1) are forked from the run: they inherit its generator
# (organisations, snapshots, their text) and open their own connections. The parent only hands
# out chunk numbers and adds up the results: no work per ticket.
_worker: tuple[Generator, _Plan] | None = None


def _worker_chunk(index: int, start: int, stop: int) -> ChunkResult:
    generator, plan = _worker
    return generator.chunk(index, plan.kinds(start, stop))


def _chunks_run(*, orgs: int, now: datetime, seed: int, plan: _Plan, jobs: int) -> Iterator:
    global _worker
    chunks = plan.chunks()
    if not chunks:
        return
    generator = Generator(organisations=organisations_load(count=orgs, now=now), now=now, seed=seed)
    if jobs == 1 or len(chunks) == 1:
        for index, start, stop in chunks:
            yield generator.chunk(index, plan.kinds(start, stop))
        return
    # Children must not share the parent's database connection: close it before forking, so
    # each child opens its own (and the parent reopens its own afterwards).
    connections.close_all()
    _worker = (generator, plan)
    try:
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(chunks)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            futures = [pool.submit(_worker_chunk, *chunk) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        _worker = None


def loadgen(
    *,
    orgs: int,
    tickets: int,
    open_share: float = 0.3,
    seed: int = 1,
    due_now: int = 0,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    password: str | None = None,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> LoadReport:
    """Create the load organisations 1..`orgs` that are missing, then `tickets` tickets over
    them; returns the counts, the time taken and the clocks left due for the sweep.

    `open_share` of the tickets are open; `due_now` of those have one clock due for the sweep at
    `now`, and no other clock of the new tickets is. `progress` is called with the number of
    tickets of each chunk written. Users created get `password` (None: unusable passwords).
    `jobs` worker processes write chunks in parallel on PostgreSQL, each over its own
    connection (outside a transaction only).
    """
    if orgs < 1 or tickets < 0 or due_now < 0 or not 0 <= open_share <= 1:
        raise LoadgenError("Need orgs >= 1, tickets >= 0, due_now >= 0 and 0 <= open_share <= 1.")
    if jobs < 1 or chunk_size < 1:
        raise LoadgenError("Need jobs >= 1 and chunk_size >= 1.")
    open_total = round(tickets * open_share)
    if due_now > open_total:
        raise LoadgenError(f"--due-now {due_now} exceeds the {open_total} open tickets asked for.")
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # SQLite has one writer at a time anyway; workers could not see an open transaction's
        # rows. One process writes the same data (chunks do not depend on who writes them).
        jobs = 1
    plan = _Plan(tickets=tickets, open_total=open_total, due_now=due_now, chunk_size=chunk_size)
    now = now or timezone.now()
    started = time.perf_counter()
    password_hash = make_password(password)  # once: hashing is slow by design
    missing = {spec.code for spec in REGIONS} - set(Region.objects.values_list("code", flat=True))
    if missing or not SLATier.objects.exists():
        raise LoadgenError(
            "The demo world's regions, tiers and agents are missing: run `manage.py seed_demo "
            "--no-tickets` first (the loadgen command does)."
        )
    created = organisations_ensure(count=orgs, now=now, password_hash=password_hash)
    report = LoadReport(organisations=orgs, organisations_created=created)
    tickets_started = time.perf_counter()
    first_id = last_id = None
    for result in _chunks_run(orgs=orgs, now=now, seed=seed, plan=plan, jobs=jobs):
        report.tickets += result.tickets
        report.open_tickets += result.open_tickets
        report.messages += result.messages
        report.events += result.events
        report.calls += result.calls
        report.alerts += result.alerts
        report.stories += result.stories
        report.generate_seconds += result.generate_seconds
        report.database_seconds += result.database_seconds
        first_id = min(first_id or result.first_id, result.first_id)
        last_id = max(last_id or result.last_id, result.last_id)
        if progress:
            progress(result.tickets)
    report.ticket_seconds = time.perf_counter() - tickets_started
    if first_id is not None:
        report.due_clocks = due_clocks(now=now, id_range=(first_id, last_id))
    report.due_clocks_total = due_clocks(now=now)
    report.seconds = time.perf_counter() - started
    if report.due_clocks != due_now:
        raise LoadgenError(
            f"{report.due_clocks} clocks of the new tickets are due at {now:%H:%M:%S}, "
            f"not {due_now}; the tickets were written."
        )
    return report
