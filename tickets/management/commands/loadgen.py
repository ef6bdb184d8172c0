import argparse
import os

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from tqdm import tqdm

from tickets.demo.seeding import seed_world
from tickets.loadgen import LoadgenError, database_size, loadgen

# One worker per core: each is a Python process generating tickets beside a database backend.
DEFAULT_JOBS = min(os.cpu_count() or 1, 8)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


class Command(BaseCommand):
    help = (
        "Fill the database fast with realistic load for benchmarks: the demo's regions, "
        "calendars, tiers and agents, plus ORGS load organisations ('Load Org 000001', ...; "
        "existing ones are kept) with a signed contract each, and TICKETS tickets over every "
        "channel, status and the priorities each contract covers. Clocks come from the real "
        "engine (each story told once and shared by many tickets) and every ticket's history "
        "replays cleanly. Open tickets' next sweep instants lie ahead of now; --due-now K makes "
        "exactly K clocks due for the sweep now. Written with COPY on PostgreSQL (bulk inserts "
        "elsewhere), in chunks of 20,000 tickets. Prints tickets per second and the database "
        "size."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orgs", type=_count, required=True, help="Load organisations to use (1 or more)."
        )
        parser.add_argument("--tickets", type=_count, required=True, help="Tickets to add.")
        parser.add_argument(
            "--open-share",
            type=_share,
            default=0.3,
            help="Share of the tickets that are open: new, open or pending (default %(default)s).",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed (default %(default)s)."
        )
        parser.add_argument(
            "--due-now",
            type=_count,
            default=0,
            metavar="K",
            help="Open tickets with one clock due for the sweep now: a warning threshold or a "
            "due instant passed in the last five minutes (default %(default)s: none due).",
        )
        parser.add_argument(
            "--jobs",
            type=_count,
            default=DEFAULT_JOBS,
            help="Worker processes writing chunks in parallel over their own connections; "
            "PostgreSQL only, SQLite uses one (default: the number of cores, at most 8: "
            "%(default)s).",
        )
        parser.add_argument(
            "--password",
            default="meridian-demo",
            help="Password of the users this run creates (default: %(default)s).",
        )

    def handle(
        self,
        *args,
        orgs: int,
        tickets: int,
        open_share: float,
        seed: int,
        due_now: int,
        jobs: int,
        password: str,
        **options,
    ) -> None:
        now = timezone.now()
        quiet = options["verbosity"] == 0
        seed_world(now=now, password=password)
        with tqdm(
            total=tickets,
            desc="Writing tickets",
            unit="ticket",
            unit_scale=True,
            disable=quiet,
            file=self.stderr,
        ) as bar:
            try:
                report = loadgen(
                    orgs=orgs,
                    tickets=tickets,
                    open_share=open_share,
                    seed=seed,
                    due_now=due_now,
                    now=now,
                    progress=bar.update,
                    password=password,
                    jobs=max(jobs, 1),
                )
            except LoadgenError as exc:
                raise CommandError(str(exc)) from exc
        if quiet:
            return
        size = database_size()
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.tickets:,} tickets ({report.open_tickets:,} open) over {orgs:,} load "
                f"organisations ({report.organisations_created:,} new), with "
                f"{report.messages:,} messages, {report.events:,} events, {report.calls:,} calls "
                f"and {report.alerts:,} alerts."
            )
        )
        self.stdout.write(
            f"Tickets: {report.ticket_seconds:.1f} s, {report.tickets_per_second:,.0f} tickets/s "
            f"(summed over chunks: generating {report.generate_seconds:.1f} s with "
            f"{report.stories:,} stories told, database writes and commits "
            f"{report.database_seconds:.1f} s). Whole run: {report.seconds:.1f} s, "
            f"{report.overall_tickets_per_second:,.0f} tickets/s."
        )
        self.stdout.write(
            f"Clocks due for the sweep at {now:%Y-%m-%d %H:%M:%S} UTC: {report.due_clocks:,} "
            f"of the new tickets ({report.due_clocks_total:,} in the whole database)."
        )
        if size is not None:
            self.stdout.write(f"Database size: {filesizeformat(size)}.".replace("\xa0", " "))
