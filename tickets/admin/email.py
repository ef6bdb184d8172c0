"""The email channel in the support desk: mailboxes, every inbound message with its outcome
(quarantine included, reprocessed or assigned to an organisation from here), and the emails
sent to customers."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin.base import CappedCountPaginator, ReadOnlyAdmin
from portal.models import Organisation
from tickets.channels.email import inbound_reprocess, inbound_reprocessable
from tickets.channels.email.mailboxes import mailbox_token_issue
from tickets.models import InboundEmail, Mailbox, OutboundEmail

Outcome = InboundEmail.Outcome


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "active", "imap_host", "folder", "last_polled_at"]
    list_select_related = ["default_organisation", "default_region"]
    readonly_fields = ["token_set", "last_polled_at", "last_error"]
    actions = ["issue_token"]
    fieldsets = [
        (None, {"fields": ["name", "address", "active"]}),
        (
            gettext_lazy("IMAP polling"),
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_tls",
                    "imap_user",
                    "secret_env",
                    "folder",
                    "move_to",
                    "last_polled_at",
                    "last_error",
                ]
            },
        ),
        (
            gettext_lazy("Where its mail goes"),
            {"fields": ["default_organisation", "default_region", "token_set"]},
        ),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Mailbox | None = None) -> bool:
        return False  # its messages point at it; deactivate it instead

    @admin.display(description=gettext_lazy("HTTP token"), boolean=True)
    def token_set(self, obj: Mailbox) -> bool:
        return bool(obj.token_sha256)

    @admin.action(description=gettext_lazy("Issue a new HTTP token (the old one stops working)"))
    def issue_token(self, request: HttpRequest, queryset) -> None:
        for mailbox in queryset:
            token = mailbox_token_issue(mailbox=mailbox)
            self.message_user(
                request,
                format_html(
                    _("Token for {}: <code>{}</code> (shown once; keep it secret)"),
                    mailbox.name,
                    token,
                ),
                messages.WARNING,
            )


class AssignForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        label=gettext_lazy("Organisation"),
        help_text=gettext_lazy("The sender becomes a requester of it and the message a ticket."),
    )


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every message in, and what became of it. Quarantined ones wait here for a fix."""

    list_display = ["received_at", "outcome", "sender", "subject", "ticket", "reason", "via"]
    list_filter = ["outcome", "via", "mailbox"]
    list_select_related = ["ticket"]
    search_fields = ["sender", "subject", "=dedupe_key", "=ticket__reference"]
    readonly_fields = [
        "received_at",
        "outcome",
        "reason",
        "sender",
        "subject",
        "mailbox",
        "via",
        "dedupe_key",
        "duplicate_of",
        "ticket",
        "message",
        "size",
        "attempts",
        "processed_at",
        "original",
    ]
    exclude = ["raw"]
    actions = ["reprocess", "assign_organisation"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    change_list_template = "admin/tickets/inboundemail/change_list.html"

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.change_inboundemail")

    @admin.display(description=gettext_lazy("Original message"))
    def original(self, obj: InboundEmail) -> str:
        raw = bytes(obj.raw or b"")
        text = raw[:200_000].decode("utf-8", "replace")
        return format_html('<pre style="white-space: pre-wrap; max-height: 40em">{}</pre>', text)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        counts = dict(
            InboundEmail.objects.values_list("outcome").annotate(n=Count("id")).order_by()
        )
        summary = [(label, counts.get(value, 0)) for value, label in Outcome.choices]
        extra_context = {
            **(extra_context or {}),
            "outcome_counts": summary,
            "outcome_total": sum(counts.values()),
        }
        return super().changelist_view(request, extra_context)

    def _reprocess(self, request: HttpRequest, queryset, organisation=None) -> None:
        done: dict[str, int] = {}
        for record in queryset & inbound_reprocessable():
            result = inbound_reprocess(record, organisation=organisation)
            done[result.outcome] = done.get(result.outcome, 0) + 1
        if not done:
            self.message_user(request, _("No quarantined message was selected."), messages.INFO)
            return
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(done.items()))
        self.message_user(request, _("Reprocessed: %(summary)s.") % {"summary": summary})

    @admin.action(
        description=gettext_lazy("Reprocess the selected quarantined messages"),
        permissions=["reprocess"],
    )
    def reprocess(self, request: HttpRequest, queryset) -> None:
        self._reprocess(request, queryset)

    @admin.action(
        description=gettext_lazy("Assign to an organisation and store as tickets"),
        permissions=["reprocess"],
    )
    def assign_organisation(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if "apply" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                self._reprocess(request, queryset, form.cleaned_data["organisation"])
                return None
        else:
            form = AssignForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Assign to an organisation"),
            "form": form,
            "records": queryset,
            "action": "assign_organisation",
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/inboundemail/assign.html", context)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "to_address", "ticket", "sent_at", "skipped_reason"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket"]
    search_fields = ["to_address", "=message_id", "=ticket__reference"]
    show_full_result_count = False
    paginator = CappedCountPaginator
