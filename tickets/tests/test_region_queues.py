"""Each region's Celery queue: named for the region's code, read once per process."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.region_queues import region_queue


def test_a_regions_queue_is_read_once_then_remembered(region_ber, settings):
    settings.CELERY_REGION_QUEUES = True
    region_ber.save()  # as after any change to regions: nothing remembered
    with CaptureQueriesContext(connection) as first:
        assert region_queue(region_ber.pk) == "region.ber"
    with CaptureQueriesContext(connection) as again:
        assert region_queue(region_ber.pk) == "region.ber"
    assert (len(first), len(again)) == (1, 0)


def test_a_renamed_region_is_seen_at_once(region_ber, settings):
    settings.CELERY_REGION_QUEUES = True
    assert region_queue(region_ber.pk) == "region.ber"
    region_ber.code = "fra"
    region_ber.save()
    assert region_queue(region_ber.pk) == "region.fra"


def test_without_region_queues_everything_goes_to_the_default_queue(region_ber, settings):
    settings.CELERY_REGION_QUEUES = False
    assert region_queue(region_ber.pk) is None
    assert region_queue(None) is None
