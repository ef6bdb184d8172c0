from celery import shared_task
from django.utils import timezone

from portal.services import heartbeat_record


@shared_task
def record_heartbeat(name: str) -> None:
    """Scheduled by beat and run by a worker: its row proves both are alive."""
    heartbeat_record(name=name, now=timezone.now())
