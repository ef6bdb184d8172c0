import os
import sys
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tickets.channels.email import ingest
from tickets.models import InboundEmail, Mailbox

# sysexits.h: the MTA keeps the message and delivers it again later.
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = (
        "Store emails as tickets or messages: one RFC 5322 message per FILE, one from standard "
        "input when no FILE is given (for an MTA's pipe transport or procmail), or every new "
        "message of a Maildir (each moved to cur/ once stored). Prints one line per message "
        "with its outcome; exits 0 when every message was stored (as a ticket, a message, a "
        f"quarantine record or an ignored duplicate), {EX_TEMPFAIL} (try again later) when one "
        "could not be."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", metavar="FILE", help="Message files (.eml).")
        parser.add_argument("--maildir", metavar="DIR", help="Ingest the new messages of DIR.")
        parser.add_argument(
            "--mailbox",
            metavar="NAME",
            help="The mailbox the mail arrived at (its default organisation and region apply).",
        )

    def handle(self, *args, files: list[str], maildir: str | None, mailbox: str | None, **options):
        box = None
        if mailbox:
            box = Mailbox.objects.filter(name=mailbox).first()
            if box is None:
                raise CommandError(f"No mailbox named {mailbox!r}.")
        if maildir and files:
            raise CommandError("Give FILEs or --maildir, not both.")
        failed = 0
        if maildir:
            failed = self._maildir(Path(maildir), box, quiet=options["verbosity"] == 0)
        elif files:
            for name in files:
                try:
                    raw = Path(name).read_bytes()
                except OSError as exc:
                    self.stderr.write(f"{name}: cannot be read: {exc.strerror}")
                    failed += 1
                    continue
                failed += not self._one(name, raw, box)
        else:
            failed += not self._one("<stdin>", sys.stdin.buffer.read(), box)
        if failed:
            sys.exit(EX_TEMPFAIL)

    def _one(self, label: str, raw: bytes, mailbox: Mailbox | None) -> bool:
        try:
            result = ingest(raw, mailbox=mailbox, via=InboundEmail.Via.PIPE)
        except Exception as exc:  # the database, not the message: the MTA retries
            self.stderr.write(f"{label}: not stored, try again: {type(exc).__name__}: {exc}")
            return False
        self.stdout.write(f"{label}: {result}")
        return True

    def _maildir(self, root: Path, mailbox: Mailbox | None, *, quiet: bool) -> int:
        new, cur = root / "new", root / "cur"
        if not new.is_dir() or not cur.is_dir():
            raise CommandError(f"{root} is not a Maildir (it needs new/ and cur/).")
        paths = sorted(self._new_messages(new))
        failed = 0
        for path in tqdm(paths, desc="Ingesting", unit="msg", disable=quiet, file=self.stderr):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{path.name}: cannot be read: {exc.strerror}")
                failed += 1
                continue
            if self._one(path.name, raw, mailbox):
                # Stored: only now does it leave new/ (marked seen, as a mail client would).
                os.replace(path, cur / f"{path.name.split(':', 1)[0]}:2,S")
            else:
                failed += 1
        return failed

    @staticmethod
    def _new_messages(new: Path) -> Iterator[Path]:
        for path in new.iterdir():
            if path.is_file() and not path.name.startswith("."):
                yield path
