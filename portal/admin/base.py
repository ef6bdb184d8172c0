"""What every support-desk page shares: read-only history, saves that are service calls, and
lists that never count a whole table."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Model
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from portal.errors import Refusal


class CappedCountPaginator(Paginator):
    """Counts at most `CAP + 1` rows: the busiest lists (a million tickets, their events) page
    without a full-table COUNT, and past the cap the page count stops growing."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


class ReadOnlyMixin:
    """Rows written by services only (history, bookkeeping): the admin shows them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A read-only list and detail page."""


@dataclass
class InlineChanges:
    """What the inline forms of a change page add, change and remove, for a service to write."""

    saved: list[Model] = field(default_factory=list)
    deleted: list[Model] = field(default_factory=list)

    def of(self, model: type[Model]) -> "InlineChanges":
        return InlineChanges(
            [obj for obj in self.saved if isinstance(obj, model)],
            [obj for obj in self.deleted if isinstance(obj, model)],
        )


def inline_changes(formsets: Sequence[BaseFormSet]) -> InlineChanges:
    """The unsaved objects of the inline formsets (`save(commit=False)`), parent set."""
    changes = InlineChanges()
    for formset in formsets:
        changes.saved += formset.save(commit=False)
        changes.deleted += formset.deleted_objects
    return changes


class ServiceAdmin(admin.ModelAdmin):
    """A change page whose save is one service call (`save_by_service`), which owns its
    transaction.

    The admin's own transaction around the form is left out (services open durable ones).
    The form checks the rules first, with the same functions the services use, so the agent
    keeps what they typed; a refusal only a race can cause is shown as the error it is, and
    nothing is saved or logged. Nothing is deleted here: rows end, they do not disappear.
    """

    def save_by_service(
        self, request: HttpRequest, obj: Model, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        """Write the page through the app's service; return the saved object."""
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        return self._changeform_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        """Saved with the inlines, in `save_related`: one service call for the whole page."""

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Sequence[BaseFormSet], change: bool
    ) -> None:
        try:
            saved = self.save_by_service(request, form.instance, form, inline_changes(formsets))
        except Refusal as refusal:
            request._service_refusal = refusal  # type: ignore[attr-defined]
            return
        # The page goes on with what was saved (its key, a reference the service gave it, …).
        for column in saved._meta.concrete_fields:
            setattr(form.instance, column.attname, getattr(saved, column.attname))

    def _refused(self, request: HttpRequest) -> bool:
        return getattr(request, "_service_refusal", None) is not None

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        return None if self._refused(request) else super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        return None if self._refused(request) else super().log_change(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: Model, post_url_continue: str | None = None
    ) -> HttpResponse:
        if self._refused(request):
            self._report_refusal(request)
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Model) -> HttpResponse:
        if self._refused(request):
            self._report_refusal(request)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def _report_refusal(self, request: HttpRequest) -> None:
        refusal = request._service_refusal  # type: ignore[attr-defined]
        self.message_user(
            request, _("Nothing was saved: %(reason)s") % {"reason": refusal}, messages.ERROR
        )
