"""A task that keeps killing its worker is parked after three attempts; the other tasks go on.

The tasks defined here exist for these tests only; the real-worker tests load this module into
the worker with `--include`, so that production modules carry no test tasks.
"""

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from celery import shared_task
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from portal.celery import app as celery_app
from portal.models import DeadLetter, Heartbeat, TaskAttempt
from portal.services import (
    DeadLetterAlreadyRequeued,
    deadletter_requeue,
    staff_permissions_sync,
)
from portal.taskguard import GuardedTask, poison_reason
from portal.tasks import record_heartbeat

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DIED_FOUR_TIMES = "started 4 times without finishing (the worker died each time)"


@shared_task(base=GuardedTask, bind=True)
def report_own_starts(self) -> int:
    """Returns the count the guard committed before this body ran."""
    return TaskAttempt.objects.get(task_id=self.request.id).attempts


@shared_task(base=GuardedTask)
def fail_with(message: str) -> None:
    raise LookupError(message)


@shared_task(base=GuardedTask, bind=True)
def retry_until_refused(self) -> None:
    raise self.retry(countdown=0)


@shared_task(base=GuardedTask)
def kill_own_worker_process() -> None:
    """The poison message: SIGKILL the process running it, as a segfault or the OOM killer would.

    Only ever sent to a real worker started by these tests, never applied in the test process.
    """
    os.kill(os.getpid(), signal.SIGKILL)


def seed_attempts(task_id: str, attempts: int, task_name: str = record_heartbeat.name) -> None:
    """As if `attempts` workers had started the message `task_id` and died running it."""
    TaskAttempt.objects.create(
        task_id=task_id,
        task_name=task_name,
        attempts=attempts,
        first_started_at=NOW,
        last_started_at=NOW,
    )


def new_task_id() -> str:
    return str(uuid.uuid4())


# --- The guard, run eagerly ---------------------------------------------------------------------


@pytest.mark.parametrize("earlier_starts", [0, 1, 2])
def test_first_three_starts_of_a_message_run_the_body_and_success_forgets_them(db, earlier_starts):
    task_id = new_task_id()
    if earlier_starts:
        seed_attempts(task_id, earlier_starts)

    result = record_heartbeat.apply(args=["beat-1"], task_id=task_id)

    assert result.successful()
    assert Heartbeat.objects.get(name="beat-1").beats == 1
    assert not TaskAttempt.objects.filter(task_id=task_id).exists()
    assert not DeadLetter.objects.exists()


def test_fourth_start_of_a_message_parks_it_without_running_the_body(db):
    task_id = new_task_id()
    seed_attempts(task_id, 3)

    with time_machine.travel(NOW, tick=False):
        result = record_heartbeat.apply(args=["beat-4"], task_id=task_id)

    assert result.successful()
    assert result.result is None
    assert not Heartbeat.objects.filter(name="beat-4").exists()
    dead_letter = DeadLetter.objects.get(task_id=task_id)
    assert dead_letter.task_name == "portal.tasks.record_heartbeat"
    assert dead_letter.args == ["beat-4"]
    assert dead_letter.kwargs == {}
    assert dead_letter.attempts == 4
    assert dead_letter.reason == DIED_FOUR_TIMES
    assert dead_letter.parked_at == NOW
    assert dead_letter.requeued_at is None
    # Kept, so that one more delivery of the parked message is refused too.
    assert TaskAttempt.objects.get(task_id=task_id).attempts == 4


def test_a_parked_message_delivered_once_more_stays_parked_in_the_same_dead_letter(db):
    task_id = new_task_id()
    seed_attempts(task_id, 3)
    with time_machine.travel(NOW, tick=False):
        record_heartbeat.apply(args=["beat-5"], task_id=task_id)

    record_heartbeat.apply(args=["beat-5"], task_id=task_id)

    assert not Heartbeat.objects.filter(name="beat-5").exists()
    dead_letter = DeadLetter.objects.get(task_id=task_id)
    assert dead_letter.attempts == 5
    assert dead_letter.reason.startswith("started 5 times without finishing")
    assert dead_letter.parked_at == NOW


def test_the_start_is_counted_and_committed_before_the_body_runs(db):
    task_id = new_task_id()
    seed_attempts(task_id, 1, task_name=report_own_starts.name)

    result = report_own_starts.apply(task_id=task_id)

    assert result.get() == 2
    assert not TaskAttempt.objects.filter(task_id=task_id).exists()


def test_calling_the_task_function_directly_runs_the_body_without_counting(db):
    record_heartbeat("direct")

    assert Heartbeat.objects.get(name="direct").beats == 1
    assert not TaskAttempt.objects.exists()


def test_a_task_that_fails_for_good_is_parked_with_its_exception_as_the_reason(db):
    task_id = new_task_id()

    result = fail_with.apply(args=["no ticket 42"], task_id=task_id)

    assert result.failed()
    dead_letter = DeadLetter.objects.get(task_id=task_id)
    assert dead_letter.reason == "LookupError: no ticket 42"
    assert dead_letter.args == ["no ticket 42"]
    assert dead_letter.attempts == 1


def test_retries_spend_attempts_so_the_third_attempt_fails_and_is_parked(db):
    task_id = new_task_id()

    result = retry_until_refused.apply(task_id=task_id)

    assert result.failed()
    dead_letter = DeadLetter.objects.get(task_id=task_id)
    assert dead_letter.attempts == 3
    assert dead_letter.reason.startswith("MaxRetriesExceededError: ")


def test_the_reason_tells_retries_apart_from_worker_deaths():
    assert poison_reason(attempts=4, retries=0) == DIED_FOUR_TIMES
    assert poison_reason(attempts=4, retries=1) == (
        "started 4 times without finishing (1 of them retries the task asked for, "
        "the worker died in 2 of them)"
    )


# --- Requeue -----------------------------------------------------------------------------------


@pytest.fixture
def dead_letter(db) -> DeadLetter:
    seed_attempts("poison-1", 4)
    return DeadLetter.objects.create(
        task_id="poison-1",
        task_name=record_heartbeat.name,
        args=["beat-r"],
        kwargs={},
        queue="meridian-low",
        attempts=4,
        reason=DIED_FOUR_TIMES,
        parked_at=NOW,
    )


@pytest.fixture
def broker_send() -> Iterator[mock.MagicMock]:
    """The broker, the edge of the system; the real-worker tests below use a real one."""
    with mock.patch.object(celery_app, "send_task") as send_task:
        yield send_task


def test_requeue_sends_the_task_under_a_new_id_and_forgets_the_old_attempts(
    dead_letter, broker_send
):
    later = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

    new_id = deadletter_requeue(dead_letter=dead_letter, now=later)

    assert new_id != "poison-1"
    broker_send.assert_called_once_with(
        "portal.tasks.record_heartbeat",
        args=["beat-r"],
        kwargs={},
        task_id=new_id,
        queue="meridian-low",
    )
    dead_letter.refresh_from_db()
    assert dead_letter.requeued_at == later
    assert dead_letter.requeued_task_id == new_id
    assert not TaskAttempt.objects.filter(task_id="poison-1").exists()


def test_a_dead_letter_is_requeued_only_once(dead_letter, broker_send):
    deadletter_requeue(dead_letter=dead_letter, now=NOW)

    with pytest.raises(DeadLetterAlreadyRequeued):
        deadletter_requeue(dead_letter=DeadLetter.objects.get(pk=dead_letter.pk), now=NOW)

    assert broker_send.call_count == 1


def test_a_requeue_the_broker_refuses_leaves_the_dead_letter_parked(dead_letter, broker_send):
    broker_send.side_effect = BrokerError("connection refused")

    with pytest.raises(BrokerError):
        deadletter_requeue(dead_letter=dead_letter, now=NOW)

    dead_letter.refresh_from_db()
    assert dead_letter.requeued_at is None
    assert dead_letter.requeued_task_id == ""


# --- Admin -------------------------------------------------------------------------------------


def test_dead_letter_changelist_shows_parked_tasks_to_a_superuser(dead_letter, superuser, client):
    client.force_login(superuser)

    response = client.get(reverse("admin:portal_deadletter_changelist"), {"requeued": "no"})

    assert response.status_code == 200
    assert b"poison-1" in response.content
    assert b"Requeue selected tasks" in response.content


def test_requeue_action_in_the_admin_sends_the_task_and_marks_it_requeued(
    dead_letter, superuser, client, broker_send
):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:portal_deadletter_changelist"),
        {"action": "requeue", "_selected_action": [dead_letter.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"Requeued 1 task(s)." in response.content
    dead_letter.refresh_from_db()
    assert dead_letter.requeued_at is not None
    assert broker_send.call_args.kwargs["task_id"] == dead_letter.requeued_task_id


def test_agents_see_dead_letters_but_cannot_requeue_them(dead_letter, agent_ber, client):
    staff_permissions_sync()
    client.force_login(agent_ber.user)
    url = reverse("admin:portal_deadletter_changelist")

    listed = client.get(url)
    client.post(url, {"action": "requeue", "_selected_action": [dead_letter.pk]})

    assert listed.status_code == 200
    assert b"poison-1" in listed.content
    assert b"Requeue selected tasks" not in listed.content
    dead_letter.refresh_from_db()
    assert dead_letter.requeued_at is None


def test_dead_letters_cannot_be_added_or_edited_in_the_admin(dead_letter, superuser, client):
    client.force_login(superuser)

    add = client.get(reverse("admin:portal_deadletter_add"))
    edit = client.post(
        reverse("admin:portal_deadletter_change", args=[dead_letter.pk]), {"reason": "fine"}
    )

    assert add.status_code == 403
    assert edit.status_code == 403
    dead_letter.refresh_from_db()
    assert dead_letter.reason == DIED_FOUR_TIMES


# --- Real workers ------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], *, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.worker
def test_a_real_worker_parks_a_poison_message_and_goes_on_with_the_next_task(celery_worker):
    queue = celery_worker("--pool=solo").queue
    poison_id = new_task_id()
    seed_attempts(poison_id, 3)

    record_heartbeat.apply_async(args=["poison"], task_id=poison_id, queue=queue)
    record_heartbeat.apply_async(args=["healthy"], queue=queue)

    assert wait_for(lambda: Heartbeat.objects.filter(name="healthy").exists())
    assert wait_for(lambda: DeadLetter.objects.filter(task_id=poison_id).exists())
    dead_letter = DeadLetter.objects.get(task_id=poison_id)
    assert dead_letter.attempts == 4
    assert dead_letter.reason == DIED_FOUR_TIMES
    assert dead_letter.args == ["poison"]
    assert dead_letter.queue == queue
    assert not Heartbeat.objects.filter(name="poison").exists()


@pytest.mark.worker
def test_a_requeued_dead_letter_runs_on_a_real_worker(celery_worker):
    queue = celery_worker("--pool=solo").queue
    dead_letter = DeadLetter.objects.create(
        task_id=new_task_id(),
        task_name=record_heartbeat.name,
        args=["requeued"],
        queue=queue,
        attempts=4,
        reason=DIED_FOUR_TIMES,
        parked_at=NOW,
    )

    new_id = deadletter_requeue(dead_letter=dead_letter, now=NOW)

    assert wait_for(lambda: Heartbeat.objects.filter(name="requeued").exists())
    # The new message ran to the end: its count is forgotten (just after the body's write).
    assert wait_for(lambda: not TaskAttempt.objects.filter(task_id=new_id).exists())
    assert DeadLetter.objects.count() == 1


@pytest.mark.worker
def test_a_task_that_kills_its_worker_process_is_parked_after_three_starts(celery_worker):
    # Prefork: the pool's parent sees each child die (WorkerLostError), sends the message back
    # to the broker (reject_on_worker_lost) and forks a new child, which takes it again.
    queue = celery_worker(
        "--pool=prefork", "--concurrency=1", f"--include={kill_own_worker_process.__module__}"
    ).queue
    poison_id = new_task_id()

    kill_own_worker_process.apply_async(task_id=poison_id, queue=queue)

    assert wait_for(lambda: DeadLetter.objects.filter(task_id=poison_id).exists(), timeout=120)
    dead_letter = DeadLetter.objects.get(task_id=poison_id)
    assert dead_letter.task_name == kill_own_worker_process.name
    assert dead_letter.attempts == 4
    assert dead_letter.reason == DIED_FOUR_TIMES
    assert TaskAttempt.objects.get(task_id=poison_id).attempts == 4
    # The same worker goes on with the other tasks.
    record_heartbeat.apply_async(args=["after-poison"], queue=queue)
    assert wait_for(lambda: Heartbeat.objects.filter(name="after-poison").exists())
