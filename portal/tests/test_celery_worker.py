"""A real Celery worker process takes a task from the configured broker and writes the database.

Nothing is eager here: the test publishes through the broker in settings (Redis in CI's
production run, the filesystem broker on the embedded default), a separate `celery worker`
process consumes it and writes to the same test database.
"""

import time
import uuid

import pytest

from portal.models import Heartbeat
from portal.tasks import record_heartbeat


@pytest.mark.worker
def test_a_real_worker_runs_a_task_from_the_broker_and_its_write_lands(celery_worker):
    worker = celery_worker().queue
    name = f"probe-{uuid.uuid4().hex[:8]}"
    record_heartbeat.apply_async(args=[name], queue=worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Heartbeat.objects.filter(name=name).exists():
            break
        time.sleep(0.2)
    heartbeat = Heartbeat.objects.get(name=name)
    assert heartbeat.beats == 1
