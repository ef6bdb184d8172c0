from celery import shared_task
from django.utils import timezone

from portal.services import heartbeat_record
from portal.taskguard import GuardedTask


@shared_task(base=GuardedTask)
def record_heartbeat(name: str) -> None:
    """Scheduled by beat and run by a worker: its row proves both are alive."""
    heartbeat_record(name=name, now=timezone.now())
