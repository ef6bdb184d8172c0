"""Reads owned by the portal app. Selectors only read."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.authtoken.models import Token

from portal.models import Agent, Heartbeat, Member

# Where a user keeps their membership once read (`user.member`), and a membership its user.
_MEMBERSHIP: Any = Member.user.field.remote_field
_MEMBER_USER: Any = Member.user.field


def heartbeat_ages(*, now: datetime) -> dict[str, timedelta]:
    """How long ago each background process last proved it was alive."""
    return {name: now - seen for name, seen in Heartbeat.objects.values_list("name", "seen_at")}


def member_of(user: User | AnonymousUser) -> Member | None:
    """The customer membership of `user`, with its organisation and home region; None for
    anyone who is not a customer.

    One query per request: the answer is kept on the user object (where `user.member` finds
    it too), so the time zone middleware, the view and the rules share it.
    """
    if not isinstance(user, User):
        return None
    if _MEMBERSHIP.is_cached(user):
        cached: Member | None = _MEMBERSHIP.get_cached_value(user)
        if cached is None or Member.organisation.is_cached(cached):
            return cached
    member = (
        Member.objects.select_related("organisation__home_region")
        .filter(user_id=user.pk)
        .order_by()  # a unique lookup: not the model's order, which joins two tables
        .first()
    )
    _MEMBERSHIP.set_cached_value(user, member)
    if member is not None:
        _MEMBER_USER.set_cached_value(member, user)
    return member


def profile_of(user: User | AnonymousUser) -> Member | Agent | None:
    """The person behind a login: an agent's profile for staff (when they have one), else a
    customer's membership. Its time zone is the zone instants are shown in."""
    if not isinstance(user, User):
        return None
    if user.is_staff:
        agent: Agent | None = getattr(user, "agent", None)
        if agent is not None:
            return agent
    return member_of(user)


def today_of(user: User | AnonymousUser, *, now: datetime) -> date:
    """The date it is at `now` for `user`: in their profile's time zone, else in UTC."""
    profile = profile_of(user)
    zone = ZoneInfo(profile.time_zone if profile is not None and profile.time_zone else "UTC")
    return now.astimezone(zone).date()


def api_token_of(user: User) -> Token | None:
    """The user's API token, shown to its owner on their profile page."""
    return Token.objects.filter(user=user).first()
