"""The support desk: agents work tickets here. Every change goes through `tickets.services`."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from contracts.selectors import sla_terms_for
from portal.models import Member
from tickets import services
from tickets.models import (
    Attachment,
    Escalation,
    Message,
    Notification,
    PhoneCall,
    ReferenceCounter,
    SLAAlert,
    Ticket,
    TicketEvent,
)
from tickets.selectors import FAR_FUTURE, next_due_at
from tickets.sla import clock_views, format_duration


class CappedCountPaginator(Paginator):
    """Counts at most `CAP + 1` rows: the busiest lists (a million tickets, their events) page
    without a full-table COUNT, and past the cap the page count stops growing."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


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


class ServiceErrorMixin:
    """Admin pages whose saves are service calls.

    The services own their transactions, so the change form is not wrapped in the admin's own
    transaction. A service's refusal (forms check the rules first, so only a race gets this far)
    is shown as the error it is instead of Django's success message.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs) -> None:
        error = getattr(request, "_service_error", None)
        if error:
            request._service_error = None
            super().message_user(request, error, messages.ERROR)
            return
        super().message_user(request, message, level, *args, **kwargs)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            self.message_user(request, "Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)


class TicketChangeForm(forms.ModelForm):
    reply = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A public reply meets the first and next response clocks.",
    )
    reply_internal = forms.BooleanField(
        required=False, label="Internal note", help_text="Only agents see internal notes."
    )
    mark_workaround = forms.BooleanField(
        required=False, help_text="The customer has a workaround: meets the workaround clock."
    )

    class Meta:
        model = Ticket
        fields = ["subject", "product_area", "priority", "status", "team", "assignee"]

    def clean(self) -> dict:
        """Refuse here what the services would refuse, so the agent keeps what they typed."""
        data = super().clean()
        ticket = self.instance
        old_status, status = self.initial.get("status"), data.get("status")
        if (
            status
            and status != old_status
            and status not in services.STATUS_TRANSITIONS[old_status]
        ):
            self.add_error(
                "status",
                f"A {Ticket.Status(old_status).label.lower()} ticket cannot become "
                f"{Ticket.Status(status).label.lower()}.",
            )
        priority = data.get("priority")
        if ticket.has_sla and priority and priority not in ticket.sla_targets:
            self.add_error(
                "priority", f"The {ticket.sla_tier} contract does not cover {priority.upper()}."
            )
        if data.get("mark_workaround") and ticket.workaround_met_at:
            self.add_error("mark_workaround", "A workaround was already given.")
        if data.get("reply_internal") and not data.get("reply"):
            self.add_error("reply", "Write the note.")
        return data


class TicketAddForm(forms.ModelForm):
    """Log a ticket on a customer's behalf: usually a phone call."""

    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    caller_name = forms.CharField(required=False)
    phone_number = forms.CharField(required=False)
    call_direction = forms.ChoiceField(
        choices=PhoneCall.Direction.choices, initial=PhoneCall.Direction.INBOUND
    )
    call_started_at = forms.DateTimeField(required=False, help_text="Defaults to now.")
    call_minutes = forms.IntegerField(required=False, min_value=0, initial=5)

    class Meta:
        model = Ticket
        fields = ["organisation", "requester", "channel", "priority", "product_area", "subject"]

    def clean(self) -> dict:
        data = super().clean()
        requester, organisation = data.get("requester"), data.get("organisation")
        if requester and organisation and requester.organisation_id != organisation.pk:
            self.add_error("requester", "This person belongs to another organisation.")
        if data.get("channel") == Ticket.Channel.PHONE:
            for name in ("caller_name", "phone_number"):
                if not data.get(name):
                    self.add_error(name, "Needed for a phone ticket.")
        priority = data.get("priority")
        if organisation and priority:
            terms = sla_terms_for(organisation=organisation, at=timezone.now())
            if terms is not None and not terms.allows(priority):
                self.add_error(
                    "priority", f"The {terms.tier.name} contract does not cover {priority.upper()}."
                )
        return data


@admin.register(Ticket)
class TicketAdmin(ServiceErrorMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "organisation",
        "priority",
        "status",
        "team",
        "assignee",
        "next_deadline",
        "updated_at",
    ]
    list_filter = ["status", "priority", "channel", "region", "team", "sla_tier"]
    list_select_related = ["organisation", "team", "assignee"]
    search_fields = ["=reference", "subject", "organisation__name", "requester__user__email"]
    autocomplete_fields = ["organisation", "requester", "assignee"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [MessageInline, TicketEventInline]
    readonly_fields = ["reference", "sla_summary", "sla_clocks", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["reference", "subject", "product_area", "priority", "status"]}),
        ("Work", {"fields": ["team", "assignee"]}),
        ("SLA", {"fields": ["sla_summary", "sla_clocks"]}),
        ("Respond", {"fields": ["reply", "reply_internal", "mark_workaround"]}),
        ("Dates", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
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
            "Phone call",
            {
                "fields": [
                    "caller_name",
                    "phone_number",
                    "call_direction",
                    "call_started_at",
                    "call_minutes",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(next_due_at=next_due_at(overdue=False))

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        kwargs["form"] = TicketChangeForm if obj is not None else TicketAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_inlines(self, request: HttpRequest, obj=None):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.readonly_fields if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "requester":
            kwargs["queryset"] = Member.objects.select_related("user", "organisation")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Next deadline", ordering="next_due_at")
    def next_deadline(self, obj: Ticket) -> str:
        if not obj.has_sla:
            return "no SLA"
        due = getattr(obj, "next_due_at", None)
        if due is None or due == FAR_FUTURE:
            return "—"
        left = due - timezone.now()
        when = "in " + format_duration(left) if left >= timedelta(0) else format_duration(left)
        return f"{timezone.localtime(due):%a %d %b %H:%M} ({when})"

    @admin.display(description="Promise")
    def sla_summary(self, obj: Ticket) -> str:
        if not obj.has_sla:
            return "No active contract when this ticket was created: it has no SLA deadlines."
        return (
            f"{obj.sla_tier} under {obj.sla_contract.reference}, "
            f"in {obj.sla_calendar} (version {obj.sla_calendar_version})"
        )

    @admin.display(description="Clocks")
    def sla_clocks(self, obj: Ticket) -> str:
        views = clock_views(obj, now=timezone.now(), time_zone=timezone.get_current_timezone_name())
        if not views:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    view.label,
                    view.state.replace("_", " "),
                    f"{view.due_local:%a %d %b %Y %H:%M %Z}" if view.due_local else "—",
                    f"met {view.met_at_local:%a %d %b %H:%M}"
                    if view.met_at_local
                    else format_duration(view.business_time_left),
                )
                for view in views
            ),
        )
        return format_html(
            '<table class="sla-clocks"><thead><tr><th>Clock</th><th>State</th><th>Due</th>'
            "<th>Business time left</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Ticket, form, change: bool) -> None:
        now = timezone.now()
        try:
            if change:
                self._change(request, obj, form, now)
            else:
                self._create(request, obj, form.cleaned_data, now)
        except services.TicketError as exc:
            # Only a race gets here (the form checks the rules first); say what happened.
            request._service_error = str(exc)

    def _create(self, request: HttpRequest, obj: Ticket, data: dict, now) -> None:
        call = None
        if data["channel"] == Ticket.Channel.PHONE:
            call = services.CallDetails(
                caller_name=data["caller_name"],
                phone_number=data["phone_number"],
                direction=data["call_direction"],
                started_at=data.get("call_started_at") or now,
                duration=timedelta(minutes=data.get("call_minutes") or 0),
            )
        ticket = services.ticket_create(
            organisation=data["organisation"],
            requester=data.get("requester"),
            channel=data["channel"],
            subject=data["subject"],
            body_text=data["description"],
            priority=data["priority"],
            product_area=data["product_area"],
            actor=request.user,
            now=now,
            call=call,
        )
        obj.pk, obj.reference = ticket.pk, ticket.reference

    def _change(self, request: HttpRequest, obj: Ticket, form, now) -> None:
        changed = set(form.changed_data)
        data = form.cleaned_data
        plain = [name for name in ("subject", "product_area") if name in changed]
        if plain:
            Ticket.objects.filter(pk=obj.pk).update(**{name: data[name] for name in plain})
        if changed & {"team", "assignee"}:
            services.ticket_assign(
                ticket=obj,
                now=now,
                actor=request.user,
                team=data["team"],
                assignee=data["assignee"],
                reason="changed in the support desk",
            )
        if "priority" in changed:
            services.ticket_change_priority(
                ticket=obj, priority=data["priority"], now=now, actor=request.user
            )
        if data.get("reply"):
            services.ticket_reply(
                ticket=obj,
                author=request.user,
                body_text=data["reply"],
                now=now,
                internal=data["reply_internal"],
            )
        if data.get("mark_workaround"):
            services.ticket_mark_workaround(ticket=obj, now=now, actor=request.user)
        if "status" in changed:
            services.ticket_change_status(
                ticket=obj, status=data["status"], now=now, actor=request.user
            )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ticket", "created_at", "author", "author_kind", "visibility", "channel"]
    list_filter = ["visibility", "author_kind", "channel"]
    list_select_related = ["ticket", "author"]
    search_fields = ["=ticket__reference", "email_message_id"]
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["filename", "ticket", "content_type", "size", "created_at"]
    list_select_related = ["ticket"]
    search_fields = ["filename", "=ticket__reference", "sha256"]


class PhoneCallForm(forms.ModelForm):
    def clean_ticket(self) -> Ticket:
        ticket = self.cleaned_data["ticket"]
        if ticket.status == Ticket.Status.CLOSED:
            raise forms.ValidationError("This ticket is closed; open a new one for the call.")
        return ticket

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
        ]


@admin.register(PhoneCall)
class PhoneCallAdmin(ServiceErrorMixin, admin.ModelAdmin):
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
    ]
    list_filter = ["direction"]
    list_select_related = ["ticket", "agent"]
    search_fields = ["=ticket__reference", "caller_name", "phone_number"]
    autocomplete_fields = ["ticket"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PhoneCall, form, change: bool) -> None:
        data = form.cleaned_data
        try:
            call = services.call_log(
                ticket=data["ticket"],
                agent=request.user,
                caller_name=data["caller_name"],
                phone_number=data["phone_number"],
                direction=data["direction"],
                started_at=data["started_at"],
                duration=data["duration"],
                summary=data["summary"],
                now=timezone.now(),
            )
        except services.TicketError as exc:
            request._service_error = str(exc)
            return
        obj.pk = call.pk


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "ticket", "kind", "clock", "actor"]
    list_filter = ["kind", "clock"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "value"]


@admin.register(SLAAlert)
class SLAAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "ticket", "clock", "kind", "threshold", "due_at"]
    list_filter = ["kind", "clock"]
    list_select_related = ["ticket"]
    search_fields = ["=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator


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
        # The change page is where a recipient acknowledges; nothing on it is editable.
        return obj is None or obj.recipient_id == request.user.pk or request.user.is_superuser

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_acknowledge" in request.POST:
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
                services.escalation_acknowledge(
                    escalation=escalation, user=request.user, now=timezone.now()
                )
                done += 1
            except services.NotificationError as exc:
                self.message_user(request, f"{escalation}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, f"Acknowledged {done} escalation(s).", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="About")
    def about(self, obj: Notification) -> str:
        reminder = f" (reminder {obj.sequence})" if obj.sequence else ""
        return f"{obj.escalation.alert}{reminder}"

    @admin.display(description="As")
    def role(self, obj: Notification) -> str:
        return obj.escalation.get_role_display()

    @admin.action(description="Mark as read")
    def mark_read(self, request, queryset) -> None:
        count = services.notifications_mark_read(
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
