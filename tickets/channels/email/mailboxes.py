"""The mailboxes' HTTP tokens: issued once, stored as a hash, checked in constant time.

A token reads `<mailbox id>.<secret>`: the id finds the mailbox, the secret's SHA-256 is
compared with `hmac.compare_digest` against the stored one.
"""

import hashlib
import hmac
import secrets

from django.db import transaction

from tickets.models import Mailbox


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def mailbox_token_issue(*, mailbox: Mailbox) -> str:
    """A new token for the mailbox's HTTP hook (the previous one stops working). Shown once."""
    secret = secrets.token_urlsafe(32)
    mailbox.token_sha256 = _digest(secret)
    with transaction.atomic():
        mailbox.save(update_fields=["token_sha256"])
    return f"{mailbox.pk}.{secret}"


def mailbox_for_token(token: str) -> Mailbox | None:
    """The active mailbox this token belongs to, or None."""
    ident, _, secret = token.strip().partition(".")
    if not ident.isdigit() or not secret:
        return None
    mailbox = Mailbox.objects.filter(pk=int(ident), active=True).first()
    if mailbox is None or not mailbox.token_sha256:
        return None
    if not hmac.compare_digest(_digest(secret), mailbox.token_sha256):
        return None
    return mailbox
