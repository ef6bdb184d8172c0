"""Operations in the support desk: heartbeats, parked task messages, task attempts and API
idempotency keys. All written by the services; dead letters can be sent again."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerError

from portal.admin.base import ReadOnlyAdmin
from portal.models import DeadLetter, Heartbeat, IdempotencyKey, TaskAttempt
from portal.services import (
    DeadLetterAlreadyRequeued,
    deadletter_requeue,
    idempotency_keys_forget,
)


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "seen_at", "beats"]


class RequeuedFilter(admin.SimpleListFilter):
    title = "requeued"
    parameter_name = "requeued"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(requeued_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(requeued_at__isnull=True)
        return queryset


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    """Parked task messages: read-only, except for sending them again."""

    list_display = ["task_name", "task_id", "attempts", "reason", "parked_at", "requeued_at"]
    list_filter = ["task_name", RequeuedFilter]
    search_fields = ["task_id", "task_name"]
    date_hierarchy = "parked_at"
    actions = ["requeue"]

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.change_deadletter")

    @admin.action(description=gettext_lazy("Requeue selected tasks"), permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        now = timezone.now()
        requeued = skipped = 0
        for dead_letter in queryset:
            try:
                deadletter_requeue(dead_letter=dead_letter, now=now)
            except DeadLetterAlreadyRequeued:
                skipped += 1
            except BrokerError as exc:
                self.message_user(
                    request, f"The broker refused {dead_letter}: {exc}", messages.ERROR
                )
                break
            else:
                requeued += 1
        if requeued:
            self.message_user(request, f"Requeued {requeued} task(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} task(s) requeued before.", messages.WARNING
            )


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    """Starts of task messages in flight or parked; written by the task guard only."""

    list_display = ["task_name", "task_id", "attempts", "first_started_at", "last_started_at"]
    list_filter = ["task_name"]
    search_fields = ["task_id", "task_name"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """API idempotency keys and the responses they replay: read-only. Forgetting a key lets
    its owner send it again at once (e.g. one left in progress by a crashed request)."""

    list_display = ["key", "user", "method", "path", "status", "created_at"]
    list_filter = ["method", "status"]
    list_select_related = ["user"]
    search_fields = ["key", "path", "user__username", "user__email"]
    date_hierarchy = "created_at"
    actions = ["forget"]

    def has_forget_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.delete_idempotencykey")

    @admin.action(
        description=gettext_lazy("Forget selected keys (their owners may send them again)"),
        permissions=["forget"],
    )
    def forget(self, request: HttpRequest, queryset: QuerySet[IdempotencyKey]) -> None:
        count = idempotency_keys_forget(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Forgot {count} key(s).", messages.SUCCESS)
