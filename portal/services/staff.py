"""Staff: agents, team leads and account managers, and their roles as permission groups."""

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from portal.errors import Refusal
from portal.models import Agent

# Model permissions each staff role gets, as "app_label.action_model"; viewing is granted on
# every model of the three apps to every role. Logging a call as a new ticket is adding a
# ticket; logging one on an existing ticket is adding a phone call.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Agent.Role.AGENT: (
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.add_phonecall",
        "tickets.change_inboundemail",
    ),
    Agent.Role.LEAD: (
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.add_phonecall",
        "tickets.change_inboundemail",
        "tickets.add_mailbox",
        "tickets.change_mailbox",
        "portal.change_agent",
        "portal.change_team",
        "tickets.add_routingrule",
        "tickets.change_routingrule",
        "tickets.add_cannedresponse",
        "tickets.change_cannedresponse",
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


def _role_group(role: str) -> Group:
    """The role's group with exactly the role's permissions (made when missing)."""
    group, _ = Group.objects.get_or_create(name=staff_group_name(role))
    wanted = Q(content_type__app_label__in=STAFF_APPS, codename__startswith="view_")
    for name in ROLE_PERMISSIONS[role]:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.set(Permission.objects.filter(wanted))
    return group


def staff_permissions_sync() -> dict[str, int]:
    """Make one group per staff role with its permissions and put every agent in theirs.

    Safe to run again; returns the number of members of each group.
    """
    sizes = {}
    with transaction.atomic(durable=True):
        for role in ROLE_PERMISSIONS:
            group = _role_group(role)
            users = Agent.objects.filter(role=role).values_list("user_id", flat=True)
            group.user_set.set(users)
            sizes[group.name] = len(users)
    return sizes


def agent_save(*, agent: Agent) -> Agent:
    """Add or change a staff member: they can log in to the support desk, and they hold the
    permissions of their role (and of no other role) at once."""
    try:
        agent.full_clean()
    except ValidationError as exc:
        raise Refusal("; ".join(exc.messages)) from exc
    with transaction.atomic(durable=True):
        agent.save()
        user = agent.user
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        others = [staff_group_name(role) for role in ROLE_PERMISSIONS if role != agent.role]
        user.groups.remove(*Group.objects.filter(name__in=others))
        user.groups.add(_role_group(agent.role))
    return agent


def agent_away_set(*, agent: Agent, away: bool) -> Agent:
    """An agent marks themselves away (nothing is assigned to them automatically) or back."""
    with transaction.atomic(durable=True):
        Agent.objects.filter(pk=agent.pk).update(away=away)
    agent.away = away
    return agent
