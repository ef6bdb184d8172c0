from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from portal.models import Organisation
from tickets.demo.seeding import seed_demo


class Command(BaseCommand):
    help = (
        "Build the demo world: five regions with their calendars, three SLA tiers, twenty "
        "customer organisations with contracts, agents in L1/L2 teams, an account manager and a "
        "few hundred tickets over every channel and state. Safe to run again: what exists is "
        "kept as it is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default="meridian-demo",
            help="Password for demo users created by this run (default: %(default)s).",
        )
        parser.add_argument(
            "--tickets-per-org", type=int, default=15, help="Tickets per organisation, about."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed for tickets.")
        parser.add_argument(
            "--no-tickets",
            action="store_true",
            help="Only the reference data (regions, tiers, teams, customers, contracts).",
        )

    def handle(
        self,
        *args,
        password: str,
        tickets_per_org: int,
        seed: int,
        no_tickets: bool,
        **options,
    ) -> None:
        now = timezone.now()
        if no_tickets:
            tickets_per_org = 0
        quiet = options["verbosity"] == 0
        with tqdm(
            total=len(Organisation.objects.all()) or 20,
            desc="Seeding tickets per organisation",
            unit="org",
            disable=quiet,
            file=self.stderr,
        ) as bar:
            report = seed_demo(
                now=now,
                password=password,
                seed=seed,
                tickets_per_org=tickets_per_org,
                progress=bar.update,
            )
        if quiet:
            return
        made = ", ".join(f"{n} {what}" for what, n in sorted(report.created.items()) if n)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Created: {made or 'nothing new'}."))
        self.stdout.write(f"Demo logins (password for users created by a seed run: {password}):")
        for username, role, where in report.logins:
            self.stdout.write(f"  {username:<40} {role:<36} {where}")
