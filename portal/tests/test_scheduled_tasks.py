from datetime import UTC, datetime, timedelta

from django.conf import settings

from portal.celery import app
from portal.models import IdempotencyKey
from portal.tasks import purge_idempotency_keys


def test_beat_runs_the_sweep_handovers_the_mail_poll_the_heartbeat_the_purge_the_statements():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == {
        "tickets.tasks.sweep_deadlines",
        "tickets.tasks.hand_over_shifts",
        "tickets.tasks.poll_mailboxes",
        "portal.tasks.record_heartbeat",
        "portal.tasks.purge_idempotency_keys",
        "contracts.tasks.generate_monthly_statements",
    }
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert all(task in app.tasks for task in tasks)


def test_purge_task_removes_keys_older_than_a_day(requester_a, time_machine):
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    for age, key in ((timedelta(hours=25), "old"), (timedelta(hours=1), "new")):
        IdempotencyKey.objects.create(
            user=requester_a.user,
            key=key,
            method="POST",
            path="/api/v1/tickets/",
            fingerprint="0" * 64,
            created_at=now - age,
        )
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
