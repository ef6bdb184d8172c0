"""The read-only record in the support desk: messages, attachments, events and alerts are
written by the services only."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin.base import CappedCountPaginator, ReadOnlyAdmin
from tickets.models import (
    Attachment,
    Message,
    ReferenceCounter,
    ResponseCycle,
    SLAAlert,
    TicketEvent,
)
from tickets.selectors import attachments_visible_to
from tickets.views import attachment_response


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
    """Files stay out of the public media URL: staff download them through `download_view`,
    which checks who asks (staff see every organisation's files, internal notes' too)."""

    list_display = ["filename", "ticket", "content_type", "size", "created_at", "download"]
    list_select_related = ["ticket"]
    search_fields = ["filename", "=ticket__reference", "sha256"]
    fields = [
        "filename",
        "download",
        "ticket",
        "message",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "created_at",
    ]
    readonly_fields = ["download"]

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:attachment_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="tickets_attachment_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, attachment_id: int) -> FileResponse:
        attachment = attachments_visible_to(request.user).filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404(_("No such attachment."))
        if not self.has_view_permission(request, attachment):
            raise PermissionDenied
        return attachment_response(attachment)

    @admin.display(description=gettext_lazy("Download"))
    def download(self, obj: Attachment) -> str:
        return format_html(
            '<a href="{}" download>{}</a>',
            reverse("admin:tickets_attachment_download", args=[obj.pk]),
            _("Download %(name)s") % {"name": obj.filename},
        )


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


@admin.register(ResponseCycle)
class ResponseCycleAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "started_at", "due_at", "met_at", "breached_at", "taken"]
    list_select_related = ["ticket"]
    search_fields = ["=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator
