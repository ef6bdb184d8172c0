"""Idempotency keys of the REST API: claimed before a write, completed with its response."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from portal.errors import Refusal
from portal.models import IdempotencyKey

# A key is remembered this long; after that the same key may be sent for a new request.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


class IdempotencyKeyConflict(Refusal):
    """A key that cannot be used for this request now; `in_progress` tells which case.

    In progress: its first request has not finished (retry shortly). Otherwise the key was
    used for a different request (method, path or body) within the last 24 hours.
    """

    def __init__(self, message: str, *, in_progress: bool) -> None:
        super().__init__(message, field=None)
        self.in_progress = in_progress
        # A retry may succeed once the first request ends; another request never will.
        self.status = 409 if in_progress else 422
        self.code = "idempotency_key_in_progress" if in_progress else "idempotency_key_reused"


def idempotency_key_claim(
    *,
    user: User,
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


def idempotency_keys_forget(*, ids: list[int]) -> int:
    """Forget these keys at once, finished or not, so their owners may send them again (an
    operator's choice, e.g. for a key left in progress by a crashed request)."""
    with transaction.atomic(durable=True):
        deleted, _ = IdempotencyKey.objects.filter(pk__in=ids).delete()
    return deleted
