"""A person's own settings: the time zone instants are shown in, the emails they receive,
their API token; and an address that bounces."""

from datetime import datetime

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


EMAIL_PREFERENCES = ("email_on_created", "email_on_reply", "email_on_waiting", "email_on_resolved")


def profile_email_preferences_update(*, member: Member, choices: dict[str, bool]) -> Member:
    """Which emails about their tickets a member receives."""
    for name in EMAIL_PREFERENCES:
        setattr(member, name, bool(choices.get(name, False)))
    with transaction.atomic(durable=True):
        member.save(update_fields=list(EMAIL_PREFERENCES))
    return member


def members_mark_bouncing(*, address: str, reason: str, now: datetime) -> int:
    """A delivery status notification said mail to `address` failed: stop mailing it."""
    return Member.objects.filter(
        user__email__iexact=address, email_bouncing_since__isnull=True
    ).update(email_bouncing_since=now, email_bounce_reason=reason[:255])


def member_bounce_clear(*, member: Member) -> Member:
    """The address works again (the member fixed it, or staff checked): mail it again."""
    member.email_bouncing_since = None
    member.email_bounce_reason = ""
    with transaction.atomic():
        member.save(update_fields=["email_bouncing_since", "email_bounce_reason"])
    return member
