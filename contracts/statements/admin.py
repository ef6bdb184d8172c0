"""The statements in the desk: account managers draft, regenerate, issue, correct and export
them. Every action calls the statements' services."""

from collections import defaultdict
from collections.abc import Sequence

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import ComplianceStatement
from contracts.statements.exports import EXPORT_FORMATS, export_statement
from contracts.statements.months import parse_month
from contracts.statements.services import (
    StatementError,
    statement_issue,
    statement_revise,
    statements_generate,
)
from portal.admin.base import ReadOnlyAdmin
from portal.errors import Refusal
from portal.models import Organisation

CORRECT_TEMPLATE = "admin/contracts/compliancestatement/correct.html"
GENERATE_TEMPLATE = "admin/contracts/compliancestatement/generate.html"


class CorrectionForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown on the new revision, beside the one it corrects."),
    )


class GenerateForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("Month"), help_text=gettext_lazy("e.g. 2026-10"))
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"),
        queryset=Organisation.objects.order_by("name"),
        required=False,
        help_text=gettext_lazy("Empty: every organisation with a contract or a promise due."),
    )

    def clean_month(self):  # type: ignore[no-untyped-def]
        try:
            return parse_month(self.cleaned_data["month"])
        except Refusal as refusal:
            raise forms.ValidationError(refusal.message) from refusal


@admin.register(ComplianceStatement)
class ComplianceStatementAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "month",
        "revision",
        "status",
        "compliance_percent",
        "objective",
        "credit_amount",
        "currency",
        "downloads",
    ]
    list_filter = ["status", "month"]
    list_select_related = ["organisation"]
    search_fields = ["organisation__name", "organisation__slug"]
    date_hierarchy = "month"
    actions = ["regenerate_drafts", "issue_drafts", "correct_statement"]
    readonly_fields = ["downloads"]
    change_list_template = "admin/contracts/compliancestatement/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ComplianceStatement]:
        statements = super().get_queryset(request)
        if request.user.is_superuser:
            return statements
        # An account manager works on their own organisations' statements.
        return statements.filter(organisation__account_manager_id=request.user.pk)

    @admin.display(description=gettext_lazy("Download"))
    def downloads(self, obj: ComplianceStatement) -> str:
        if obj.pk is None:
            return ""
        return format_html_join(
            " ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:contracts_statement_export", args=[obj.pk, fmt]), fmt.upper())
                for fmt in EXPORT_FORMATS
            ),
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        own = [
            path(
                "<int:pk>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="contracts_statement_export",
            ),
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="contracts_statement_generate",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        statement = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, statement):
            return HttpResponseForbidden(_("You may not read this statement."))
        if fmt not in EXPORT_FORMATS:
            return HttpResponse(_("Unknown format."), status=404)
        exported = export_statement(statement=statement, fmt=fmt)
        response = HttpResponse(exported.body, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        return response

    def has_generate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contracts.change_compliancestatement")

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_generate_permission(request):
            return HttpResponseForbidden(_("You may not generate statements."))
        form = GenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            organisation = form.cleaned_data["organisation"]
            report = statements_generate(
                month=form.cleaned_data["month"],
                now=timezone.now(),
                organisations=[organisation] if organisation else None,
            )
            self.message_user(
                request,
                _(
                    "%(month)s: %(created)d drafted, %(refreshed)d refreshed, "
                    "%(issued)d already issued."
                )
                % {
                    "month": report.as_dict()["month"],
                    "created": len(report.created),
                    "refreshed": len(report.refreshed),
                    "issued": report.already_issued,
                },
                messages.SUCCESS,
            )
            return _redirect_to_list()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Generate statements"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, GENERATE_TEMPLATE, context)

    def has_regenerate_drafts_permission(self, request: HttpRequest) -> bool:
        return self.has_generate_permission(request)

    has_issue_drafts_permission = has_regenerate_drafts_permission
    has_correct_statement_permission = has_regenerate_drafts_permission

    @admin.action(
        description=gettext_lazy("Regenerate selected drafts"), permissions=["regenerate_drafts"]
    )
    def regenerate_drafts(self, request: HttpRequest, queryset: QuerySet) -> None:
        by_month: dict = defaultdict(list)
        for statement in queryset.filter(status="draft").select_related("organisation"):
            by_month[statement.month].append(statement.organisation)
        now = timezone.now()
        count = sum(
            len(statements_generate(month=month, now=now, organisations=orgs).refreshed)
            for month, orgs in by_month.items()
        )
        self.message_user(request, _("Regenerated %(count)d draft(s).") % {"count": count})

    @admin.action(description=gettext_lazy("Issue selected drafts"), permissions=["issue_drafts"])
    def issue_drafts(self, request: HttpRequest, queryset: QuerySet) -> None:
        issued, now = 0, timezone.now()
        for statement in queryset.order_by("pk"):
            try:
                statement_issue(statement=statement, by=request.user, now=now)  # type: ignore[arg-type]
            except StatementError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                issued += 1
        if issued:
            self.message_user(
                request, _("Issued %(count)d statement(s).") % {"count": issued}, messages.SUCCESS
            )

    @admin.action(
        description=gettext_lazy("Correct: draft a new revision"),
        permissions=["correct_statement"],
    )
    def correct_statement(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        statements: Sequence[ComplianceStatement] = list(queryset.select_related("organisation"))
        if len(statements) != 1:
            self.message_user(request, _("Correct one statement at a time."), messages.WARNING)
            return None
        [statement] = statements
        form = CorrectionForm(request.POST if request.POST.get("apply") == "yes" else None)
        if form.is_bound and form.is_valid():
            try:
                draft = statement_revise(
                    statement=statement, reason=form.cleaned_data["reason"], now=timezone.now()
                )
            except StatementError as exc:
                self.message_user(request, exc.message, messages.WARNING)
                return None
            self.message_user(
                request,
                _("Revision %(revision)d drafted; check it, then issue it.")
                % {"revision": draft.revision},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Correct %(statement)s") % {"statement": statement},
            "opts": self.model._meta,
            "statement": statement,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, CORRECT_TEMPLATE, context)


def _redirect_to_list() -> HttpResponse:
    response = HttpResponse(status=302)
    response["Location"] = reverse("admin:contracts_compliancestatement_changelist")
    return response
