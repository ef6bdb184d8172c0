"""The read-only record in the support desk: messages, attachments, events and alerts are
written by the services only."""

from django.contrib import admin

from portal.admin.base import CappedCountPaginator, ReadOnlyAdmin
from tickets.models import Attachment, Message, ReferenceCounter, SLAAlert, TicketEvent


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "created_at", "author", "author_kind", "visibility", "channel"]
    list_filter = ["visibility", "author_kind", "channel"]
    list_select_related = ["ticket", "author"]
    search_fields = ["=ticket__reference", "email_message_id"]
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["filename", "ticket", "content_type", "size", "created_at"]
    list_select_related = ["ticket"]
    search_fields = ["filename", "=ticket__reference", "sha256"]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "ticket", "kind", "clock", "actor"]
    list_filter = ["kind", "clock"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdmin):
    list_display = ["name", "value"]


@admin.register(SLAAlert)
class SLAAlertAdmin(ReadOnlyAdmin):
    list_display = ["at", "ticket", "clock", "kind", "threshold", "due_at"]
    list_filter = ["kind", "clock"]
    list_select_related = ["ticket"]
    search_fields = ["=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator
