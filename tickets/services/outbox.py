"""Handing emails to sender tasks, once the transaction that wrote them commits.

Senders are addressed by their task names: the sweep and the services that write the emails
are themselves run by tasks of `tickets.tasks`, which therefore cannot be imported from here.
"""

import functools
from collections.abc import Sequence

from celery import current_app
from django.db import transaction

# Tasks of `tickets.tasks`; a test checks the names against the tasks.
SEND_NOTIFICATIONS_TASK = "tickets.tasks.send_notifications"
SEND_CUSTOMER_EMAILS_TASK = "tickets.tasks.send_customer_emails"
DISPATCH_CHUNK = 100


def outbox_dispatch(task_name: str, ids: Sequence[int]) -> None:
    """Hand rows to sender tasks, in chunks, once the current transaction commits."""
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = list(ids[start : start + DISPATCH_CHUNK])
        transaction.on_commit(functools.partial(current_app.send_task, task_name, args=[chunk]))


def notifications_dispatch(ids: Sequence[int]) -> None:
    """Hand staff notifications to sender tasks once the current transaction commits."""
    outbox_dispatch(SEND_NOTIFICATIONS_TASK, ids)
