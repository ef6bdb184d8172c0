"""The support desk's header: the signed-in agent's team, shift and away switch."""

from dataclasses import dataclass

from django import template
from django.http import HttpRequest
from django.utils import timezone

from portal.models import Agent, Team
from portal.selectors import profile_of
from tickets.roster import team_on_shift

register = template.Library()


@dataclass(frozen=True)
class DeskAgent:
    """What the header says about the agent looking: away or not, their team, their shift."""

    away: bool
    team: Team | None
    on_shift: bool


@register.simple_tag(takes_context=True)
def desk_agent(context: template.Context) -> DeskAgent | None:
    """The agent behind the request, or None for staff without an agent profile.

    The agent and their team come with the user (`portal.authentication.PROFILE`); the shift
    takes one query, once per request however many times a page asks."""
    request: HttpRequest | None = context.get("request")
    if request is None:
        return None
    if not hasattr(request, "_desk_agent"):
        profile = profile_of(request.user)
        desk = None
        if isinstance(profile, Agent):
            team = profile.team
            on_shift = team is None or team_on_shift(team, now=timezone.now())
            desk = DeskAgent(away=profile.away, team=team, on_shift=on_shift)
        request._desk_agent = desk  # type: ignore[attr-defined]
    return request._desk_agent  # type: ignore[attr-defined]
