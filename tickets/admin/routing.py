"""Routing in the support desk: the rules that override follow-the-sun routing, and the record
of shift handovers."""

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from portal.admin.base import InlineChanges, ReadOnlyAdmin, ServiceAdmin
from portal.services.rows import row_save
from tickets.models import Handover, RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(ServiceAdmin):
    """Tried by position before follow-the-sun routing; the first that matches wins."""

    list_display = [
        "position",
        "name",
        "active",
        "organisation",
        "priority",
        "channel",
        "product_area",
        "team",
        "only_on_shift",
    ]
    list_display_links = ["name"]
    list_filter = ["active", "team", "priority", "channel", "product_area"]
    list_select_related = ["organisation", "team"]
    autocomplete_fields = ["organisation"]
    search_fields = ["name", "organisation__name", "team__name"]

    def save_by_service(
        self, request: HttpRequest, obj: RoutingRule, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return row_save(obj)


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdmin):
    list_display = ["shift_ended_at", "team", "moved", "at"]
    list_filter = ["team"]
    list_select_related = ["team"]
    date_hierarchy = "shift_ended_at"
