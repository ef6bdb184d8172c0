"""A real worker is killed with SIGKILL halfway through a sweep and started again: every alert
is recorded exactly once and every notification is sent.

Runs against the configured broker; it needs one that redelivers the messages of a dead worker
(Redis: CI's production run). The embedded filesystem broker cannot, so the test skips there.
"""

import os
import signal
import time
import uuid
from datetime import timedelta
from email import message_from_string
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tickets.models import Notification, SLAAlert, TicketEvent
from tickets.services import ticket_create
from tickets.tasks import sweep_deadlines

TICKETS = 40


def worker_settings(mail_dir: Path) -> dict[str, str]:
    return {
        # One ticket per transaction, so the sweep is slow enough to be killed in the middle.
        "SWEEP_BATCH_SIZE": "1",
        # A dead worker's message comes back after this long.
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "3",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "NOTIFICATION_RESEND_AFTER_SECONDS": "3",
        "EMAIL_URL": f"filemail:///{mail_dir}",
    }


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(cast, tmp_path, celery_worker):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs a broker that redelivers a dead worker's message (Redis)")
    requester = cast["requester_a"]
    created = timezone.now() - timedelta(hours=3)
    for n in range(TICKETS):
        ticket_create(
            organisation=requester.organisation,
            requester=requester,
            channel="api",
            subject=f"Outage {n}",
            body_text="Down.",
            priority="p1",
            now=created,
        )
    # Three clocks a ticket (first response, workaround, resolution), each with two
    # warnings and a breach.
    expected_alerts = TICKETS * 3 * 3
    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    worker = celery_worker(queue=queue, env=worker_settings(mail_dir)).process
    try:
        sweep_deadlines.apply_async(queue=queue)
        wait_for(lambda: SLAAlert.objects.count() >= expected_alerts // 4, 60, "a sweep under way")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        recorded_when_killed = SLAAlert.objects.count()
        assert 0 < recorded_when_killed < expected_alerts

        worker = celery_worker(queue=queue, env=worker_settings(mail_dir)).process
        # The killed sweep's message is redelivered and finishes the work.
        wait_for(lambda: SLAAlert.objects.count() == expected_alerts, 90, "the sweep to finish")
        # A later sweep (beat's next minute) hands out any email whose sender never ran.
        time.sleep(3.5)
        sweep_deadlines.apply_async(queue=queue)
        wait_for(
            lambda: (
                Notification.objects.exists()
                and not Notification.objects.filter(email_sent_at__isnull=True).exists()
            ),
            90,
            "every notification to be sent",
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    keys = list(SLAAlert.objects.values_list("ticket", "clock", "cycle_started_at", "threshold"))
    assert len(keys) == len(set(keys)) == expected_alerts
    assert TicketEvent.objects.filter(kind="breach").count() == TICKETS * 3
    assert TicketEvent.objects.filter(kind="warning").count() == TICKETS * 3 * 2
    sent = {
        int(message_from_string(chunk.strip())["X-Meridian-Notification"])
        for path in mail_dir.iterdir()
        for chunk in path.read_text().split("-" * 79)
        if "X-Meridian-Notification" in chunk
    }
    assert sent == set(Notification.objects.values_list("pk", flat=True))
