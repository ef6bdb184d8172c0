"""Reads owned by the portal app. Selectors only read."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authtoken.models import Token

from portal.models import Agent, Heartbeat, Member

User = get_user_model()


def heartbeat_ages(*, now: datetime) -> dict[str, timedelta]:
    """How long ago each background process last proved it was alive."""
    return {name: now - seen for name, seen in Heartbeat.objects.values_list("name", "seen_at")}


def member_of(user: AbstractBaseUser) -> Member | None:
    """The customer membership of `user`, with its organisation and home region; None for
    anyone who is not a customer.

    One query per request: the answer is kept on the user object (where `user.member` finds
    it too), so the time zone middleware, the view and the rules share it.
    """
    if not user.is_authenticated:
        return None
    related = User.member.related  # type: ignore[attr-defined]
    if related.is_cached(user):
        member = related.get_cached_value(user)
        if member is None or Member.organisation.is_cached(member):
            return member
    member = (
        Member.objects.select_related("organisation__home_region")
        .filter(user_id=user.pk)
        .order_by()  # a unique lookup: not the model's order, which joins two tables
        .first()
    )
    related.set_cached_value(user, member)
    if member is not None:
        Member.user.field.set_cached_value(member, user)
    return member


def profile_of(user: AbstractBaseUser) -> Member | Agent | None:
    """The person behind a login: an agent's profile for staff (when they have one), else a
    customer's membership. Its time zone is the zone instants are shown in."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        agent = getattr(user, "agent", None)
        if agent is not None:
            return agent
    return member_of(user)


def api_token_of(user: AbstractBaseUser) -> Token | None:
    """The user's API token, shown to its owner on their profile page."""
    return Token.objects.filter(user=user).first()
