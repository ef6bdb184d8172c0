from django.core.management.base import BaseCommand

from portal.services import staff_permissions_sync


class Command(BaseCommand):
    help = (
        "Create one group per staff role (agents, team leads, account managers) with the admin "
        "permissions that role needs, and put every agent in the group of their role. Run after "
        "migrate and whenever roles change; running it again changes nothing."
    )

    def handle(self, *args, **options) -> None:
        for group, size in staff_permissions_sync().items():
            self.stdout.write(f"{group}: {size} members")
