"""The outboxes of emails (staff notifications, customer emails): handing rows to sender tasks
once the transaction that wrote them commits, and the sender's claim, send and mark.

Senders are addressed by their task names: the sweep and the services that write the emails
are themselves run by tasks of `tickets.tasks`, which therefore cannot be imported from here.
"""

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, Q, QuerySet

from tickets.region_queues import region_queue

# Tasks of `tickets.tasks`; a test checks the names against the tasks.
SEND_NOTIFICATIONS_TASK = "tickets.tasks.send_notifications"
SEND_CUSTOMER_EMAILS_TASK = "tickets.tasks.send_customer_emails"
DISPATCH_CHUNK = 100


def outbox_dispatch(task_name: str, ids: Sequence[int], *, region_id: int | None = None) -> None:
    """Hand rows to sender tasks, in chunks, once the current transaction commits (on the queue
    of `region_id`, else the default queue)."""
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = list(ids[start : start + DISPATCH_CHUNK])
        transaction.on_commit(functools.partial(_send, task_name, chunk, region_id))


def _send(task_name: str, ids: list[int], region_id: int | None) -> None:
    current_app.send_task(task_name, args=[ids], queue=region_queue(region_id))


def notifications_dispatch(ids: Sequence[int], *, region_id: int | None = None) -> None:
    """Hand staff notifications to sender tasks once the current transaction commits, on the
    queue of the region their tickets are worked in."""
    outbox_dispatch(SEND_NOTIFICATIONS_TASK, ids, region_id=region_id)


def outbox_claim(unsent: QuerySet, *, pk: int, now: datetime, attempts: str) -> bool:
    """Claim one unsent row for this sender (a conditional UPDATE, counting the attempt in
    `attempts`): concurrent senders skip each other, and a claim older than the resend delay
    is taken as abandoned (its sender died). True if this sender holds it now."""
    stale = now - timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    claimed = (
        unsent.filter(pk=pk)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, **{attempts: F(attempts) + 1})
    )
    return bool(claimed)


def outbox_deliver(
    model: type[models.Model],
    *,
    pk: int,
    message: EmailMessage | None,
    sent: str,
    now: datetime,
) -> None:
    """Send a claimed row's email (None: nothing to send) and mark the row sent in `sent`.
    Outside any transaction: nothing rolls back an email. A failed send releases the claim, so
    the retry sends it once."""
    if message is not None:
        try:
            message.send()
        except Exception:
            model._default_manager.filter(pk=pk).update(claimed_at=None)
            raise
    model._default_manager.filter(pk=pk).update(**{sent: now})
