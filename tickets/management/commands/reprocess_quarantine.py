from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from portal.models import Organisation
from tickets.channels.email import inbound_reprocess, inbound_reprocessable

BATCH = 100


class Command(BaseCommand):
    help = (
        "Run quarantined emails through the email channel again, after a fix (a new member, an "
        "email domain, a raised limit). Prints one line per message with its new outcome."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, nargs="+", metavar="ID", help="These records.")
        which.add_argument("--all", action="store_true", help="Every quarantined message.")
        parser.add_argument(
            "--reason", metavar="TEXT", help="Only records whose reason contains TEXT."
        )
        parser.add_argument(
            "--organisation",
            metavar="SLUG",
            help="Store unknown senders' messages as tickets of this organisation.",
        )

    def handle(self, *args, id, all, reason, organisation, **options) -> None:
        org = None
        if organisation:
            org = Organisation.objects.filter(slug=organisation).first()
            if org is None:
                raise CommandError(f"No organisation {organisation!r}.")
        records = inbound_reprocessable().order_by("pk")
        if id:
            records = records.filter(pk__in=id)
        if reason:
            records = records.filter(reason__icontains=reason)
        ids = list(records.values_list("pk", flat=True))
        if id and len(ids) != len(set(id)):
            missing = sorted(set(id) - set(ids))
            raise CommandError(f"Not quarantined (or no such record): {missing}")
        counts: dict[str, int] = {}
        quiet = options["verbosity"] == 0
        with tqdm(
            total=len(ids), desc="Reprocessing", unit="msg", disable=quiet, file=self.stderr
        ) as bar:
            for start in range(0, len(ids), BATCH):
                batch = records.in_bulk(ids[start : start + BATCH])
                for pk, record in sorted(batch.items()):
                    result = inbound_reprocess(record, organisation=org)
                    counts[result.outcome] = counts.get(result.outcome, 0) + 1
                    self.stdout.write(f"#{pk}: {result}")
                    bar.update()
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        self.stdout.write(f"Reprocessed {len(ids)}: {summary or 'nothing to do'}")
