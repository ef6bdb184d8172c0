from django.contrib import admin
from django.http import HttpRequest

from tickets.models import (
    Attachment,
    Message,
    PhoneCall,
    ReferenceCounter,
    Ticket,
    TicketEvent,
)


class ReadOnlyAdminMixin:
    """History is written by services only; the admin shows it."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Message
    fields = ["created_at", "author", "author_kind", "visibility", "channel", "body_text"]
    readonly_fields = fields
    extra = 0


class TicketEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketEvent
    fields = ["at", "kind", "clock", "actor", "data"]
    readonly_fields = fields
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "organisation",
        "priority",
        "status",
        "channel",
        "team",
        "assignee",
        "first_response_due_at",
        "resolution_due_at",
        "updated_at",
    ]
    list_filter = ["status", "priority", "channel", "region", "team", "sla_tier"]
    list_select_related = ["organisation", "team", "assignee"]
    search_fields = ["reference", "subject", "organisation__name", "requester__user__email"]
    autocomplete_fields = ["organisation", "requester", "assignee"]
    readonly_fields = [
        "reference",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "sla_contract",
        "sla_tier",
        "sla_calendar",
        "sla_calendar_version",
        "sla_targets",
        "sla_pause_statuses",
        "sla_paused_clocks",
        *(
            f"{clock}_{part}"
            for clock in ("first_response", "next_response", "workaround", "resolution")
            for part in ("due_at", "met_at", "breached_at", "paused_at", "paused_for")
        ),
        "next_response_started_at",
    ]
    inlines = [MessageInline, TicketEventInline]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ticket", "created_at", "author", "author_kind", "visibility", "channel"]
    list_filter = ["visibility", "author_kind", "channel"]
    list_select_related = ["ticket", "author"]
    search_fields = ["ticket__reference", "body_text", "email_message_id"]
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["filename", "ticket", "content_type", "size", "created_at"]
    list_select_related = ["ticket"]
    search_fields = ["filename", "ticket__reference", "sha256"]


@admin.register(PhoneCall)
class PhoneCallAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "ticket",
        "caller_name",
        "phone_number",
        "direction",
        "duration",
        "agent",
    ]
    list_filter = ["direction"]
    list_select_related = ["ticket", "agent"]
    search_fields = ["ticket__reference", "caller_name", "phone_number"]
    autocomplete_fields = ["ticket", "agent"]
    readonly_fields = ["message", "created_at"]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "ticket", "kind", "clock", "actor"]
    list_filter = ["kind", "clock"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["ticket__reference"]
    show_full_result_count = False


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "value"]
