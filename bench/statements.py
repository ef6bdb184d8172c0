"""Benchmark of the monthly statements: draft one month's statements for every organisation,
the way the beat task on the 1st does, over `loadgen` data.

Prints the time to generate (median of `--runs`), the SQL queries of one run, and the data
size: organisations, tickets, the clock instances counted, breaches, database size. Target: 10,000
organisations and 1,000,000 tickets in one month generate in under 30 s on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres meridian_statements
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_statements SECRET_KEY=bench \\
        .venv/bin/python bench/statements.py --orgs 10000 --tickets 1000000

The data is loaded as of 12:00 UTC on 1 November 2026 (loadgen spreads finished tickets over
the 30 days before it), and October is generated. Tickets already in the database are reused;
only what is missing is generated.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")
os.environ.setdefault("EMAIL_URL", "dummymail://")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from tqdm import tqdm  # noqa: E402

from contracts.models import ComplianceStatement  # noqa: E402
from contracts.statements.services import statements_generate  # noqa: E402
from portal.models import Organisation  # noqa: E402
from tickets.demo.seeding import seed_world  # noqa: E402
from tickets.loadgen import database_size, loadgen  # noqa: E402
from tickets.models import Ticket  # noqa: E402

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MONTH = date(2026, 10, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="Tickets in the database.")
    parser.add_argument("--orgs", type=int, default=1000, help="Load organisations (loadgen).")
    parser.add_argument("--jobs", type=int, default=2, help="loadgen processes.")
    parser.add_argument("--runs", type=int, default=3, help="Generations to time.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/statements.py measures PostgreSQL: set DATABASE_URL=postgres://...")

    call_command("migrate", verbosity=0)
    seed_world(now=NOW, password=None)
    missing = args.tickets - Ticket.objects.count()
    if missing > 0:
        with tqdm(total=missing, desc="loadgen", unit="ticket") as bar:
            loadgen(orgs=args.orgs, tickets=missing, now=NOW, jobs=args.jobs, progress=bar.update)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    seconds = []
    queries = 0
    report = None
    for run in range(args.runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            report = statements_generate(month=MONTH, now=NOW)
            seconds.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
        print(f"run {run + 1}: {seconds[-1]:.2f} s, {report.as_dict()}", flush=True)
    statements = ComplianceStatement.objects.filter(month=MONTH, status="draft")
    counted = sum(s.in_scope for s in statements.only("in_scope"))
    breached = sum(s.breached for s in statements.only("breached"))
    size = database_size()
    print(
        f"data: {Organisation.objects.count():,} organisations, {Ticket.objects.count():,} "
        f"tickets, {statements.count():,} statements for {MONTH:%Y-%m}, {counted:,} clock "
        f"instances counted, {breached:,} breached"
        + (f", database {size / 2**30:.2f} GiB" if size else "")
    )
    print(
        f"generate {MONTH:%Y-%m}: median {statistics.median(seconds):.2f} s "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f}) over {len(seconds)} runs, "
        f"{queries} SQL queries per run (target: < 30 s at 10,000 organisations and "
        "1,000,000 tickets)"
    )


if __name__ == "__main__":
    main()
