"""Benchmark of the agents' desk: the ticket queue's saved views, each filter and a search,
through Django's test client as a logged-in first-line agent, and the API's agent list.

Prints, per page, the median and 95th percentile milliseconds per request and the SQL queries
of one request, with the data size. Targets at 1,000,000 tickets: every view and filter
p95 < 150 ms with at most 10 queries, flat as the table grows; the API list p95 < 100 ms.

    createdb -h 127.0.0.1 -U postgres meridian_desk_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_desk_1m SECRET_KEY=bench \\
        .venv/bin/python bench/desk.py --tickets 1000000 --orgs 1000

Tickets already in the database are reused; only what is missing is generated (loadgen).
`--explain` prints the plan (EXPLAIN ANALYZE) of each page's list query.
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")
os.environ.setdefault("EMAIL_URL", "dummymail://")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("HTTPS_ONLY", "false")

import django  # noqa: E402

django.setup()
logging.getLogger("django.request").setLevel(logging.ERROR)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from portal.models import Agent, Team  # noqa: E402
from portal.services import staff_permissions_sync  # noqa: E402
from tickets.demo.seeding import seed_world  # noqa: E402
from tickets.loadgen import database_size, loadgen  # noqa: E402
from tickets.models import OPEN_STATUSES, Ticket  # noqa: E402
from tickets.queue import SAVED_VIEWS  # noqa: E402


def pages(team: Team, reference: str) -> list[tuple[str, str]]:
    """(name, query string) of every page measured on the desk's list."""
    listed = [(f"view: {view.label}", view.query) for view in SAVED_VIEWS]
    listed += [
        ("filter: status new", "status=new"),
        ("filter: priority p1, open", "priority__exact=p1&status=active"),
        ("filter: team (id), open", f"team={team.pk}&status=active"),
        ("filter: no team, open", "team=none&status=active"),
        ("filter: region, open", f"region={team.region_id}&status=active"),
        ("filter: SLA ok", "sla=ok"),
        ("filter: SLA paused", "sla=paused"),
        ("filter: SLA none", "sla=none"),
        ("filter: channel email, open", "channel__exact=email&status=active"),
        ("filter: assignee me", "assignee=me"),
        ("filter: unassigned, open", "assignee=unassigned&status=active"),
        ("search: reference", f"q={reference}"),
        ("search: subject words, open", "q=latency&status=active"),
        ("search: organisation, open", "q=Load+Org+000007&status=active"),
        # A word no subject has: the worst case of a walk in deadline order.
        ("search: no match, open", "q=zeppelin&status=active"),
    ]
    return listed


def measure(client: Client, url: str, count: int) -> tuple[list[float], int, int]:
    response = client.get(url)  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(url)
        seconds.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return seconds, len(queries.captured_queries), response.status_code


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def explain(client: Client, url: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    listing = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "tickets_ticket"' in q["sql"] and "ORDER BY" in q["sql"]
    ]
    if not listing:
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + listing[-1])
        print("\n".join(f"    {row[0]}" for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=200_000, help="Tickets in the database.")
    parser.add_argument("--orgs", type=int, default=200, help="Load organisations (loadgen).")
    parser.add_argument("--count", type=int, default=30, help="Requests per page.")
    parser.add_argument("--jobs", type=int, default=2, help="loadgen processes.")
    parser.add_argument("--explain", action="store_true", help="Print each list query's plan.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/desk.py measures PostgreSQL: set DATABASE_URL=postgres://...")

    call_command("migrate", verbosity=0)
    now = timezone.now()
    seed_world(now=now, password=None)
    missing = args.tickets - Ticket.objects.count()
    if missing > 0:
        with tqdm(total=missing, desc="loadgen", unit="ticket") as bar:
            loadgen(orgs=args.orgs, tickets=missing, now=now, jobs=args.jobs, progress=bar.update)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    staff_permissions_sync()

    # A first-line agent who is not a superuser: the desk as most agents see it.
    agent = (
        Agent.objects.select_related("user", "team")
        .filter(team__level=Team.Level.L1, user__is_superuser=False)
        .order_by("team__region__code", "pk")
        .first()
    )
    if agent is None:
        sys.exit("no first-line agent: seed_world should have made some")
    team = agent.team
    reference = Ticket.objects.order_by("-pk").values_list("reference", flat=True).first()
    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    in_team = Ticket.objects.filter(status__in=OPEN_STATUSES, team=team).count()
    print(
        f"data: {total:,} tickets, {open_count:,} open, {in_team:,} open in {team.name}; "
        f"database {database_size() / 2**30:.2f} GiB"
    )
    print(f"as: {agent.user.username} ({team.name}), {args.count} requests a page")

    client = Client()
    client.force_login(agent.user)
    desk = reverse("admin:tickets_ticket_changelist")
    api = reverse("api-ticket-list")
    rows = [(name, f"{desk}?{query}") for name, query in pages(team, reference)]
    rows.insert(0, ("view: default (no query)", desk))
    api_rows = [
        ("API: default (updated)", api),
        ("API: next deadline, open", f"{api}?ordering=next_deadline&status=new,open,pending"),
        ("API: team=mine, sla=at_risk", f"{api}?team=mine&sla=at_risk&ordering=next_deadline"),
        ("API: assignee=unassigned", f"{api}?assignee=unassigned&ordering=next_deadline"),
        ("API: sla=breached", f"{api}?sla=breached&ordering=next_deadline"),
    ]
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    worst = {"desk": (0.0, 0), "api": (0.0, 0)}
    for kind, listed in (("desk", rows), ("api", api_rows)):
        for name, url in listed:
            seconds, queries, _status = measure(client, url, args.count)
            p50, p95 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000
            print(f"{name:40} {p50:8.1f} {p95:8.1f} {queries:8d}")
            worst[kind] = (max(worst[kind][0], p95), max(worst[kind][1], queries))
            if args.explain:
                explain(client, url)
    print(
        f"worst desk page: p95 {worst['desk'][0]:.1f} ms, {worst['desk'][1]} queries "
        "[target < 150 ms, <= 10]; "
        f"worst API list: p95 {worst['api'][0]:.1f} ms [target < 100 ms]"
    )


if __name__ == "__main__":
    main()
