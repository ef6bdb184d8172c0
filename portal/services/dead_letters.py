"""The task guard's bookkeeping: starts of each task message, and parked (dead) messages."""

from datetime import datetime
from typing import Any

from celery import current_app
from celery.utils import uuid
from django.db import IntegrityError, transaction
from django.db.models import F

from portal.errors import Refusal
from portal.models import DeadLetter, TaskAttempt


class DeadLetterAlreadyRequeued(Refusal):
    """The dead letter was requeued before; its new message has its own fate (and dead letter)."""

    status = 409
    code = "conflict"


def taskattempt_start(*, task_id: str, task_name: str, now: datetime) -> int:
    """Count one more start of the message `task_id` and commit it; return the count so far.

    Committed before the task body runs, so a worker that dies in the body leaves the count
    behind for the next delivery of the same message.
    """
    with transaction.atomic(durable=True):
        counted = TaskAttempt.objects.filter(task_id=task_id).update(
            attempts=F("attempts") + 1, last_started_at=now
        )
        if counted:
            return TaskAttempt.objects.values_list("attempts", flat=True).get(task_id=task_id)
        try:
            with transaction.atomic():
                TaskAttempt.objects.create(
                    task_id=task_id,
                    task_name=task_name,
                    attempts=1,
                    first_started_at=now,
                    last_started_at=now,
                )
        except IntegrityError:
            # Another delivery of the same message inserted the row between our UPDATE and
            # INSERT (PostgreSQL: it waited for that transaction to commit); count on it.
            TaskAttempt.objects.filter(task_id=task_id).update(
                attempts=F("attempts") + 1, last_started_at=now
            )
            return TaskAttempt.objects.values_list("attempts", flat=True).get(task_id=task_id)
        return 1


def taskattempt_finish(*, task_id: str) -> None:
    """The message `task_id` ran to the end: forget its starts."""
    with transaction.atomic(durable=True):
        TaskAttempt.objects.filter(task_id=task_id).delete()


def deadletter_park(
    *,
    task_id: str,
    task_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    queue: str,
    attempts: int,
    reason: str,
    now: datetime,
) -> DeadLetter:
    """Take the message `task_id` out of circulation, or note one more refused delivery of it.

    The attempt row stays: should the broker deliver the parked message once more, the guard
    counts on from where it was and parks it again instead of running it.
    """
    with transaction.atomic(durable=True):
        dead_letter, _ = DeadLetter.objects.update_or_create(
            task_id=task_id,
            defaults={"attempts": attempts, "reason": reason},
            create_defaults={
                "task_name": task_name,
                "args": list(args),
                "kwargs": dict(kwargs),
                "queue": queue,
                "attempts": attempts,
                "reason": reason,
                "parked_at": now,
            },
        )
    return dead_letter


def deadletter_requeue(*, dead_letter: DeadLetter, now: datetime) -> str:
    """Send the parked task again, by name, as a new message on its queue; return the new id.

    The claim is committed before the message is sent (no broker I/O inside a transaction, and
    two operators clicking at once send one message); if the broker refuses the message, the
    claim is undone so that the dead letter does not claim a requeue that never happened.
    """
    new_task_id = uuid()
    with transaction.atomic(durable=True):
        claimed = DeadLetter.objects.filter(pk=dead_letter.pk, requeued_at__isnull=True).update(
            requeued_at=now, requeued_task_id=new_task_id
        )
        if not claimed:
            raise DeadLetterAlreadyRequeued(f"{dead_letter} was requeued already.")
        # The old message id never runs again; its count has no further use.
        TaskAttempt.objects.filter(task_id=dead_letter.task_id).delete()
    try:
        current_app.send_task(
            dead_letter.task_name,
            args=dead_letter.args,
            kwargs=dead_letter.kwargs,
            task_id=new_task_id,
            queue=dead_letter.queue or None,
        )
    except Exception:
        with transaction.atomic(durable=True):
            DeadLetter.objects.filter(pk=dead_letter.pk, requeued_task_id=new_task_id).update(
                requeued_at=None, requeued_task_id=""
            )
        raise
    dead_letter.requeued_at = now
    dead_letter.requeued_task_id = new_task_id
    return new_task_id
