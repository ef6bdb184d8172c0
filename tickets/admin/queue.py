"""The support desk's ticket list as a queue: saved views as tabs (access keys 1 to 7), filters
by status, priority, team, region, SLA state, channel and assignee, search, most urgent first.

The filters are `tickets.queue`'s functions, which the API's agent list uses too. The list never
counts the whole table (`CappedCountPaginator`), and always sorts on the indexed
`(next_due_at, id)`: a page of the queue is a range of one partial index of open tickets.
"""

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin.base import CappedCountPaginator
from portal.models import Region, Team
from tickets.clock_display import format_duration, most_urgent
from tickets.models import Ticket
from tickets.queue import (
    DEFAULT_VIEW,
    QUEUE_ORDER,
    SAVED_VIEWS,
    SLAState,
    filter_assignee,
    filter_sla,
    filter_status,
    filter_team,
    saved_view_of,
    search,
    sla_state,
)

# Query parameters that are not filters: search, paging, the admin's own.
NOT_FILTERS = {"q", "p", "o", "e", "_popup", "_to_field"}
# The class of the time-left cell for each SLA state (`desk_queue.css`).
STATE_CLASSES = {
    SLAState.BREACHED: "breached",
    SLAState.AT_RISK: "warned",
    SLAState.OK: "running",
    SLAState.PAUSED: "paused",
    SLAState.NONE: "no-sla",
}


def _now(request: HttpRequest) -> datetime:
    """One instant per request, shared by the filters and the rows."""
    if not hasattr(request, "queue_now"):
        request.queue_now = timezone.now()  # type: ignore[attr-defined]
    return request.queue_now  # type: ignore[attr-defined]


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Open (new, open, waiting)")), *Ticket.Status.choices]

    def choices(self, changelist: Any) -> Any:
        # "All" says so in the query: a list with no filter at all opens on the default view.
        for choice in super().choices(changelist):
            if choice["query_string"] == changelist.get_query_string(remove=["status"]):
                choice["query_string"] = changelist.get_query_string({"status": "any"})
                choice["selected"] = self.value() == "any"
            yield choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        return filter_status(queryset, value) if value else queryset


class TeamFilter(admin.SimpleListFilter):
    title = gettext_lazy("team")
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        teams = Team.objects.order_by("region__code", "level", "name").values_list("pk", "name")
        return [
            ("mine", _("My team")),
            ("none", _("No team")),
            *((str(pk), name) for pk, name in teams),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if not value:
            return queryset
        return filter_team(queryset, value, user=request.user)  # type: ignore[arg-type]


class RegionFilter(admin.SimpleListFilter):
    """Every region (a handful of rows), not only those some ticket has: asking the tickets
    which regions they use is a scan of the table."""

    title = gettext_lazy("region")
    parameter_name = "region"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(str(pk), name) for pk, name in Region.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        return queryset.filter(region_id=int(value)) if value and value.isdigit() else queryset


class QueuePaginator(CappedCountPaginator):
    """Counts at most 500 matching tickets (10 pages), in the queue's order: the count then
    walks the same index as the page, a few hundred entries, and stops. Nobody pages deeper
    in a queue sorted by urgency; the search narrows it."""

    CAP = 500


class SearchPaginator(QueuePaginator):
    """For a search: counts any 501 matches, unordered. Words of a subject are found through
    the trigram index in one bitmap scan; walking the queue's order and testing every ticket
    for them is slower whenever matches are not among the most urgent."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP + 1].count()


class SLAFilter(admin.SimpleListFilter):
    title = gettext_lazy("SLA")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(SLAState.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value not in SLAState.values:
            return queryset
        return filter_sla(queryset, value, now=_now(request))


class AssigneeFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Me")), ("unassigned", _("Unassigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value not in ("me", "unassigned"):
            return queryset
        return filter_assignee(queryset, value, user=request.user)  # type: ignore[arg-type]


def format_age(delta: timedelta) -> str:
    """`12m`, `5h`, `3d`: how long ago, coarser as it grows."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return _("%(minutes)dm") % {"minutes": minutes}
    if minutes < 48 * 60:
        return _("%(hours)dh") % {"hours": minutes // 60}
    return _("%(days)dd") % {"days": minutes // (24 * 60)}


class TicketQueueMixin:
    """The list half of the desk's `TicketAdmin`."""

    list_display = [
        "reference",
        "subject",
        "organisation",
        "priority_code",
        "status",
        "team",
        "assignee",
        "next_clock",
        "customer_wrote",
    ]
    list_display_links = ["reference"]
    list_filter = [
        StatusFilter,
        "priority",
        TeamFilter,
        RegionFilter,
        SLAFilter,
        "channel",
        AssigneeFilter,
    ]
    list_select_related = ["organisation", "team", "assignee"]
    list_per_page = 50
    # The queue has one order, the one its indexes serve.
    sortable_by: list[str] = []
    search_fields = ["=reference", "subject", "organisation__name", "requester__user__email"]
    search_help_text = gettext_lazy(
        "A reference (MRD-000123), or words of the subject, organisation name or requester email."
    )
    show_full_result_count = False
    change_list_template = "admin/tickets/ticket/desk_queue.html"

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return list(QUEUE_ORDER)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        # The shared search: a reference exactly, the rest through small look-ups (no joins
        # that would multiply rows, so no DISTINCT).
        return search(queryset, search_term), False

    def get_paginator(
        self, request: HttpRequest, queryset: QuerySet[Ticket], per_page: int, **kwargs: Any
    ) -> QueuePaginator:
        searching = bool(request.GET.get("q", "").strip())
        return (SearchPaginator if searching else QueuePaginator)(queryset, per_page, **kwargs)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not request.GET:
            # The desk opens on the agent's team's open tickets.
            request.GET = QueryDict(DEFAULT_VIEW.query)
        filters = {k: v for k, v in request.GET.items() if k not in NOT_FILTERS}
        current = saved_view_of(filters)
        context = {
            "saved_views": [
                {
                    "view": view,
                    "key": str(number),
                    "current": view == current,
                    "query": view.query,
                }
                for number, view in enumerate(SAVED_VIEWS, start=1)
            ],
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)  # type: ignore[misc]

    @admin.display(description=gettext_lazy("Priority"))
    def priority_code(self, obj: Ticket) -> str:
        # The code alone (P1); its meaning is in the title, the column stays narrow.
        return format_html(
            '<abbr title="{}">{}</abbr>', obj.get_priority_display(), obj.priority.upper()
        )

    @admin.display(description=gettext_lazy("Next deadline"))
    def next_clock(self, obj: Ticket) -> str:
        now = timezone.now()
        state = sla_state(obj, now=now)
        css = STATE_CLASSES[state]
        if state == SLAState.NONE:
            return format_html('<span class="q-clock {}">{}</span>', css, _("no SLA"))
        if state == SLAState.PAUSED:
            return format_html('<span class="q-clock {}">{}</span>', css, _("paused"))
        urgent = most_urgent(obj, now=now)
        if urgent is None:  # cannot happen while the stored deadline agrees with the rule
            return "—"
        warned = getattr(obj, f"{urgent.name}_warned", 0)
        if state == SLAState.OK and warned:
            css = "warned"
        left = urgent.due_at - now
        when = timezone.localtime(urgent.due_at)
        text = (
            _("overdue %(time)s") % {"time": format_duration(-left)}
            if left <= timedelta(0)
            else format_duration(left)
        )
        return format_html(
            # The time left first: a narrow column still shows it.
            '<span class="q-clock {}" title="{}"><b>{}</b> {}</span>',
            css,
            _("due %(when)s") % {"when": f"{when:%a %d %b %H:%M %Z}"},
            text,
            urgent.label,
        )

    @admin.display(description=gettext_lazy("Customer wrote"))
    def customer_wrote(self, obj: Ticket) -> str:
        if obj.last_customer_message_at is None:
            return "—"
        when = timezone.localtime(obj.last_customer_message_at)
        return format_html(
            '<span title="{}">{}</span>',
            f"{when:%a %d %b %H:%M %Z}",
            format_age(timezone.now() - obj.last_customer_message_at),
        )
