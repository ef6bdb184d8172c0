"""Who is told about a warning or a breach: the tier's policy, or the defaults."""

from dataclasses import dataclass

from django.conf import settings

from contracts.models import EscalationPolicy
from contracts.sla_names import Priority


@dataclass(frozen=True)
class Policy:
    notify_assignee: bool
    notify_team_lead: bool
    notify_l2_team: bool
    notify_account_manager: bool
    move_to_l2: bool
    repeat_minutes: int | None


def default_policy(*, priority: str, trigger: str) -> Policy:
    if trigger == EscalationPolicy.Trigger.WARNING:
        return Policy(True, True, False, False, False, None)
    p1 = priority == Priority.P1
    return Policy(
        notify_assignee=False,
        notify_team_lead=True,
        notify_l2_team=True,
        notify_account_manager=p1,
        move_to_l2=priority in (Priority.P1, Priority.P2),
        repeat_minutes=settings.ESCALATION_REPEAT_MINUTES if p1 else None,
    )


def policies_by_key(tier_ids: set[int]) -> dict[tuple[int, str, str], Policy]:
    """The configured policies of these tiers, keyed by (tier id, priority, trigger)."""
    return {
        (row.tier_id, row.priority, row.trigger): Policy(
            row.notify_assignee,
            row.notify_team_lead,
            row.notify_l2_team,
            row.notify_account_manager,
            row.move_to_l2,
            row.repeat_minutes,
        )
        for row in EscalationPolicy.objects.filter(tier_id__in=tier_ids)
    }


def policy_for(
    configured: dict[tuple[int, str, str], Policy], *, tier_id: int, priority: str, trigger: str
) -> Policy:
    return configured.get((tier_id, priority, trigger)) or default_policy(
        priority=priority, trigger=trigger
    )
