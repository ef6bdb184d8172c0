from django.core.management.base import BaseCommand

from tickets.region_queues import region_queue_names


class Command(BaseCommand):
    help = (
        "Print the regions' Celery queues, comma-separated, for a worker's -Q: "
        "celery -A portal worker -Q meridian,$(manage.py region_queues)"
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(",".join(region_queue_names()))
