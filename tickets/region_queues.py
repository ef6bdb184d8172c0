"""Each region's Celery queue (`region.<code>`): routing and notification tasks about a ticket
go to the queue of the region it is worked in, so a region's workers can run near it. Every
worker must consume them (`celery -A portal worker -Q meridian,$(manage.py region_queues)`);
`CELERY_REGION_QUEUES=false` sends everything to the default queue instead."""

from django.conf import settings

from portal.models import Organisation, Region
from tickets.models import Ticket


def queue_name(code: str) -> str:
    return f"region.{code}"


def region_queue(region_id: int | None, *, known: Region | None = None) -> str | None:
    """The queue for work about a ticket in this region; None for the default queue. Called
    when the task is sent, after commit: the region `known` to the caller when it is this one,
    else a primary-key read."""
    if region_id is None or not settings.CELERY_REGION_QUEUES:
        return None
    if known is not None and known.pk == region_id:
        return queue_name(known.code)
    code = Region.objects.filter(pk=region_id).values_list("code", flat=True).first()
    return queue_name(code) if code else None


def region_in_memory(ticket: Ticket) -> Region | None:
    """The ticket's region if it is already read (as the ticket's, or as its organisation's
    home region), so sending its tasks costs no query."""
    if Ticket.region.is_cached(ticket):
        return ticket.region
    if Ticket.organisation.is_cached(ticket):
        organisation = ticket.organisation
        if Organisation.home_region.is_cached(organisation):
            return organisation.home_region
    return None


def region_queue_names() -> list[str]:
    """Every region's queue, for the workers' `-Q`."""
    return [
        queue_name(code) for code in Region.objects.order_by("code").values_list("code", flat=True)
    ]
