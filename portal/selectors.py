"""Reads owned by the portal app."""

from datetime import datetime, timedelta

from portal.models import Heartbeat


def heartbeat_ages(*, now: datetime) -> dict[str, timedelta]:
    """How long ago each background process last proved it was alive."""
    return {name: now - seen for name, seen in Heartbeat.objects.values_list("name", "seen_at")}
