"""The support desk's ticket pages, where agents work: the queue (most urgent first), a ticket's
page (`ticket_page`), logging a call as a new ticket or on an existing one.

Forms check the rules first with the same functions the services apply, so an agent keeps what
they typed and sees which field is wrong; each save is one service call in one transaction.
"""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.selectors import sla_terms_for
from contracts.terms import SLATerms
from portal.admin.base import InlineChanges, ServiceAdmin
from portal.forms import add_refusal
from portal.models import Member
from tickets.admin.bulk import ACTIONS as BULK_ACTIONS
from tickets.admin.queue import TicketQueueMixin
from tickets.admin.ticket_page import TicketChangeForm, TicketPageMixin
from tickets.models import PhoneCall, Ticket
from tickets.rules import (
    CallDetails,
    call_refusals,
)
from tickets.selectors import call_terms
from tickets.services import call_log, ticket_create

# The call's parts, as the rules name them, and the add form's fields that hold them.
CALL_FIELDS = {
    "caller_name": "caller_name",
    "phone_number": "phone_number",
    "direction": "call_direction",
    "started_at": "call_started_at",
    "duration": "call_minutes",
    "late_reason": "call_late_reason",
    "summary": "description",
}


class TicketAddForm(forms.ModelForm):
    """Log a ticket on a customer's behalf: usually a phone call, whose start is when every
    clock starts."""

    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 5})
    )
    caller_name = forms.CharField(required=False, label=gettext_lazy("Caller name"))
    phone_number = forms.CharField(required=False, label=gettext_lazy("Phone number"))
    call_direction = forms.ChoiceField(
        label=gettext_lazy("Call direction"),
        choices=PhoneCall.Direction.choices,
        initial=PhoneCall.Direction.INBOUND,
    )
    call_started_at = forms.SplitDateTimeField(
        required=False,
        label=gettext_lazy("Call started at"),
        widget=widgets.AdminSplitDateTime,
        help_text=gettext_lazy("In your time zone; defaults to now. Every SLA clock starts here."),
    )
    call_minutes = forms.IntegerField(
        required=False, min_value=0, initial=5, label=gettext_lazy("Call minutes")
    )
    call_late_reason = forms.CharField(
        required=False,
        label=gettext_lazy("Why logged late"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Needed when the call started more than 24 hours ago."),
    )

    class Meta:
        model = Ticket
        fields = ["organisation", "requester", "channel", "priority", "product_area", "subject"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.now: datetime = timezone.now()
        self.call: CallDetails | None = None
        self.sla_terms: SLATerms | None = None
        requester, organisation = data.get("requester"), data.get("organisation")
        if requester and organisation and requester.organisation_id != organisation.pk:
            self.add_error("requester", _("This person belongs to another organisation."))
        if organisation is None:
            return data
        if data.get("channel") == Ticket.Channel.PHONE:
            self.call = CallDetails(
                caller_name=data.get("caller_name") or "",
                phone_number=data.get("phone_number") or "",
                direction=data.get("call_direction") or "",
                started_at=data.get("call_started_at") or self.now,
                duration=timedelta(minutes=data.get("call_minutes") or 0),
                late_reason=data.get("call_late_reason") or "",
            )
            self.sla_terms, contract_from = call_terms(
                organisation=organisation, call=self.call, now=self.now
            )
            summary = data.get("description") or ""
            for refusal in call_refusals(
                self.call, summary, now=self.now, contract_from=contract_from
            ):
                add_refusal(self, refusal, CALL_FIELDS)
        else:
            self.sla_terms = sla_terms_for(organisation=organisation, at=self.now)
        priority = data.get("priority")
        refusal = self.sla_terms.refusal(priority) if self.sla_terms and priority else None
        if refusal:
            self.add_error("priority", refusal)
        return data


@admin.register(Ticket)
class TicketAdmin(TicketQueueMixin, TicketPageMixin, ServiceAdmin):
    autocomplete_fields = ["organisation", "requester", "assignee"]
    actions = BULK_ACTIONS
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "organisation",
                    "requester",
                    "channel",
                    "priority",
                    "product_area",
                    "subject",
                    "description",
                ]
            },
        ),
        (
            gettext_lazy("Phone call"),
            {
                "fields": [
                    "caller_name",
                    "phone_number",
                    "call_direction",
                    "call_started_at",
                    "call_minutes",
                    "call_late_reason",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related, "sla_tier", "sla_contract", "sla_calendar")
        )

    def get_form(
        self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = TicketChangeForm if obj is not None else TicketAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_inlines(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "requester":
            kwargs["queryset"] = Member.objects.select_related("user", "organisation")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_by_service(
        self, request: HttpRequest, obj: Ticket, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        data = form.cleaned_data
        if obj.pk is None:
            return ticket_create(
                organisation=data["organisation"],
                requester=data.get("requester"),
                channel=data["channel"],
                subject=data["subject"],
                body_text=data["description"],
                priority=data["priority"],
                product_area=data["product_area"],
                actor=request.user,
                now=form.now,
                call=form.call,
                terms=form.sla_terms,
            )
        return self.save_change(request, obj, form)


class PhoneCallForm(forms.ModelForm):
    class Meta:
        model = PhoneCall
        fields = [
            "ticket",
            "caller_name",
            "phone_number",
            "direction",
            "started_at",
            "duration",
            "summary",
            "late_reason",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.now: datetime = timezone.now()
        ticket, started_at = data.get("ticket"), data.get("started_at")
        if ticket is not None and ticket.status == Ticket.Status.CLOSED:
            self.add_error("ticket", _("This ticket is closed; open a new one for the call."))
        if ticket is not None and started_at and started_at < ticket.created_at:
            self.add_error("started_at", _("The call cannot start before its ticket was opened."))
        if self.errors or started_at is None or data.get("duration") is None:
            return data
        call = CallDetails(
            caller_name=data.get("caller_name") or "",
            phone_number=data.get("phone_number") or "",
            direction=data.get("direction") or "",
            started_at=started_at,
            duration=data["duration"],
            late_reason=data.get("late_reason") or "",
        )
        for refusal in call_refusals(call, data.get("summary") or "", now=self.now):
            add_refusal(self, refusal)
        return data


@admin.register(PhoneCall)
class PhoneCallAdmin(ServiceAdmin):
    """Logging a call on an existing ticket is a public response on it."""

    form = PhoneCallForm
    list_display = [
        "started_at",
        "ticket",
        "caller_name",
        "phone_number",
        "direction",
        "duration",
        "agent",
        "created_at",
    ]
    list_filter = ["direction"]
    list_select_related = ["ticket", "agent"]
    search_fields = ["=ticket__reference", "caller_name", "phone_number"]
    autocomplete_fields = ["ticket"]

    def has_change_permission(self, request: HttpRequest, obj: PhoneCall | None = None) -> bool:
        return False

    def save_by_service(
        self, request: HttpRequest, obj: PhoneCall, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        data = form.cleaned_data
        return call_log(
            ticket=data["ticket"],
            agent=request.user,
            caller_name=data["caller_name"],
            phone_number=data["phone_number"],
            direction=data["direction"],
            started_at=data["started_at"],
            duration=data["duration"],
            summary=data["summary"],
            late_reason=data.get("late_reason") or "",
            now=form.now,
        )
