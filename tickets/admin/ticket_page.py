"""The ticket page of the support desk, where an agent works one ticket: the conversation with
its files, a reply or an internal note with attachments and canned responses, the workaround,
the root cause, the SLA's promises as milestones, the phone calls, the history in sentences and
where routing would send the ticket now. Every instant is in the agent's time zone (activated
by `ViewerTimeZoneMiddleware`).

The page reads a fixed number of queries whatever the length of the ticket's history: the
conversation, calls and events each come in one query with their people, and the names events
refer to by id come from the routing roster the routing panel loads anyway.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.db.models import Q
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.sla_names import Clock
from portal.selectors import profile_of
from tickets.canned import canned_render, canned_values
from tickets.clock_display import ClockView, clock_views, format_duration, format_instant
from tickets.event_display import Names, event_sentence, user_ids_named
from tickets.forms import AttachmentsField
from tickets.models import CannedResponse, Message, PhoneCall, Ticket, TicketEvent
from tickets.routing import Decision, RoutingWorld, explain
from tickets.rules import root_cause_refusal, status_refusal, ticket_priority_refusal
from tickets.selectors import ticket_conversation
from tickets.services import UNCHANGED, ticket_update

# How each clock state reads on the page.
CLOCK_STATES = {
    "running": gettext_lazy("running"),
    "paused": gettext_lazy("paused"),
    "met": gettext_lazy("met"),
    "breached": gettext_lazy("breached"),
    "no_target": gettext_lazy("no target"),
    "not_started": gettext_lazy("not started"),
}

RESPOND = gettext_lazy("Reply or note")
# The SLA's fieldset: its promises as milestones, shown at the top of the page's side column.
SLA_HEADING = gettext_lazy("SLA milestones")


ROOT_CAUSE_FIELDS = ("root_cause_summary", "root_cause_detail")


class TicketChangeForm(forms.ModelForm):
    reply = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "desk-reply"}),
        label=gettext_lazy("Reply"),
        help_text=gettext_lazy(
            "A public reply meets the first and next response clocks. Ctrl+Enter saves and "
            "stays on this page."
        ),
    )
    attachments = AttachmentsField(label=gettext_lazy("Attachments"))
    reply_internal = forms.BooleanField(
        required=False,
        label=gettext_lazy("Internal note"),
        help_text=gettext_lazy("Only agents see internal notes."),
    )
    mark_workaround = forms.BooleanField(
        required=False,
        label=gettext_lazy("Mark workaround"),
        help_text=gettext_lazy("The customer has a workaround: meets the workaround clock."),
    )
    workaround_note = forms.CharField(
        required=False,
        label=gettext_lazy("Workaround note"),
        help_text=gettext_lazy("What the workaround is, for the history."),
    )
    root_cause_summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "desk-root-cause"}),
        label=gettext_lazy("Public summary"),
        help_text=gettext_lazy(
            "What the customer reads. The first record meets the root-cause clock; an edit "
            "later revises the text."
        ),
    )
    root_cause_detail = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "desk-root-cause"}),
        label=gettext_lazy("Internal detail"),
        help_text=gettext_lazy("Optional. Agents only: the customer never sees it."),
    )

    class Meta:
        model = Ticket
        fields = ["subject", "product_area", "priority", "status", "team", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(AttachmentsField, self.fields["attachments"]).describe_limits()
        # The recorded root cause is there to revise; saved only when the agent changes it.
        for name in ROOT_CAUSE_FIELDS:
            self.initial.setdefault(name, getattr(self.instance, name, ""))

    @property
    def root_cause_changed(self) -> bool:
        return any(name in self.changed_data for name in ROOT_CAUSE_FIELDS)

    def clean(self) -> dict[str, Any]:
        """Refuse here what the service would refuse, so the agent keeps what they typed."""
        super().clean()
        data = self.cleaned_data
        ticket = self.instance
        old_status, status = self.initial.get("status"), data.get("status")
        if status and old_status and status != old_status:
            refusal = status_refusal(reference=ticket.reference, old=old_status, new=status)
            if refusal:
                self.add_error("status", refusal)
        priority = data.get("priority")
        if priority and priority != self.initial.get("priority"):
            refusal = ticket_priority_refusal(ticket, priority)
            if refusal:
                self.add_error("priority", refusal)
        assignee = data.get("assignee")
        if assignee is not None and not assignee.is_staff:
            self.add_error("assignee", _("Tickets are assigned to agents."))
        if data.get("mark_workaround") and ticket.workaround_met_at:
            self.add_error("mark_workaround", _("A workaround was already given."))
        if self.root_cause_changed:
            refusal = root_cause_refusal(data.get("root_cause_summary") or "")
            if refusal:
                self.add_error("root_cause_summary", refusal)
        reply = (data.get("reply") or "").strip()
        if data.get("reply_internal") and not reply:
            self.add_error("reply", _("Write the note."))
        elif data.get("attachments") and not reply:
            self.add_error("reply", _("Files go with a reply or a note: write one."))
        return data


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str
    sentence: str


@dataclass(frozen=True)
class CannedText:
    """A canned response filled in for one ticket and agent."""

    pk: int
    title: str
    text: str


@dataclass(frozen=True)
class RoutingPanel:
    """Where the ticket is, and where routing would send it now, and why."""

    decision: Decision | None
    moves: bool  # routing would put it elsewhere than where it is


class TicketPageMixin:
    """The change page of `TicketAdmin` (the queue and the add page stay in `desk`)."""

    change_form_template = "admin/tickets/ticket/change_form.html"
    inlines: list[Any] = []
    readonly_fields = [
        "reference",
        "sla_summary",
        "workaround_given",
        "root_cause_recorded",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (RESPOND, {"fields": ["reply", "attachments", "reply_internal"]}),
        (
            gettext_lazy("Ticket"),
            {"fields": ["reference", "subject", "product_area", "priority", "status"]},
        ),
        (gettext_lazy("Work"), {"fields": ["team", "assignee"]}),
        (
            gettext_lazy("Workaround"),
            {"fields": ["workaround_given", "mark_workaround", "workaround_note"]},
        ),
        (
            gettext_lazy("Root cause"),
            {"fields": ["root_cause_recorded", "root_cause_summary", "root_cause_detail"]},
        ),
        (SLA_HEADING, {"fields": ["sla_summary"]}),
        (gettext_lazy("Dates"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    class Media:
        css = {"all": ["tickets/desk.css"]}
        js = ["tickets/desk.js"]

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Ticket | None:
        # The requester and region come with the ticket: the canned responses name the
        # customer, and the page would read each on its own otherwise.
        queryset = self.get_queryset(request).select_related(  # type: ignore[attr-defined]
            "requester__user", "region"
        )
        model = queryset.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            pk = field.to_python(unquote(object_id))
            return queryset.get(**{field.name: pk})
        except (model.DoesNotExist, ValueError, TypeError, forms.ValidationError):
            return None

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Ticket | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk is not None:
            now = timezone.now()
            # The read-only fields are given only the ticket: they read its clocks at the
            # page's one instant, as the rest of the page does.
            obj.page_now = now  # type: ignore[attr-defined]
            context.update(self.ticket_page_context(request, obj, now=now))
        return super().render_change_form(  # type: ignore[misc]
            request, context, add, change, form_url, obj
        )

    def ticket_page_context(
        self, request: HttpRequest, ticket: Ticket, *, now: datetime
    ) -> dict[str, Any]:
        """What the page shows besides the form, each part in one query (the routing roster
        in its own fixed few)."""
        user: User = request.user  # type: ignore[assignment]
        conversation = list(ticket_conversation(ticket, user))
        calls = list(
            PhoneCall.objects.filter(ticket=ticket)
            .select_related("agent")
            .order_by("started_at", "id")
        )
        for call in calls:
            call.minutes = int(call.duration.total_seconds() // 60)  # type: ignore[attr-defined]
        events = list(ticket.events.select_related("actor").order_by("at", "id"))
        world = RoutingWorld.load(now)
        names = self._names(world, events)
        canned = self._canned(user, ticket)
        return {
            "respond_heading": RESPOND,
            "sla_heading": SLA_HEADING,
            "conversation": conversation,
            "calls": calls,
            "can_log_call": user.has_perm("tickets.add_phonecall"),
            "log_call_url": f"{reverse('admin:tickets_phonecall_add')}?ticket={ticket.pk}",
            "history": [
                HistoryLine(event.at, event.kind, event_sentence(event, names)) for event in events
            ],
            "routing": self._routing(ticket, now, world),
            "canned": canned,
            "canned_texts": {str(row.pk): row.text for row in canned},
            "time_zone_name": timezone.get_current_timezone_name(),
        }

    def _names(self, world: RoutingWorld, events: list[TicketEvent]) -> Names:
        people = {agent.user_id: agent.user for agent in world.roster.agent_by_user.values()}
        people |= {event.actor.pk: event.actor for event in events if event.actor is not None}
        missing = user_ids_named(events) - people.keys()
        if missing:
            # People outside every team (account managers, whom escalations name, and
            # administrators): one query for all of them.
            people |= User.objects.in_bulk(missing)
        return Names(teams=world.roster.teams, people=people)

    def _routing(self, ticket: Ticket, now: datetime, world: RoutingWorld) -> RoutingPanel:
        if not ticket.is_open:
            return RoutingPanel(decision=None, moves=False)
        decision = explain(ticket, now, world=world)
        placed = (ticket.team_id, ticket.assignee_id)
        wanted = (
            decision.team.pk if decision.team else None,
            decision.assignee.pk if decision.assignee else None,
        )
        return RoutingPanel(decision=decision, moves=placed != wanted)

    def _canned(self, user: User, ticket: Ticket) -> list[CannedText]:
        responses = CannedResponse.objects.filter(active=True)
        profile = profile_of(user)
        team_id = getattr(profile, "team_id", None)
        if team_id is not None:
            responses = responses.filter(Q(team__isnull=True) | Q(team_id=team_id))
        values = canned_values(ticket, user)
        return [CannedText(row.pk, row.title, canned_render(row.body, values)) for row in responses]

    # --- Read-only fields ---------------------------------------------------------------------

    @admin.display(description=gettext_lazy("Promise"))
    def sla_summary(self, obj: Ticket) -> str:
        """The contract the ticket is under and each of its promises as a milestone."""
        if obj.sla_contract is None:
            return _("No active contract when this ticket was created: it has no SLA deadlines.")
        terms = _("%(tier)s under %(contract)s, in %(calendar)s (version %(version)s)") % {
            "tier": obj.sla_tier,
            "contract": obj.sla_contract.reference,
            "calendar": obj.sla_calendar,
            "version": obj.sla_calendar_version,
        }
        now = getattr(obj, "page_now", None) or timezone.now()
        return format_html('<p class="sla-terms">{}</p>{}', terms, milestone_timeline(obj, now=now))

    @admin.display(description=gettext_lazy("Workaround given"))
    def workaround_given(self, obj: Ticket) -> str:
        if obj.workaround_met_at is None:
            return _("Not yet.")
        return _("Given %(when)s.") % {"when": format_instant(obj.workaround_met_at)}

    @admin.display(description=gettext_lazy("Recorded"))
    def root_cause_recorded(self, obj: Ticket) -> str:
        """The root cause as recorded: what the customer reads, the internal detail, and when
        it was first recorded against its promise."""
        if not obj.root_cause_summary:
            return _("Not yet.")
        detail = (
            format_html(
                '<div class="desk-root-cause-detail"><span class="desk-badge '
                'desk-badge-internal">{}</span> {}</div>',
                _("Internal"),
                obj.root_cause_detail,
            )
            if obj.root_cause_detail
            else ""
        )
        return format_html(
            '<blockquote class="desk-root-cause-summary">{}</blockquote>{}'
            '<p class="desk-meta">{}</p>',
            obj.root_cause_summary,
            detail,
            root_cause_outcome(obj),
        )

    # --- Saving ---------------------------------------------------------------------------------

    def save_change(self, request: HttpRequest, obj: Ticket, form: ModelForm) -> Ticket:
        """The page's edit as one `ticket_update` call; the reply comes from the desk."""
        data = form.cleaned_data
        changed = set(form.changed_data)

        def part(name: str) -> Any:
            return data[name] if name in changed else UNCHANGED

        root_cause = cast(TicketChangeForm, form).root_cause_changed

        return ticket_update(
            ticket=obj,
            actor=request.user,  # type: ignore[arg-type]
            now=timezone.now(),
            subject=part("subject"),
            product_area=part("product_area"),
            team=part("team"),
            assignee=part("assignee"),
            priority=part("priority"),
            reply=data.get("reply") or "",
            internal=bool(data.get("reply_internal")),
            attachments=data.get("attachments") or [],
            channel=Message.Channel.DESK,
            workaround=bool(data.get("mark_workaround")),
            workaround_note=data.get("workaround_note") or "",
            root_cause_summary=(data.get("root_cause_summary") or "") if root_cause else "",
            root_cause_detail=(data.get("root_cause_detail") or "") if root_cause else "",
            status=part("status"),
        )


def root_cause_outcome(ticket: Ticket) -> str:
    """When the root cause was first recorded, and how that stands against its promise."""
    when = format_instant(ticket.root_cause_met_at)
    minutes = ticket.sla_targets.get(ticket.priority, {}).get("root_cause")
    taken = ticket.root_cause_taken
    if not minutes or taken is None:
        return _("First recorded %(when)s.") % {"when": when}
    target = timedelta(minutes=minutes)
    if ticket.root_cause_breached_at is not None:
        return _("First recorded %(when)s: %(late)s past the %(target)s promised.") % {
            "when": when,
            "late": format_duration(max(taken - target, timedelta(0))),
            "target": format_duration(target),
        }
    return _("First recorded %(when)s: met the promise, in %(taken)s of %(target)s.") % {
        "when": when,
        "taken": format_duration(taken),
        "target": format_duration(target),
    }


def milestone_timeline(ticket: Ticket, *, now: datetime) -> str:
    """Each promise of the ticket's SLA as a milestone at `now`: what was promised (and
    whether it counts around the clock), when it is due in the viewer's zone, and when it was
    met, or by how much it was missed, or the time left."""
    views = clock_views(
        ticket, now=now, time_zone=timezone.get_current_timezone_name(), not_started=True
    )
    if not views:
        return "—"
    return format_html(
        '<ol class="sla-milestones">{}</ol>',
        format_html_join("", "{}", ((_milestone(view),) for view in views)),
    )


def _milestone(view: ClockView) -> str:
    promise = (
        _("within %(target)s") % {"target": format_duration(view.target)}
        if view.target is not None
        else _("no target")
    )
    around = (
        format_html(' <span class="desk-badge">{}</span>', _("around the clock"))
        if view.around_the_clock
        else ""
    )
    met_late = view.state == "breached" and view.met_at is not None
    state = _("met late") if met_late else CLOCK_STATES.get(view.state, view.state)
    return format_html(
        '<li class="milestone milestone-{}" data-clock="{}">'
        '<div class="milestone-head"><strong>{}</strong> <span class="desk-meta">{}</span>{}'
        '<span class="milestone-state">{}</span></div>'
        '<div class="milestone-when">{}</div></li>',
        view.state,
        view.name,
        view.label,
        promise,
        around,
        state,
        _milestone_when(view),
    )


def _milestone_when(view: ClockView) -> str:
    if view.state == "not_started":
        if view.name == Clock.NEXT_RESPONSE:
            return _("Starts when the customer writes again.")
        return _("Not started.")
    due = (
        format_html(
            '{} <time datetime="{}">{}</time>',
            _("Due"),
            view.due_at.isoformat(),
            format_instant(view.due_at, year=False),
        )
        if view.due_at is not None
        else _("No due instant")
    )
    if view.met_at is not None:
        met = _("met %(when)s") % {"when": format_instant(view.met_at, year=False)}
        if view.missed_by is not None:
            outcome = _("%(met)s, %(late)s late") % {
                "met": met,
                "late": format_duration(view.missed_by),
            }
        elif view.taken is not None:
            outcome = _("%(met)s, in %(taken)s") % {
                "met": met,
                "taken": format_duration(view.taken),
            }
        else:
            outcome = met
    elif view.missed_by is not None:
        outcome = _("missed by %(late)s") % {"late": format_duration(view.missed_by)}
    elif view.state == "paused":
        outcome = _("paused, %(left)s left") % {"left": format_duration(view.business_time_left)}
    else:
        outcome = _("%(left)s left") % {"left": format_duration(view.business_time_left)}
    return format_html("{} · {}", due, outcome)
