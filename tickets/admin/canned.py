"""Canned responses in the support desk: team leads and administrators keep them (a body with
an unknown placeholder is refused, naming it); agents insert them on a ticket's page."""

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy

from portal.admin.base import InlineChanges, ServiceAdmin
from portal.services.rows import row_save
from tickets.canned import PLACEHOLDERS
from tickets.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(ServiceAdmin):
    list_display = ["title", "team", "active", "updated_at"]
    list_filter = ["active", "team"]
    list_select_related = ["team"]
    search_fields = ["title", "body"]
    fields = ["title", "body", "placeholders", "team", "active"]
    readonly_fields = ["placeholders"]

    @admin.display(description=gettext_lazy("Placeholders"))
    def placeholders(self, obj: CannedResponse | None = None) -> str:
        return format_html_join(
            "",
            "<div><code>{{{}}}</code>: {}</div>",
            ((name, meaning) for name, meaning in PLACEHOLDERS.items()),
        )

    def save_by_service(
        self, request: HttpRequest, obj: CannedResponse, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return row_save(obj)
