"""Handing notification emails to sender tasks, once the transaction that wrote them commits.

The sender is addressed by its task name: the sweep that writes notifications is itself run by
a task of `tickets.tasks`, which therefore cannot be imported from here.
"""

import functools
from collections.abc import Sequence

from celery import current_app
from django.db import transaction

# `tickets.tasks.send_notifications`; a test checks the name against the task.
SEND_NOTIFICATIONS_TASK = "tickets.tasks.send_notifications"
DISPATCH_CHUNK = 100


def notifications_dispatch(ids: Sequence[int]) -> None:
    """Hand notifications to sender tasks, in chunks, once the current transaction commits."""
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = list(ids[start : start + DISPATCH_CHUNK])
        transaction.on_commit(
            functools.partial(current_app.send_task, SEND_NOTIFICATIONS_TASK, args=[chunk])
        )
