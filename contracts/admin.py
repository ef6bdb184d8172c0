"""Calendars, tiers, contracts and policies in the support desk; every save is a service call."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import (
    BusinessCalendar,
    CalendarHoliday,
    CalendarVersion,
    Contract,
    ContractEvent,
    EscalationPolicy,
    ServiceCreditBand,
    SLATarget,
    SLATier,
    TierVersion,
)
from contracts.services import (
    ContractError,
    calendar_holiday_save,
    calendar_save,
    contract_cancel,
    contract_create,
    contract_draft_update,
    contract_end,
    credit_band_save,
    escalation_policy_save,
    sla_target_save,
    tier_save,
)
from contracts.sla_names import CLOCKS, Clock
from contracts.statements.admin import ComplianceStatementAdmin
from contracts.terms import ContractTermsMismatch, signed_terms
from portal.admin.base import InlineChanges, ReadOnlyAdmin, ServiceAdmin


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ServiceAdmin):
    """Open hours and holidays; a change makes a new version, which only new tickets use."""

    list_display = ["code", "name", "time_zone", "region", "hours", "holiday_country", "version"]
    list_filter = ["hours", "region", "holiday_country"]
    list_select_related = ["region"]
    search_fields = ["code", "name", "time_zone"]
    readonly_fields = ["version", "updated_at"]
    inlines = [CalendarHolidayInline]

    def save_by_service(
        self, request: HttpRequest, obj: BusinessCalendar, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        dates = inlines.of(CalendarHoliday)
        return calendar_save(
            calendar=obj,
            custom_dates=dates.saved,
            removed_dates=dates.deleted,
            changed=form.has_changed(),
        )


@admin.register(CalendarHoliday)
class CalendarHolidayAdmin(ServiceAdmin):
    list_display = ["date", "name", "calendar", "closed"]
    list_filter = ["closed", "calendar"]
    list_select_related = ["calendar"]
    search_fields = ["name", "calendar__name"]
    date_hierarchy = "date"

    def save_by_service(
        self, request: HttpRequest, obj: CalendarHoliday, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return calendar_holiday_save(holiday=obj)


@admin.register(CalendarVersion)
class CalendarVersionAdmin(ReadOnlyAdmin):
    """Frozen copies of calendars, as tickets created under them use them."""

    list_display = ["calendar", "version", "time_zone", "holiday_country", "created_at"]
    list_filter = ["calendar"]
    list_select_related = ["calendar"]


class SLATargetForm(forms.ModelForm):
    """A target with its clocks counted around the clock as checkboxes over the clocks (stored
    as the JSON list of their names)."""

    around_the_clock = forms.MultipleChoiceField(
        choices=Clock.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=gettext_lazy("Around the clock"),
        help_text=gettext_lazy(
            "The clocks whose target counts every hour of the week rather than in the "
            "coverage calendar."
        ),
    )

    class Meta:
        model = SLATarget
        fields = ["priority", *SLATarget.PROMISE_FIELDS]

    def clean_around_the_clock(self) -> list[str]:
        # In the order the clocks are shown, whatever order the browser sent them in.
        chosen = set(self.cleaned_data["around_the_clock"])
        return [clock for clock in CLOCKS if clock in chosen]


class SLATargetAdminForm(SLATargetForm):
    class Meta(SLATargetForm.Meta):
        fields = ["tier", *SLATargetForm.Meta.fields]


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    form = SLATargetForm
    extra = 0


class ServiceCreditBandInline(admin.TabularInline):
    model = ServiceCreditBand
    extra = 0


@admin.register(SLATier)
class SLATierAdmin(ServiceAdmin):
    """What customers buy. Signed contracts keep the terms they signed: a change here applies
    to contracts created from now on."""

    list_display = ["name", "code", "coverage", "monthly_fee", "currency", "compliance_objective"]
    list_filter = ["coverage"]
    search_fields = ["name", "code"]
    inlines = [SLATargetInline, ServiceCreditBandInline]

    def save_by_service(
        self, request: HttpRequest, obj: SLATier, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        targets, bands = inlines.of(SLATarget), inlines.of(ServiceCreditBand)
        return tier_save(
            tier=obj,
            targets=targets.saved,
            removed_targets=targets.deleted,
            credit_bands=bands.saved,
            removed_credit_bands=bands.deleted,
        )


@admin.register(SLATarget)
class SLATargetAdmin(ServiceAdmin):
    list_display = ["tier", "priority", *SLATarget.PROMISE_FIELDS]
    list_filter = ["tier", "priority"]
    form = SLATargetAdminForm
    list_select_related = ["tier"]

    def save_by_service(
        self, request: HttpRequest, obj: SLATarget, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return sla_target_save(target=obj)


@admin.register(ServiceCreditBand)
class ServiceCreditBandAdmin(ServiceAdmin):
    list_display = ["tier", "below_percent", "credit_percent"]
    list_filter = ["tier"]
    list_select_related = ["tier"]

    def save_by_service(
        self, request: HttpRequest, obj: ServiceCreditBand, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return credit_band_save(band=obj)


# --- Contracts -----------------------------------------------------------------------------

# The stored status is not shown: what it means today is the standing.
SIGNATURE_FIELDS = [
    "standing",
    "signed_by",
    "signed_at",
    "signed_ip",
    "signed_user_agent",
    "terms",
    "terms_hash",
    "terms_check",
    "created_at",
    "updated_at",
]


class ContractForm(forms.ModelForm):
    def clean_ends_on(self) -> Any:
        ends_on = self.cleaned_data.get("ends_on")
        contract = self.instance
        removed = ends_on is None and contract.ends_on is not None
        if contract.pk and contract.status == Contract.Status.ACTIVE and removed:
            raise forms.ValidationError(_("An end date, once set, can be moved but not removed."))
        return ends_on


class StandingFilter(admin.SimpleListFilter):
    """Contracts by their standing today, in the zone of the agent looking."""

    title = gettext_lazy("standing")
    parameter_name = "standing"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return list(Contract.Standing.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contract]) -> QuerySet[Contract]:
        value = self.value()
        if value not in Contract.Standing.values:
            return queryset
        return queryset.standing_on(timezone.localdate(), value)  # type: ignore[attr-defined]


@admin.register(Contract)
class ContractAdmin(ServiceAdmin):
    """Contracts are made as drafts (`contract_create`), signed by the customer's admin, then
    ended. Once signed, the terms, tier, dates and signature are read-only; the end date can
    still be set (`contract_end`)."""

    form = ContractForm
    list_display = [
        "reference",
        "organisation",
        "tier",
        "starts_on",
        "ends_on",
        "standing",
        "signed_at",
    ]
    list_filter = [StandingFilter, "tier"]
    list_select_related = ["organisation", "tier"]
    search_fields = ["reference", "organisation__name"]
    date_hierarchy = "starts_on"
    autocomplete_fields = ["organisation"]
    actions = ["cancel_drafts"]

    def get_fields(self, request: HttpRequest, obj: Contract | None = None) -> list[str]:
        main = ["reference", "organisation", "tier", "starts_on", "ends_on"]
        return main if obj is None else [*main, *SIGNATURE_FIELDS]

    def get_readonly_fields(self, request: HttpRequest, obj: Contract | None = None) -> list[str]:
        if obj is None:
            return []
        if obj.status == Contract.Status.DRAFT:
            return ["reference", "organisation", *SIGNATURE_FIELDS]
        if obj.status == Contract.Status.ACTIVE:
            return ["reference", "organisation", "tier", "starts_on", *SIGNATURE_FIELDS]
        return ["reference", "organisation", "tier", "starts_on", "ends_on", *SIGNATURE_FIELDS]

    @admin.display(description=gettext_lazy("Standing today"), ordering="status")
    def standing(self, obj: Contract) -> str:
        return str(obj.standing_on(timezone.localdate()).label)

    @admin.display(description=gettext_lazy("Signed terms"))
    def terms_check(self, obj: Contract) -> str:
        if not obj.terms_hash:
            return _("Not signed yet.")
        try:
            signed_terms(obj)
        except ContractTermsMismatch as exc:
            return format_html('<strong class="errornote">{}</strong>', str(exc))
        return _("Verified: the stored terms match the hash taken at signing.")

    def save_by_service(
        self, request: HttpRequest, obj: Contract, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        data = form.cleaned_data
        if obj.pk is None:
            return contract_create(
                organisation=data["organisation"],
                tier=data["tier"],
                starts_on=data["starts_on"],
                ends_on=data.get("ends_on"),
                reference=data["reference"],
            )
        if obj.status == Contract.Status.DRAFT:
            return contract_draft_update(
                contract=obj,
                tier=data["tier"],
                starts_on=data["starts_on"],
                ends_on=data.get("ends_on"),
            )
        if "ends_on" in form.changed_data and data.get("ends_on"):
            return contract_end(contract=obj, ends_on=data["ends_on"])
        return obj

    def has_cancel_drafts_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contracts.change_contract")

    @admin.action(description=gettext_lazy("Cancel selected drafts"), permissions=["cancel_drafts"])
    def cancel_drafts(self, request: HttpRequest, queryset: QuerySet[Contract]) -> None:
        cancelled = 0
        for contract in queryset:
            try:
                contract_cancel(contract=contract)
            except ContractError as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request, _("Cancelled %(count)d draft(s).") % {"count": cancelled}, messages.SUCCESS
            )


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ServiceAdmin):
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

    def save_by_service(
        self, request: HttpRequest, obj: EscalationPolicy, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return escalation_policy_save(policy=obj)


@admin.register(TierVersion)
class TierVersionAdmin(ReadOnlyAdmin):
    """Each version of a tier's terms; contracts keep the version they were signed on."""

    list_display = ["tier", "version", "terms_hash", "created_at"]
    list_filter = ["tier"]
    list_select_related = ["tier"]


@admin.register(ContractEvent)
class ContractEventAdmin(ReadOnlyAdmin):
    """Who drafted, changed, signed, ended or cancelled a contract, and when."""

    list_display = ["contract", "kind", "actor", "at"]
    list_filter = ["kind"]
    list_select_related = ["contract__organisation", "contract__tier", "actor"]
    search_fields = ["contract__reference", "contract__organisation__name"]
    date_hierarchy = "at"


__all__ = ["ComplianceStatementAdmin"]
