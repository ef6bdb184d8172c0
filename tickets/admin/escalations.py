"""Escalations and notifications in the support desk: a person's own by default; acknowledging
an escalation stops its reminders."""

from django.contrib import admin, messages
from django.db.models import F
from django.http import HttpResponseRedirect
from django.utils import timezone

from portal.admin.base import CappedCountPaginator, ReadOnlyAdmin
from tickets.models import Escalation, Notification
from tickets.services import (
    NotificationError,
    escalation_acknowledge,
    notifications_mark_read,
)


class MineFilter(admin.SimpleListFilter):
    title = "recipient"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", "Mine"), ("all", "Everyone's")]

    def choices(self, changelist):
        # Default to "Mine": a person's own queue is what they open this page for.
        value = self.value() or "yes"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if (self.value() or "yes") == "yes" or not request.user.is_superuser:
            return queryset.filter(recipient=request.user)
        return queryset


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    """Escalations: acknowledge one to take ownership and stop the reminders."""

    list_display = [
        "created_at",
        "ticket",
        "alert",
        "recipient",
        "role",
        "acknowledged_at",
        "repeats",
        "next_repeat_at",
    ]
    list_filter = [MineFilter, "role", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket", "alert", "recipient"]
    search_fields = ["=ticket__reference"]
    readonly_fields = [f.name for f in Escalation._meta.fields]
    actions = ["acknowledge"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The change page is where a recipient acknowledges; nothing on it is editable. Only
        # for those who may see escalations at all: the index lists a model to whoever has a
        # permission on it, and a bare True listed this one to every member of the staff.
        if not self.has_view_permission(request):
            return False
        return obj is None or obj.recipient_id == request.user.pk or request.user.is_superuser

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            # Acknowledging is the only thing this page does; nothing on it is saved.
            if "_acknowledge" in request.POST:
                escalation = self.get_object(request, object_id)
                self._acknowledge(request, [escalation])
            return HttpResponseRedirect(request.path)
        extra_context = {**(extra_context or {}), "show_acknowledge": True}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Acknowledge (stop the reminders)")
    def acknowledge(self, request, queryset) -> None:
        self._acknowledge(request, list(queryset))

    def _acknowledge(self, request, escalations) -> None:
        done = 0
        for escalation in escalations:
            try:
                escalation_acknowledge(escalation=escalation, user=request.user, now=timezone.now())
                done += 1
            except NotificationError as exc:
                self.message_user(request, f"{escalation}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, f"Acknowledged {done} escalation(s).", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The agent's in-app notification list (their own by default), unread first."""

    list_display = [
        "created_at",
        "ticket",
        "about",
        "role",
        "recipient",
        "read_at",
        "email_sent_at",
    ]
    list_filter = [MineFilter, ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket", "recipient", "escalation__alert"]
    search_fields = ["=ticket__reference"]
    ordering = [F("read_at").asc(nulls_first=True), "-created_at"]
    actions = ["mark_read", "acknowledge"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    @admin.display(description="About")
    def about(self, obj: Notification) -> str:
        reminder = f" (reminder {obj.sequence})" if obj.sequence else ""
        return f"{obj.escalation.alert}{reminder}"

    @admin.display(description="As")
    def role(self, obj: Notification) -> str:
        return obj.escalation.get_role_display()

    @admin.action(description="Mark as read")
    def mark_read(self, request, queryset) -> None:
        count = notifications_mark_read(
            user=request.user,
            ids=list(queryset.values_list("pk", flat=True)),
            now=timezone.now(),
        )
        self.message_user(request, f"Marked {count} notification(s) as read.", messages.SUCCESS)

    @admin.action(description="Acknowledge their escalations")
    def acknowledge(self, request, queryset) -> None:
        escalations = Escalation.objects.filter(
            pk__in=queryset.values("escalation_id"), recipient=request.user
        )
        EscalationAdmin._acknowledge(self, request, list(escalations))
