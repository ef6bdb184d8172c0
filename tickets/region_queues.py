"""Each region's Celery queue (`region.<code>`): routing and notification tasks about a ticket
go to the queue of the region it is worked in, so a region's workers can run near it. Every
worker must consume them (`celery -A portal worker -Q meridian,$(manage.py region_queues)`);
`CELERY_REGION_QUEUES=false` sends everything to the default queue instead."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.models import Organisation, Region
from tickets.models import Ticket

# Region codes by id, read once per process: a sweep sends its tasks in many chunks, each to its
# region's queue. A region's code is its queues' name, so renaming one means restarting the
# workers with the new `-Q` in any case; the cache is still cleared when a region is saved.
_codes: dict[int, str] = {}


@receiver(post_save, sender=Region)
@receiver(post_delete, sender=Region)
def _region_codes_forget(**kwargs: object) -> None:
    _codes.clear()


def queue_name(code: str) -> str:
    return f"region.{code}"


def region_queue(region_id: int | None, *, known: Region | None = None) -> str | None:
    """The queue for work about a ticket in this region; None for the default queue. Called
    when the task is sent, after commit: the region `known` to the caller when it is this one,
    else the process's cache of codes, else a primary-key read."""
    if region_id is None or not settings.CELERY_REGION_QUEUES:
        return None
    if known is not None and known.pk == region_id:
        return queue_name(known.code)
    code = _codes.get(region_id)
    if code is None:
        code = Region.objects.filter(pk=region_id).values_list("code", flat=True).first()
        if code is None:
            return None
        _codes[region_id] = code
    return queue_name(code)


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
