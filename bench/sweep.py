"""Benchmark of the deadline sweep on PostgreSQL.

(a) a sweep with nothing due, over N open tickets; (b) a sweep where K clocks cross a warning
threshold or their deadline. Prints wall time and SQL query count of each, and the data size.
Targets: (a) under 50 ms with a query count that does not grow with N; (b) under 3 s for
K = 10,000.

    createdb -h 127.0.0.1 -U postgres meridian_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 SECRET_KEY=bench \\
        .venv/bin/python bench/sweep.py --open-tickets 1000000 --due 10000

Tickets already in the database are reused; only what is missing is generated (loadgen).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tickets.loadgen import database_size, due_clocks, loadgen  # noqa: E402
from tickets.models import Ticket  # noqa: E402
from tickets.services import sweep  # noqa: E402


def timed_sweep(now) -> tuple[float, int, object]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = sweep(now)
        seconds = time.perf_counter() - started
    return seconds, len(queries.captured_queries), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open-tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="clocks due in sweep (b)")
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2, help="loadgen writer processes")
    parser.add_argument("--repeat", type=int, default=7, help="runs of sweep (a)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/sweep.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    now = timezone.now()

    # Clear anything a previous run left due, so (a) really has nothing to do.
    if due_clocks(now=now):
        sweep(now)
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
    if any(run[2].warnings or run[2].breaches for run in runs):
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
    seconds, count, result = timed_sweep(now)
    print(
        f"(b) {due:,} clocks due: {seconds:.2f} s, {count} SQL queries; recorded "
        f"{result.warnings:,} warnings and {result.breaches:,} breaches over {result.tickets:,} "
        f"tickets  [target < 3 s]"
    )
    seconds_after, count_after, _ = timed_sweep(now)
    print(f"(a) again, after (b): {seconds_after * 1000:.1f} ms, {count_after} SQL queries")


if __name__ == "__main__":
    main()
