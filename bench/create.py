"""Benchmark of the write path: filing a ticket through the API and through the portal's form,
a reply and a status change, in-process with Django's test client on `loadgen` data.

Prints, per operation, the median and mean milliseconds per request, the SQL queries of one
request, and operations per second in one process, with the data size. Targets: at most 12
queries and about 3 ms of server time each; at least 300 ticket creations a second through
the API and through the portal.

    createdb -h 127.0.0.1 -U postgres meridian_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_bench SECRET_KEY=bench \\
        .venv/bin/python bench/create.py --tickets 200000

Tickets already in the database are reused; only what is missing is generated (loadgen). The
benchmark's writes stay in the database (they are a few thousand tickets).
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")
os.environ.setdefault("EMAIL_URL", "dummymail://")
# The test client's host and plain HTTP. The benchmark is one busy user: the write throttle still
# runs, but over a one-second window, so that it keeps about as many timestamps per user (a
# hundred or so) as the production limit of 120 a minute does, and never refuses.
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("HTTPS_ONLY", "false")
os.environ.setdefault("API_WRITE_RATE", "100000/second")

import django  # noqa: E402

django.setup()
# The floor measurement's refused requests would each log a warning.
logging.getLogger("django.request").setLevel(logging.ERROR)

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import JSONField  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from tqdm import tqdm  # noqa: E402

from portal.models import Member  # noqa: E402
from tickets.demo.seeding import seed_world  # noqa: E402
from tickets.loadgen import database_size, load_slug, loadgen  # noqa: E402
from tickets.models import Ticket  # noqa: E402
from tickets.services import REFERENCE_PREFIX  # noqa: E402


def measure(name: str, operation: Callable[[int], object], count: int) -> dict:
    """Run `operation` `count` times (after a warm-up) and one more time counting queries."""
    operation(-1)
    seconds = []
    for n in tqdm(range(count), desc=name, unit="op", leave=False):
        started = time.perf_counter()
        operation(n)
        seconds.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        operation(count)
    total = sum(seconds)
    return {
        "name": name,
        "median_ms": statistics.median(seconds) * 1000,
        "mean_ms": total / count * 1000,
        "queries": len(queries.captured_queries),
        "per_second": count / total,
    }


def checked(response, status: int):
    if response.status_code != status:
        sys.exit(f"{response.status_code} instead of {status}: {response.content[:500]!r}")
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=200_000, help="Tickets in the database.")
    parser.add_argument("--orgs", type=int, default=200, help="Load organisations (loadgen).")
    parser.add_argument("--count", type=int, default=1000, help="Requests per operation.")
    parser.add_argument("--jobs", type=int, default=2, help="loadgen processes.")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="Also measure what any implementation on this stack and machine pays: a database "
        "round trip, the creation's four writes and commit in raw SQL, and an authenticated API "
        "request the framework refuses at parsing.",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/create.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    seed_world(now=now, password=None)
    missing = args.tickets - Ticket.objects.count()
    if missing > 0:
        with tqdm(total=missing, desc="loadgen", unit="ticket") as bar:
            loadgen(orgs=args.orgs, tickets=missing, now=now, jobs=args.jobs, progress=bar.update)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    size = database_size()
    print(
        f"data: {Ticket.objects.count():,} tickets, {Ticket.objects.open().count():,} open"
        + (f", database {size / 2**30:.2f} GiB" if size else "")
    )

    # An Enterprise (24x7) customer: every priority is covered, clocks always run.
    member = (
        Member.objects.select_related("user", "organisation")
        .filter(organisation__slug=load_slug(1), role=Member.Role.REQUESTER)
        .first()
    )
    token, _ = Token.objects.get_or_create(user=member.user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    portal = Client()
    portal.force_login(member.user)
    print(f"as: {member.user.username} of {member.organisation.name}")

    references: list[str] = []

    def api_create(n: int) -> None:
        response = api.post(
            "/api/v1/tickets/",
            {"subject": f"Bench ticket {n}", "description": "Stream stalls.", "priority": "p2"},
            content_type="application/json",
        )
        references.append(checked(response, 201).json()["reference"])

    def portal_create(n: int) -> None:
        # The browser shows the "created" message on the next page; here it is dropped, so
        # that messages do not pile up in the cookie request after request.
        portal.cookies.pop("messages", None)
        response = portal.post(
            "/tickets/new/",
            {
                "subject": f"Bench ticket {n}",
                "description": "Stream stalls.",
                "priority": "p2",
                "product_area": "streaming",
            },
        )
        checked(response, 302)

    def api_reply(n: int) -> None:
        reference = references[n % len(references)]
        response = api.post(
            f"/api/v1/tickets/{reference}/replies/",
            {"body": f"More details {n}."},
            content_type="application/json",
        )
        checked(response, 201)

    def api_status(n: int) -> None:
        reference = references[n + 1]  # each ticket resolved once
        response = api.post(
            f"/api/v1/tickets/{reference}/status/",
            {"status": "resolved"},
            content_type="application/json",
        )
        checked(response, 200)

    results = [
        measure("API create", api_create, args.count),
        measure("portal create", portal_create, args.count),
        measure("API reply", api_reply, args.count),
        measure("API status change", api_status, args.count),
    ]
    print(f"{'operation':<20} {'median ms':>10} {'mean ms':>9} {'queries':>8} {'ops/s':>8}")
    for r in results:
        print(
            f"{r['name']:<20} {r['median_ms']:>10.2f} {r['mean_ms']:>9.2f} {r['queries']:>8} "
            f"{r['per_second']:>8.0f}"
        )
    print("targets: <= 12 queries and about 3 ms each; >= 300 creations/s (API and portal)")
    if args.floor:
        floor(api, member, args.count)


def timed(operation: Callable[[], object], count: int) -> float:
    """Milliseconds per call, median of five rounds of `count // 5` calls."""
    for _ in range(20):
        operation()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(max(count // 5, 1)):
            operation()
        rounds.append((time.perf_counter() - started) / max(count // 5, 1))
    return statistics.median(rounds) * 1000


def floor(api: Client, member: Member, count: int) -> None:
    """What no implementation on Django, DRF and this database can go below, here."""
    ticket = Ticket.objects.filter(organisation=member.organisation).order_by("-pk").first()
    columns = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    values = [
        json.dumps(v) if isinstance(f, JSONField) else v
        for f, v in ((f, getattr(ticket, f.attname)) for f in columns)
    ]
    at = [f.attname for f in columns].index("reference")
    insert = (
        f"INSERT INTO tickets_ticket ({', '.join(f.column for f in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id"
    )
    cursor = connection.cursor()

    def round_trip() -> None:
        cursor.execute("SELECT 1")
        cursor.fetchone()

    def raw_create() -> None:
        with transaction.atomic():
            cursor.execute(
                "UPDATE tickets_referencecounter SET value = value + 1 WHERE name = 'ticket' "
                "RETURNING value"
            )
            values[at] = f"{REFERENCE_PREFIX}{cursor.fetchone()[0]:06d}"
            cursor.execute(insert, values)
            ticket_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO tickets_message (ticket_id, author_id, author_kind, visibility, "
                "channel, body_text, body_html, email_message_id, email_in_reply_to, created_at) "
                "VALUES (%s, %s, 'customer', 'public', 'api', 'x', '', '', '', now())",
                [ticket_id, member.user_id],
            )
            cursor.execute(
                "INSERT INTO tickets_ticketevent (ticket_id, kind, clock, actor_id, at, data) "
                "VALUES (%s, 'created', '', %s, now(), '{}')",
                [ticket_id, member.user_id],
            )

    def refused_at_parsing() -> None:
        api.post("/api/v1/tickets/", "{", content_type="application/json")

    print("floor:")
    print(f"  database round trip (SELECT 1)                 {timed(round_trip, count):6.2f} ms")
    print(f"  the creation's writes in raw SQL, with commit  {timed(raw_create, count):6.2f} ms")
    print(
        f"  authenticated API POST refused at parsing      {timed(refused_at_parsing, count):6.2f}"
        " ms"
    )


if __name__ == "__main__":
    main()
