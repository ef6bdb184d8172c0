"""Celery adapters: take ids, call one service."""

from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from portal.taskguard import GuardedTask
from tickets.services.notifications import notification_send
from tickets.services.sweep import sweep


@shared_task(base=GuardedTask)
def sweep_deadlines() -> dict[str, int]:
    """Beat runs this every minute; overlapping runs split the work."""
    return sweep(timezone.now()).as_dict()


@shared_task(
    base=GuardedTask,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=2,
)
def send_notifications(ids: list[int]) -> int:
    """Email each notification that is not sent yet; returns how many this run sent."""
    return sum(notification_send(notification_id=pk, now=timezone.now()) for pk in ids)
