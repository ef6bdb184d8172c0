"""Benchmark of the deadline sweep on PostgreSQL.

(a) a sweep with nothing due, over N open tickets; (b) a sweep where K clocks cross a warning
threshold or their deadline. Prints wall time and SQL query count of each, and the data size.
Targets: (a) under 50 ms with a query count that does not grow with N; (b) under 3 s for
K = 10,000.

(b) runs as the Celery task does: one sweep, which on finding a backlog calls in
`--processes` - 1 helper sweeps (separate processes, each with its own connection, started by
the sweep's `on_backlog` as the task enqueues helpers for other workers); the time is from the
sweep's start until every sweep has finished. Notifications are not emailed during the run
(no worker consumes the bench queue); those of earlier runs are delivered first, with the
dummy mail backend, so that (a) really has nothing to do.

    createdb -h 127.0.0.1 -U postgres meridian_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 SECRET_KEY=bench \\
        .venv/bin/python bench/sweep.py --open-tickets 1000000 --due 10000

Tickets already in the database are reused; only what is missing is generated (loadgen).
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tickets.demo.seeding import seed_world  # noqa: E402
from tickets.loadgen import database_size, due_clocks, loadgen  # noqa: E402
from tickets.models import Notification, Ticket  # noqa: E402
from tickets.services import deadlines_sweep  # noqa: E402
from tickets.services.notifications import notification_send  # noqa: E402


def timed_sweep(now, on_backlog=None) -> tuple[float, int, object]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = deadlines_sweep(now=now, on_backlog=on_backlog)
        seconds = time.perf_counter() - started
    return seconds, len(queries.captured_queries), result


def deliver_pending(now) -> None:
    pending = list(
        Notification.objects.filter(email_sent_at__isnull=True).values_list("pk", flat=True)
    )
    for pk in tqdm(pending, desc="earlier runs' notifications", unit="email", disable=not pending):
        notification_send(notification_id=pk, now=now)


def _helper(now, start, results) -> None:
    start.wait()
    _, queries, result = timed_sweep(now)
    results.put((time.perf_counter(), queries, result))
    connection.close()


def backlog_sweep(now, processes: int) -> tuple[float, list[tuple[int, object]]]:
    """The main sweep here, its helpers in forked processes: (wall seconds, per sweep
    (queries, result))."""
    connections.close_all()  # each process opens its own connection
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    helpers = [
        context.Process(target=_helper, args=(now, start, results)) for _ in range(processes - 1)
    ]
    for helper in helpers:
        helper.start()
    began = time.perf_counter()
    seconds, queries, result = timed_sweep(now, on_backlog=start.set)
    start.set()  # no backlog after all: let the helpers find nothing and end
    ended = [began + seconds]
    sweeps = [(queries, result)]
    for _ in helpers:
        helper_ended, helper_queries, helper_result = results.get()
        ended.append(helper_ended)
        sweeps.append((helper_queries, helper_result))
    for helper in helpers:
        helper.join()
    return max(ended) - began, sweeps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open-tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="clocks due in sweep (b)")
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2, help="loadgen writer processes")
    parser.add_argument("--repeat", type=int, default=7, help="runs of sweep (a)")
    parser.add_argument(
        "--processes", type=int, default=2, help="sweeps in (b): the task's SWEEP_CONCURRENCY"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/sweep.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    seed_world(now=now, password=None)

    # Clear anything a previous run left due, so (a) really has nothing to do.
    if due_clocks(now=now):
        deadlines_sweep(now=now)
    deliver_pending(now)
    missing = args.open_tickets - Ticket.objects.open().count()
    if missing > 0:
        with tqdm(total=missing, desc="loadgen: open tickets", unit="ticket") as bar:
            report = loadgen(
                orgs=args.orgs,
                tickets=missing,
                open_share=1.0,
                due_now=0,
                now=now,
                jobs=args.jobs,
                progress=bar.update,
            )
        print(f"loadgen: {report.tickets:,} tickets at {report.tickets_per_second:,.0f}/s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    open_tickets = Ticket.objects.open().count()
    total = Ticket.objects.count()
    size = database_size()
    print(
        f"data: {open_tickets:,} open tickets, {total:,} tickets in all"
        + (f", database {size / 2**30:.2f} GiB" if size else "")
    )

    runs = [timed_sweep(now) for _ in range(args.repeat)]
    seconds = [run[0] for run in runs]
    queries = {run[1] for run in runs}
    if any(run[2].warnings or run[2].breaches or run[2].repeats or run[2].resent for run in runs):
        sys.exit("(a) found work to do: the data is not in the 'nothing due' state")
    print(
        f"(a) nothing due: median {statistics.median(seconds) * 1000:.1f} ms "
        f"(min {min(seconds) * 1000:.1f}, max {max(seconds) * 1000:.1f}) over {args.repeat} runs; "
        f"{'/'.join(str(q) for q in sorted(queries))} SQL queries  [target < 50 ms]"
    )

    with tqdm(total=args.due, desc="loadgen: due tickets", unit="ticket") as bar:
        loadgen(
            orgs=args.orgs,
            tickets=args.due,
            open_share=1.0,
            due_now=args.due,
            now=now,
            progress=bar.update,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
    due = due_clocks(now=now)
    seconds, sweeps = backlog_sweep(now, args.processes)
    warnings = sum(result.warnings for _, result in sweeps)
    breaches = sum(result.breaches for _, result in sweeps)
    tickets = sum(result.tickets for _, result in sweeps)
    print(
        f"(b) {due:,} clocks due: {seconds:.2f} s with {len(sweeps)} sweep(s); recorded "
        f"{warnings:,} warnings and {breaches:,} breaches over {tickets:,} tickets  "
        "[target < 3 s]"
    )
    for number, (count, result) in enumerate(sweeps, 1):
        role = "the sweep" if number == 1 else "a helper"
        print(
            f"    {role}: {result.tickets:,} tickets, {result.warnings:,} warnings, "
            f"{result.breaches:,} breaches, {count} SQL queries"
        )
    seconds_after, count_after, _ = timed_sweep(now)
    print(f"(a) again, after (b): {seconds_after * 1000:.1f} ms, {count_after} SQL queries")


if __name__ == "__main__":
    main()
