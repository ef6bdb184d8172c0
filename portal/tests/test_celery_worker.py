"""A real Celery worker process takes a task from the configured broker and writes the database.

Nothing is eager here: the test publishes through the broker in settings (Redis in CI's
production run, the filesystem broker on the embedded default), a separate `celery worker`
process consumes it and writes to the same test database.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from portal.models import Heartbeat
from portal.tasks import record_heartbeat

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test runs on, for the worker process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve().as_posix()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(transactional_db):
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queue}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={queue}@%h",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Shown on failure: what the worker said.
        print(process.stdout.read())


@pytest.mark.worker
def test_a_real_worker_runs_a_task_from_the_broker_and_its_write_lands(worker):
    name = f"probe-{uuid.uuid4().hex[:8]}"
    record_heartbeat.apply_async(args=[name], queue=worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Heartbeat.objects.filter(name=name).exists():
            break
        time.sleep(0.2)
    heartbeat = Heartbeat.objects.get(name=name)
    assert heartbeat.beats == 1
