"""Writes owned by the portal app."""

from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from celery.utils import uuid
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from rest_framework.authtoken.models import Token

from portal.models import Agent, DeadLetter, Heartbeat, IdempotencyKey, Member, TaskAttempt
from portal.timezones import validate_time_zone


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


class DeadLetterAlreadyRequeued(Exception):
    """The dead letter was requeued before; its new message has its own fate (and dead letter)."""


def taskattempt_start(*, task_id: str, task_name: str, now: datetime) -> int:
    """Count one more start of the message `task_id` and commit it; return the count so far.

    Committed before the task body runs, so a worker that dies in the body leaves the count
    behind for the next delivery of the same message.
    """
    with transaction.atomic(durable=True):
        counted = TaskAttempt.objects.filter(task_id=task_id).update(
            attempts=F("attempts") + 1, last_started_at=now
        )
        if counted:
            return TaskAttempt.objects.values_list("attempts", flat=True).get(task_id=task_id)
        try:
            with transaction.atomic():
                TaskAttempt.objects.create(
                    task_id=task_id,
                    task_name=task_name,
                    attempts=1,
                    first_started_at=now,
                    last_started_at=now,
                )
        except IntegrityError:
            # Another delivery of the same message inserted the row between our UPDATE and
            # INSERT (PostgreSQL: it waited for that transaction to commit); count on it.
            TaskAttempt.objects.filter(task_id=task_id).update(
                attempts=F("attempts") + 1, last_started_at=now
            )
            return TaskAttempt.objects.values_list("attempts", flat=True).get(task_id=task_id)
        return 1


def taskattempt_finish(*, task_id: str) -> None:
    """The message `task_id` ran to the end: forget its starts."""
    with transaction.atomic(durable=True):
        TaskAttempt.objects.filter(task_id=task_id).delete()


def deadletter_park(
    *,
    task_id: str,
    task_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    queue: str,
    attempts: int,
    reason: str,
    now: datetime,
) -> DeadLetter:
    """Take the message `task_id` out of circulation, or note one more refused delivery of it.

    The attempt row stays: should the broker deliver the parked message once more, the guard
    counts on from where it was and parks it again instead of running it.
    """
    with transaction.atomic(durable=True):
        dead_letter, _ = DeadLetter.objects.update_or_create(
            task_id=task_id,
            defaults={"attempts": attempts, "reason": reason},
            create_defaults={
                "task_name": task_name,
                "args": list(args),
                "kwargs": dict(kwargs),
                "queue": queue,
                "attempts": attempts,
                "reason": reason,
                "parked_at": now,
            },
        )
    return dead_letter


def deadletter_requeue(*, dead_letter: DeadLetter, now: datetime) -> str:
    """Send the parked task again, by name, as a new message on its queue; return the new id.

    The claim is committed before the message is sent (no broker I/O inside a transaction, and
    two operators clicking at once send one message); if the broker refuses the message, the
    claim is undone so that the dead letter does not claim a requeue that never happened.
    """
    new_task_id = uuid()
    with transaction.atomic(durable=True):
        claimed = DeadLetter.objects.filter(pk=dead_letter.pk, requeued_at__isnull=True).update(
            requeued_at=now, requeued_task_id=new_task_id
        )
        if not claimed:
            raise DeadLetterAlreadyRequeued(f"{dead_letter} was requeued already.")
        # The old message id never runs again; its count has no further use.
        TaskAttempt.objects.filter(task_id=dead_letter.task_id).delete()
    try:
        current_app.send_task(
            dead_letter.task_name,
            args=dead_letter.args,
            kwargs=dead_letter.kwargs,
            task_id=new_task_id,
            queue=dead_letter.queue or None,
        )
    except Exception:
        with transaction.atomic(durable=True):
            DeadLetter.objects.filter(pk=dead_letter.pk, requeued_task_id=new_task_id).update(
                requeued_at=None, requeued_task_id=""
            )
        raise
    dead_letter.requeued_at = now
    dead_letter.requeued_task_id = new_task_id
    return new_task_id


# --- The portal's profile page -----------------------------------------------------------------
# (Appended section of a shared file: its imports live here until the sections are merged.)


def profile_time_zone_update(*, profile: Member | Agent, time_zone: str) -> Member | Agent:
    """Set the zone every instant is shown in, for a customer member or an agent."""
    validate_time_zone(time_zone)  # ValidationError for anything but an IANA name
    profile.time_zone = time_zone
    with transaction.atomic(durable=True):
        profile.save(update_fields=["time_zone"])
    return profile


def api_token_create(*, user: AbstractBaseUser) -> tuple[Token, bool]:
    """The user's API token, made if they have none (one token per user); True if made now."""
    with transaction.atomic(durable=True):
        token, created = Token.objects.get_or_create(user=user)
    return token, created


def api_token_revoke(*, user: AbstractBaseUser) -> bool:
    """Delete the user's API token, so requests with it are refused; True if there was one."""
    with transaction.atomic(durable=True):
        deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


# --- Idempotency keys of the REST API ----------------------------------------------------------
# (Appended section of a shared file: its imports live here until the sections are merged.)


# A key is remembered this long; after that the same key may be sent for a new request.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


class IdempotencyKeyConflict(Exception):
    """A key that cannot be used for this request now; `in_progress` tells which case.

    In progress: its first request has not finished (retry shortly). Otherwise the key was
    used for a different request (method, path or body) within the last 24 hours.
    """

    def __init__(self, message: str, *, in_progress: bool) -> None:
        super().__init__(message)
        self.in_progress = in_progress


def idempotency_key_claim(
    *,
    user: AbstractBaseUser,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    now: datetime,
) -> IdempotencyKey:
    """Claim `key` for this request, or find the finished first request that used it.

    The claim is committed before the caller does the write it guards, so a concurrent copy
    of the same request meets the unique (user, key) row and is refused instead of writing
    too. Returns the row: without a status it is the caller's claim (do the write, then
    `idempotency_key_complete` or `idempotency_key_release`); with one, the caller replays
    the stored response. Raises `IdempotencyKeyConflict` for a different request under the
    same key, or while the first request is still running.
    """
    for _ in range(3):
        with transaction.atomic(durable=True):
            try:
                with transaction.atomic():
                    return IdempotencyKey.objects.create(
                        user=user,
                        key=key,
                        method=method,
                        path=path,
                        fingerprint=fingerprint,
                        created_at=now,
                    )
            except IntegrityError:
                pass
            # The key was used before. Past its lifetime it is free again: take it over with a
            # conditional update, so that of two requests racing for it only one wins.
            renewed = IdempotencyKey.objects.filter(
                user=user, key=key, created_at__lte=now - IDEMPOTENCY_KEY_TTL
            ).update(
                method=method,
                path=path,
                fingerprint=fingerprint,
                status=None,
                response=None,
                created_at=now,
            )
            record = IdempotencyKey.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # released by its request between our insert and our read: try again
        if renewed:
            return record
        if (record.method, record.path, record.fingerprint) != (method, path, fingerprint):
            raise IdempotencyKeyConflict(
                "This Idempotency-Key was already used for a different request "
                f"({record.method} {record.path} with other data). Use a new key for a new "
                "request.",
                in_progress=False,
            )
        if record.in_progress:
            raise IdempotencyKeyConflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                in_progress=True,
            )
        return record
    raise IdempotencyKeyConflict(
        "This Idempotency-Key is being claimed and released concurrently; retry shortly.",
        in_progress=True,
    )


def idempotency_key_complete(*, record: IdempotencyKey, status: int, response: Any) -> None:
    """Keep the response of the claimed request, for retries to get back."""
    with transaction.atomic(durable=True):
        IdempotencyKey.objects.filter(pk=record.pk, status__isnull=True).update(
            status=status, response=response
        )
    record.status, record.response = status, response


def idempotency_key_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request wrote nothing (refused, or failed inside its transaction),
    so that the same key can be sent again."""
    with transaction.atomic(durable=True):
        IdempotencyKey.objects.filter(pk=record.pk, status__isnull=True).delete()


def idempotency_keys_purge(*, now: datetime) -> int:
    """Delete keys past their lifetime; returns how many. Safe to run at any time."""
    with transaction.atomic(durable=True):
        deleted, _ = IdempotencyKey.objects.filter(
            created_at__lte=now - IDEMPOTENCY_KEY_TTL
        ).delete()
    return deleted
