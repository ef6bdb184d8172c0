"""Writes owned by the portal app."""

from datetime import datetime

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import F, Q

from portal.models import Agent, Heartbeat


def heartbeat_record(*, name: str, now: datetime) -> Heartbeat:
    """Note that the process called `name` is alive at `now`."""
    with transaction.atomic():
        updated = Heartbeat.objects.filter(name=name).update(seen_at=now, beats=F("beats") + 1)
        if not updated:
            Heartbeat.objects.get_or_create(name=name, defaults={"seen_at": now, "beats": 1})
    return Heartbeat.objects.get(name=name)


# Model permissions each staff role gets, as "app_label.action_model"; viewing is granted on
# every model of the three apps to every role.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Agent.Role.AGENT: (
        "tickets.change_ticket",
        "tickets.add_phonecall",
        "tickets.change_phonecall",
    ),
    Agent.Role.LEAD: (
        "tickets.change_ticket",
        "tickets.add_phonecall",
        "tickets.change_phonecall",
        "portal.change_agent",
        "contracts.add_calendarholiday",
        "contracts.change_calendarholiday",
    ),
    Agent.Role.ACCOUNT_MANAGER: (
        "tickets.change_ticket",
        "portal.add_organisation",
        "portal.change_organisation",
        "portal.add_emaildomain",
        "portal.change_emaildomain",
        "portal.add_member",
        "portal.change_member",
        "contracts.add_contract",
        "contracts.change_contract",
        "contracts.change_compliancestatement",
    ),
}
STAFF_APPS = ("portal", "contracts", "tickets")


def staff_group_name(role: str) -> str:
    return f"Meridian {Agent.Role(role).label.lower()}s"


def staff_permissions_sync() -> dict[str, int]:
    """Make one group per staff role with its permissions and put every agent in theirs.

    Safe to run again; returns the number of members of each group.
    """
    view = Permission.objects.filter(
        content_type__app_label__in=STAFF_APPS, codename__startswith="view_"
    )
    sizes = {}
    with transaction.atomic():
        for role, names in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=staff_group_name(role))
            wanted = Q(pk__in=view.values("pk"))
            for name in names:
                app_label, codename = name.split(".")
                wanted |= Q(content_type__app_label=app_label, codename=codename)
            group.permissions.set(Permission.objects.filter(wanted))
            users = Agent.objects.filter(role=role).values_list("user_id", flat=True)
            group.user_set.set(users)
            sizes[group.name] = len(users)
    return sizes
