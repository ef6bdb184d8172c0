"""Heartbeats: background processes proving they are alive."""

from datetime import datetime

from django.db import transaction
from django.db.models import F

from portal.models import Heartbeat


def heartbeat_record(*, name: str, now: datetime) -> Heartbeat:
    """Note that the process called `name` is alive at `now`."""
    with transaction.atomic():
        updated = Heartbeat.objects.filter(name=name).update(seen_at=now, beats=F("beats") + 1)
        if not updated:
            Heartbeat.objects.get_or_create(name=name, defaults={"seen_at": now, "beats": 1})
    return Heartbeat.objects.get(name=name)
