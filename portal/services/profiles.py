"""A person's own settings: the time zone instants are shown in, and their API token."""

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from portal.models import Agent, Member
from portal.timezones import validate_time_zone


def profile_time_zone_update(*, profile: Member | Agent, time_zone: str) -> Member | Agent:
    """Set the zone every instant is shown in, for a customer member or an agent."""
    validate_time_zone(time_zone)  # ValidationError for anything but an IANA name
    profile.time_zone = time_zone
    with transaction.atomic(durable=True):
        profile.save(update_fields=["time_zone"])
    return profile


def api_token_create(*, user: User) -> tuple[Token, bool]:
    """The user's API token, made if they have none (one token per user); True if made now."""
    with transaction.atomic(durable=True):
        token, created = Token.objects.get_or_create(user=user)
    return token, created


def api_token_revoke(*, user: User) -> bool:
    """Delete the user's API token, so requests with it are refused; True if there was one."""
    with transaction.atomic(durable=True):
        deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
