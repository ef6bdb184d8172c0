from celery import shared_task
from django.utils import timezone

from portal.services import heartbeat_record, idempotency_keys_purge
from portal.taskguard import GuardedTask


@shared_task(base=GuardedTask)
def record_heartbeat(name: str) -> None:
    """Scheduled by beat and run by a worker: its row proves both are alive."""
    heartbeat_record(name=name, now=timezone.now())


@shared_task(base=GuardedTask)
def purge_idempotency_keys() -> int:
    """Beat runs this daily: API idempotency keys live 24 hours."""
    return idempotency_keys_purge(now=timezone.now())
