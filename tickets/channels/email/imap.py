"""Polling the IMAP mailboxes configured in the admin.

Unseen messages are fetched without marking them (`BODY.PEEK[]`), stored one by one through
`ingest`, and only then marked seen or moved: a poll that dies mid-batch leaves the rest
unseen, the next poll fetches them again, and the duplicate check makes a message fetched twice
harmless.
"""

import logging
import os
import ssl
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from imapclient import IMAPClient

from tickets.channels.email.ingest import ingest
from tickets.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    mailbox: str
    fetched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str = ""


def mailboxes_to_poll() -> list[Mailbox]:
    return list(Mailbox.objects.filter(active=True).exclude(Q(imap_host="") | Q(imap_user="")))


def mailbox_connect(mailbox: Mailbox) -> IMAPClient:
    """A logged-in client with the mailbox's folder selected."""
    secret = os.environ.get(mailbox.secret_env, "") if mailbox.secret_env else ""
    if mailbox.secret_env and not secret:
        raise LookupError(f"the environment variable {mailbox.secret_env} is not set")
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_tls,
        ssl_context=ssl.create_default_context() if mailbox.imap_tls else None,
        timeout=30,
    )
    client.login(mailbox.imap_user, secret)
    # A missing destination would fail every move after its message was stored: the poll
    # would stop at that message for good.
    if mailbox.move_to and not client.folder_exists(mailbox.move_to):
        client.create_folder(mailbox.move_to)
    client.select_folder(mailbox.folder)
    return client


def mailbox_poll(mailbox: Mailbox, *, now: datetime, limit: int | None = None) -> PollResult:
    """Store up to `limit` unseen messages of one mailbox; records the poll on the mailbox."""
    limit = limit or settings.EMAIL_POLL_BATCH
    result = PollResult(mailbox=mailbox.name)
    try:
        client = mailbox_connect(mailbox)
        try:
            uids = sorted(client.search(["UNSEEN"]))[:limit]
            for start in range(0, len(uids), 20):
                chunk = uids[start : start + 20]
                fetched = client.fetch(chunk, ["BODY.PEEK[]"])
                for uid in chunk:
                    raw = fetched.get(uid, {}).get(b"BODY[]")
                    if raw is None:
                        continue
                    outcome = ingest(raw, mailbox=mailbox, via=InboundEmail.Via.IMAP).outcome
                    result.fetched += 1
                    result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
                    # Only now that it is stored does the server forget it is new.
                    if mailbox.move_to:
                        client.move([uid], mailbox.move_to)
                    else:
                        client.add_flags([uid], [b"\\Seen"])
        finally:
            try:
                client.logout()
            except Exception:  # the connection may be gone already
                logger.debug("IMAP logout failed", exc_info=True)
    except Exception as exc:
        logger.warning("polling mailbox %s failed: %s", mailbox.name, exc)
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=result.error)
    return result
