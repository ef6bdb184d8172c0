"""A Celery task base that takes a poison message out of circulation instead of redelivering it.

With `task_acks_late` and `task_reject_on_worker_lost`, a message whose worker process dies
(SIGKILL, segfault, out of memory) goes back to the broker and runs again; a message that kills
every worker it reaches would do so forever. `GuardedTask` counts the starts of each message in
the database and parks the message in a `DeadLetter` once it has had its attempts.
"""

import logging
from datetime import datetime
from typing import Any

from celery import Task
from django.utils import timezone

from portal.models import TaskAttempt
from portal.services import deadletter_park, taskattempt_finish, taskattempt_start

logger = logging.getLogger(__name__)


def poison_reason(*, attempts: int, retries: int) -> str:
    """Why a message that keeps starting and never finishing was parked, in an operator's words."""
    if not retries:
        return f"started {attempts} times without finishing (the worker died each time)"
    died = attempts - 1 - retries
    return (
        f"started {attempts} times without finishing ({retries} of them retries the task asked "
        f"for, the worker died in {died} of them)"
    )


class GuardedTask(Task):
    """A task whose message is parked in a `DeadLetter` after `max_attempts` starts.

    Every start of a message is counted (by task id, in `TaskAttempt`) and committed before the
    body runs, so the count survives a worker that dies in the body. A start beyond
    `max_attempts` does not run the body: the message is parked, logged and acknowledged, and
    the worker goes on with the next one. A body that returns forgets the count; a body that
    fails for good (an exception that is not retried, or retries exhausted) is parked too, with
    the exception as the reason.

    `self.retry()` re-sends the message under the same task id, so retries spend attempts as
    well: three attempts in all, however they end. That is why `max_retries` is
    `max_attempts - 1` here: the last retry fails (and is parked with its exception) rather than
    being refused by the guard. A task that lowers `max_attempts` should lower it too.

    Use it as `@shared_task(base=GuardedTask)`. Calling the task function directly (no message)
    runs the body unguarded. Writes use durable transactions: do not run a guarded task eagerly
    inside a transaction (enqueue after commit).
    """

    max_attempts = 3
    max_retries = 2

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly or not request.id:
            return super().__call__(*args, **kwargs)
        now = timezone.now()
        attempts = taskattempt_start(task_id=request.id, task_name=self.name, now=now)
        if attempts > self.max_attempts:
            reason = poison_reason(attempts=attempts, retries=request.retries or 0)
            self._park(args=args, kwargs=kwargs, attempts=attempts, reason=reason, now=now)
            return None
        # The tracer has pushed this request already; Task.__call__ would push a bare one that
        # hides the task id from the body when run eagerly.
        result = self.run(*args, **kwargs)
        taskattempt_finish(task_id=request.id)
        return result

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        attempts = (
            TaskAttempt.objects.filter(task_id=task_id).values_list("attempts", flat=True).first()
        )
        self._park(
            args=args,
            kwargs=kwargs,
            attempts=attempts or 1,
            reason=f"{type(exc).__name__}: {exc}",
            now=timezone.now(),
        )

    def _park(self, *, args: Any, kwargs: Any, attempts: int, reason: str, now: datetime) -> None:
        request = self.request
        deadletter_park(
            task_id=request.id,
            task_name=self.name,
            args=list(args or ()),
            kwargs=dict(kwargs or {}),
            queue=(request.delivery_info or {}).get("routing_key") or "",
            attempts=attempts,
            reason=reason,
            now=now,
        )
        logger.warning(
            "Parked task %s[%s] in the dead letters after %d attempts: %s",
            self.name,
            request.id,
            attempts,
            reason,
        )
