from django.contrib import admin

from contracts.models import (
    BusinessCalendar,
    CalendarHoliday,
    CalendarVersion,
    ComplianceStatement,
    Contract,
    EscalationPolicy,
    ServiceCreditBand,
    SLATarget,
    SLATier,
)
from contracts.services import calendar_changed


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "region", "hours", "holiday_country", "version"]
    list_filter = ["hours", "region", "holiday_country"]
    list_select_related = ["region"]
    search_fields = ["code", "name", "time_zone"]
    readonly_fields = ["version", "updated_at"]
    inlines = [CalendarHolidayInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(f.has_changed() for f in formsets)):
            # New tickets use the new hours; existing tickets keep the version they started with.
            calendar_changed(calendar=form.instance)


@admin.register(CalendarHoliday)
class CalendarHolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "calendar", "closed"]
    list_filter = ["closed", "calendar"]
    list_select_related = ["calendar"]
    search_fields = ["name", "calendar__name"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        calendar_changed(calendar=obj.calendar)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        calendar_changed(calendar=obj.calendar)


@admin.register(CalendarVersion)
class CalendarVersionAdmin(admin.ModelAdmin):
    """Frozen copies of calendars, as tickets created under them use them."""

    list_display = ["calendar", "version", "time_zone", "holiday_country", "created_at"]
    list_filter = ["calendar"]
    list_select_related = ["calendar"]
    readonly_fields = [f.name for f in CalendarVersion._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    extra = 0


class ServiceCreditBandInline(admin.TabularInline):
    model = ServiceCreditBand
    extra = 0


@admin.register(SLATier)
class SLATierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "coverage", "monthly_fee", "currency", "compliance_objective"]
    list_filter = ["coverage"]
    search_fields = ["name", "code"]
    inlines = [SLATargetInline, ServiceCreditBandInline]


@admin.register(SLATarget)
class SLATargetAdmin(admin.ModelAdmin):
    list_display = [
        "tier",
        "priority",
        "first_response_minutes",
        "next_response_minutes",
        "workaround_minutes",
        "resolution_minutes",
    ]
    list_filter = ["tier", "priority"]
    list_select_related = ["tier"]


@admin.register(ServiceCreditBand)
class ServiceCreditBandAdmin(admin.ModelAdmin):
    list_display = ["tier", "below_percent", "credit_percent"]
    list_filter = ["tier"]
    list_select_related = ["tier"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "organisation",
        "tier",
        "starts_on",
        "ends_on",
        "status",
        "signed_at",
    ]
    list_filter = ["status", "tier"]
    list_select_related = ["organisation", "tier"]
    search_fields = ["reference", "organisation__name"]
    date_hierarchy = "starts_on"
    autocomplete_fields = ["organisation", "signed_by"]
    readonly_fields = ["terms_hash", "created_at", "updated_at"]


@admin.register(ComplianceStatement)
class ComplianceStatementAdmin(admin.ModelAdmin):
    list_display = [
        "organisation",
        "month",
        "status",
        "compliance_percent",
        "credit_amount",
        "currency",
    ]
    list_filter = ["status", "month"]
    list_select_related = ["organisation"]
    search_fields = ["organisation__name"]
    date_hierarchy = "month"
    autocomplete_fields = ["organisation"]
    readonly_fields = ["content_hash", "generated_at", "issued_at", "issued_by"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    """Who hears about warnings and breaches; tiers without a row use the defaults (see the
    model's description)."""

    list_display = [
        "tier",
        "priority",
        "trigger",
        "notify_assignee",
        "notify_team_lead",
        "notify_l2_team",
        "notify_account_manager",
        "move_to_l2",
        "repeat_minutes",
    ]
    list_filter = ["tier", "priority", "trigger"]
    list_select_related = ["tier"]
