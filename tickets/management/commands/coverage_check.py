from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from contracts.models import Contract, SLATier
from tickets.clock_display import format_duration
from tickets.roster import Roster
from tickets.routing import coverage_gaps


class Command(BaseCommand):
    help = (
        "List every interval in the coming weeks when round-the-clock (24x7) customers would "
        "have nobody first-line on shift: no L1 or duty team with anyone in it is open. "
        "Exits with status 1 when there is a gap, so monitoring can run it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--weeks", type=int, default=4, help="How many weeks ahead to check (default 4)."
        )
        parser.add_argument(
            "--from",
            dest="start",
            metavar="INSTANT",
            help="Check from this ISO 8601 instant (default: now); without a zone, UTC.",
        )

    def handle(self, *args, weeks: int, start: str | None, **options) -> None:
        if weeks < 1:
            raise CommandError("--weeks must be at least 1.")
        begin = timezone.now()
        if start:
            try:
                begin = datetime.fromisoformat(start)
            except ValueError as exc:
                raise CommandError(f"--from: {exc}") from exc
            if begin.tzinfo is None:
                begin = begin.replace(tzinfo=UTC)
        end = begin + timedelta(weeks=weeks)
        tiers = list(SLATier.objects.filter(coverage=SLATier.Coverage.ALWAYS).order_by("name"))
        customers = (
            Contract.objects.filter(tier__in=tiers, status=Contract.Status.ACTIVE)
            .values("organisation")
            .distinct()
            .count()
        )
        names = ", ".join(tier.name for tier in tiers) or "none"
        self.stdout.write(
            f"24x7 tiers: {names} ({customers} organisations under contract); "
            f"checking {begin:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC."
        )
        gaps = coverage_gaps(Roster.load(begin), begin, end)
        for gap in gaps:
            self.stdout.write(
                f"GAP {gap.start:%a %Y-%m-%d %H:%M} to {gap.end:%a %Y-%m-%d %H:%M} UTC "
                f"({format_duration(gap.length)}): no L1 or duty team on shift"
            )
        if gaps:
            total = sum((gap.length for gap in gaps), timedelta(0))
            self.stdout.write(f"{len(gaps)} gaps, {format_duration(total)} in all.")
            raise SystemExit(1)
        self.stdout.write("Covered: someone first-line is on shift every minute.")
