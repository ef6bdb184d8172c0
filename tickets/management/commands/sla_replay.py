from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Prefetch
from django.utils import timezone
from tqdm import tqdm

from tickets.clock_replay import replay_differences
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_clocks_fix

BATCH = 500


class Command(BaseCommand):
    help = (
        "Rebuild SLA clocks from each ticket's event history and calendar, and report every "
        "ticket whose stored clocks differ from the replay. Exits with status 1 when any differ "
        "(and --fix was not given)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--ticket", metavar="REF", help="One ticket, e.g. MRD-000123.")
        which.add_argument("--all", action="store_true", help="Every ticket with an SLA.")
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Store the replayed clocks where they differ (recorded as a 'corrected' event).",
        )

    def handle(self, *args, ticket: str | None, all: bool, fix: bool, **options) -> None:
        tickets = Ticket.objects.filter(sla_contract__isnull=False).order_by("pk")
        if ticket:
            tickets = tickets.filter(reference=ticket.strip().upper())
            if not tickets.exists():
                raise CommandError(f"No ticket {ticket} with an SLA.")
        total = tickets.count()
        events = Prefetch("events", queryset=TicketEvent.objects.order_by("id"))
        differing = fixed = 0
        with tqdm(
            total=total,
            desc="Replaying SLA clocks",
            unit="ticket",
            disable=options["verbosity"] == 0 or total < 2,
            file=self.stderr,
        ) as bar:
            last_pk = 0
            while True:
                batch = list(tickets.filter(pk__gt=last_pk).prefetch_related(events)[:BATCH])
                if not batch:
                    break
                last_pk = batch[-1].pk
                for item in batch:
                    differences = replay_differences(item, item.events.all())
                    if differences:
                        differing += 1
                        for d in differences:
                            self.stdout.write(
                                f"{d.reference} {d.clock}.{d.field}: stored {d.stored}, "
                                f"replayed {d.replayed}"
                            )
                        if fix and ticket_clocks_fix(ticket=item, now=timezone.now()):
                            fixed += 1
                bar.update(len(batch))
        summary = f"{total} ticket(s) replayed, {differing} differ"
        if fix:
            summary += f", {fixed} fixed"
        self.stdout.write(summary + ".")
        if differing and not fix:
            raise SystemExit(1)
