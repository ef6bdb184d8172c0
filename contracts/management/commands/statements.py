from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from contracts.models import ComplianceStatement
from contracts.statements.exports import EXPORT_FORMATS, export_statement
from contracts.statements.months import parse_month
from contracts.statements.services import statement_issue, statements_generate
from portal.errors import Refusal
from portal.models import Organisation


class Command(BaseCommand):
    help = (
        "Generate the monthly SLA compliance statements of a month as drafts (every "
        "organisation with a contract in force or a promise due that month, or one with --org), "
        "optionally issue them, and export them. Statements already issued are left alone: a "
        "correction is a new revision, made in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="The month, e.g. 2026-10.")
        parser.add_argument("--org", metavar="SLUG", help="Only this organisation.")
        parser.add_argument(
            "--issue", action="store_true", help="Issue the drafts (sealed; no later change)."
        )
        parser.add_argument(
            "--export",
            choices=EXPORT_FORMATS,
            help="Write each statement of the month (its latest revision) in this format.",
        )
        parser.add_argument("--output", type=Path, help="Directory for --export.")

    def handle(self, *args, **options) -> None:
        try:
            month = parse_month(options["month"])
        except Refusal as refusal:
            raise CommandError(refusal.message) from refusal
        if options["export"] and not options["output"]:
            raise CommandError("--export needs --output DIR.")
        organisations = None
        if options["org"]:
            organisation = Organisation.objects.filter(slug=options["org"]).first()
            if organisation is None:
                raise CommandError(f"No organisation {options['org']!r}.")
            organisations = [organisation]
        quiet = options["verbosity"] == 0
        now = timezone.now()

        with tqdm(
            desc="Writing statements", unit="statement", disable=quiet, file=self.stderr
        ) as bar:
            report = statements_generate(
                month=month, now=now, organisations=organisations, progress=bar.update
            )
        self.stdout.write(
            f"{month:%Y-%m}: {len(report.created)} drafted, {len(report.refreshed)} refreshed, "
            f"{report.already_issued} already issued."
        )
        if options["issue"]:
            drafts = report.drafts
            for draft in tqdm(
                drafts, desc="Issuing", unit="statement", disable=quiet, file=self.stderr
            ):
                statement_issue(statement=draft, by=None, now=now)
            self.stdout.write(f"{len(drafts)} issued.")
        if options["export"]:
            self._export(month, organisations, options["export"], options["output"], quiet)

    def _export(self, month, organisations, fmt: str, output: Path, quiet: bool) -> None:
        output.mkdir(parents=True, exist_ok=True)
        statements = ComplianceStatement.objects.filter(month=month).select_related("organisation")
        if organisations:
            statements = statements.filter(organisation__in=organisations)
        latest: dict[int, ComplianceStatement] = {}
        for statement in statements.order_by("organisation_id", "revision"):
            latest[statement.organisation_id] = statement
        for statement in tqdm(
            latest.values(), desc="Exporting", unit="file", disable=quiet, file=self.stderr
        ):
            exported = export_statement(statement=statement, fmt=fmt)
            (output / exported.filename).write_bytes(exported.body)
        self.stdout.write(f"{len(latest)} {fmt} file(s) in {output}.")
