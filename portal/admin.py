from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from portal.models import (
    Agent,
    DeadLetter,
    EmailDomain,
    Heartbeat,
    IdempotencyKey,
    Member,
    Organisation,
    Region,
    TaskAttempt,
    Team,
)
from portal.services import DeadLetterAlreadyRequeued, deadletter_requeue


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]
    inlines = [TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "level", "email"]
    list_filter = ["level", "region"]
    list_select_related = ["region"]
    search_fields = ["name", "email"]


class EmailDomainInline(admin.TabularInline):
    model = EmailDomain
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "home_region", "account_manager", "requesters_see_all_tickets"]
    list_filter = ["home_region", "requesters_see_all_tickets"]
    list_select_related = ["home_region", "account_manager"]
    search_fields = ["name", "slug", "email_domains__domain"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["account_manager"]
    inlines = [EmailDomainInline]


@admin.register(EmailDomain)
class EmailDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["domain", "organisation__name"]
    autocomplete_fields = ["organisation"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user_email", "organisation", "role", "time_zone"]
    list_filter = ["role", "organisation__home_region"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "user__email", "user__last_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj: Member) -> str:
        return obj.user.email


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "role", "team", "time_zone"]
    list_filter = ["role", "team__region", "team__level"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__email", "user__last_name", "team__name"]
    autocomplete_fields = ["user"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at", "beats"]
    readonly_fields = ["name", "seen_at", "beats"]

    def has_add_permission(self, request) -> bool:
        return False


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
class DeadLetterAdmin(admin.ModelAdmin):
    """Parked task messages: read-only, except for sending them again."""

    list_display = ["task_name", "task_id", "attempts", "reason", "parked_at", "requeued_at"]
    list_filter = ["task_name", RequeuedFilter]
    search_fields = ["task_id", "task_name"]
    date_hierarchy = "parked_at"
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeadLetter | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DeadLetter | None = None) -> bool:
        return False

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.change_deadletter")

    @admin.action(description="Requeue selected tasks", permissions=["requeue"])
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
class TaskAttemptAdmin(admin.ModelAdmin):
    """Starts of task messages in flight or parked; written by the task guard only."""

    list_display = ["task_name", "task_id", "attempts", "first_started_at", "last_started_at"]
    list_filter = ["task_name"]
    search_fields = ["task_id", "task_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskAttempt | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TaskAttempt | None = None) -> bool:
        return False


# Appended section: its import stays here so that parallel appends to this file merge cleanly.


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """API idempotency keys and the responses they replay: read-only. Deleting a key lets its
    owner send it again at once (e.g. one left in progress by a crashed request)."""

    list_display = ["key", "user", "method", "path", "status", "created_at"]
    list_filter = ["method", "status"]
    list_select_related = ["user"]
    search_fields = ["key", "path", "user__username", "user__email"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "key",
        "method",
        "path",
        "fingerprint",
        "status",
        "response",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: IdempotencyKey | None = None
    ) -> bool:
        return False
