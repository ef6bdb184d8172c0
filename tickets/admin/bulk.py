"""Bulk actions on the support desk's ticket queue: assign (to oneself, or to an agent or a
team), change priority, wait on the customer, resolve, and merge duplicates.

Each ticket is one call of the same services the rest of Meridian uses, in its own
transaction: a ticket the rules refuse is reported by reference and reason, and the others
are still changed. The selected tickets are read with one query, with what the services
need of them (SLA snapshot, requester), so the cost per ticket is the service's alone.
Actions that need more than the selection ask for it on an intermediate page that keeps the
selection (`_selected_action`), as Django's own delete confirmation does.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contracts.sla_names import Priority
from portal.errors import Refusal
from portal.models import Agent, Team
from tickets.models import Ticket
from tickets.rules import status_refusal
from tickets.services import UNCHANGED, merge_refusal, ticket_merge, ticket_update

Status = Ticket.Status
TEMPLATE = "admin/tickets/ticket/bulk_action.html"
# What the services read of a ticket besides its row: the SLA snapshot (clocks, the tier's
# priorities), team and assignee (assignment), the requester's address (customer emails).
RELATED = (
    "organisation",
    "requester__user",
    "team",
    "assignee",
    "sla_tier",
    "sla_contract",
    "sla_calendar",
)
# Services called from here record this as the reason of an assignment.
REASON = gettext_lazy("assigned in bulk in the support desk")


def selected_tickets(queryset: QuerySet[Ticket]) -> list[Ticket]:
    """The selection, read once with what every service needs."""
    return list(queryset.select_related(*RELATED))


@dataclass
class Outcome:
    """What a bulk action did: the references changed, and those refused with why."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, done_message: str) -> str:
        """`done_message` (already counted), then each refusal: "3 tickets assigned to you;
        MRD-000123 refused: <why>"."""
        parts = [done_message]
        parts += [
            _("%(reference)s refused: %(reason)s") % {"reference": reference, "reason": reason}
            for reference, reason in self.refused
        ]
        return "; ".join(parts)

    @property
    def level(self) -> int:
        if not self.refused:
            return messages.SUCCESS
        return messages.WARNING if self.done else messages.ERROR


def apply_each(
    tickets: Sequence[Ticket],
    change: Callable[[Ticket], object],
    *,
    check: Callable[[Ticket], str | None] | None = None,
) -> Outcome:
    """Call `change` (one service call, its own transaction) on each ticket, after `check`
    (a rule's refusal, read without a transaction); a refusal is recorded and the next
    ticket goes on."""
    outcome = Outcome()
    for ticket in tickets:
        refusal = check(ticket) if check else None
        if refusal is None:
            try:
                change(ticket)
            except Refusal as exc:
                refusal = exc.message
        if refusal is None:
            outcome.done.append(ticket.reference)
        else:
            outcome.refused.append((ticket.reference, refusal))
    return outcome


def status_check(status: str) -> Callable[[Ticket], str | None]:
    """The transition rule, a ticket already in `status` included (nothing to do is a
    refusal worth reporting, not a silent success)."""

    def check(ticket: Ticket) -> str | None:
        return status_refusal(reference=ticket.reference, old=ticket.status, new=status)

    return check


def intermediate_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    tickets: Sequence[Ticket],
    form: forms.Form,
    action: str,
    title: str,
    intro: str,
) -> TemplateResponse:
    """The page between choosing an action and applying it: the selection, the form, and the
    hidden fields that post the action and the selection back."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": Ticket._meta,
        "tickets": tickets,
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "changelist_url": reverse("admin:tickets_ticket_changelist"),
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, TEMPLATE, context)


def confirmed(request: HttpRequest) -> bool:
    """Whether the intermediate page's form was posted (the first post comes from the list)."""
    return request.POST.get("apply") == "yes"


# --- Assign -----------------------------------------------------------------------------------


def _team_of(user: User) -> Team | None:
    agent = Agent.objects.filter(user=user).select_related("team__region").first()
    return agent.team if agent else None


@admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
def assign_to_me(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> None:
    """The requesting agent takes the tickets, into their own team's queue."""
    user = request.user
    if not user.is_staff:
        modeladmin.message_user(request, _("Tickets are assigned to agents."), messages.ERROR)
        return
    now = timezone.now()
    team = _team_of(user)
    outcome = apply_each(
        selected_tickets(queryset),
        lambda ticket: ticket_update(
            ticket=ticket,
            actor=user,
            now=now,
            assignee=user,
            team=team if team is not None else UNCHANGED,
            reason=str(REASON),
        ),
    )
    done = len(outcome.done)
    modeladmin.message_user(
        request,
        outcome.summary(
            ngettext(
                "%(count)d ticket assigned to you",
                "%(count)d tickets assigned to you",
                done,
            )
            % {"count": done}
        ),
        outcome.level,
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        team = obj.agent.team
        name = obj.get_full_name() or obj.username
        return f"{name} ({team})" if team else name


class AssignForm(forms.Form):
    agent = AgentChoiceField(
        queryset=User.objects.filter(
            is_active=True,
            is_staff=True,
            agent__role__in=[Agent.Role.AGENT, Agent.Role.LEAD],
        )
        .select_related("agent__team")
        .order_by("first_name", "last_name", "username"),
        required=False,
        label=gettext_lazy("Agent"),
        help_text=gettext_lazy("Without a team: the ticket goes to the agent's team too."),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Team"),
        help_text=gettext_lazy(
            "Without an agent: the ticket waits in the team's queue, unassigned."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        agent, team = data.get("agent"), data.get("team")
        if agent is None and team is None and not self.errors:
            raise forms.ValidationError(_("Choose an agent, a team, or both."))
        if agent is not None and team is not None and agent.agent.team_id != team.pk:
            self.add_error(
                "agent",
                _("%(agent)s works in %(their)s, not in %(team)s.")
                % {
                    "agent": agent.get_full_name() or agent.username,
                    "their": agent.agent.team,
                    "team": team,
                },
            )
        return data


@admin.action(description=gettext_lazy("Assign to an agent or a team"), permissions=["change"])
def assign_to(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> HttpResponse | None:
    tickets = selected_tickets(queryset)
    form = AssignForm(request.POST if confirmed(request) else None)
    if not form.is_valid():
        return intermediate_page(
            modeladmin,
            request,
            tickets=tickets,
            form=form,
            action="assign_to",
            title=_("Assign tickets"),
            intro=_("Give the selected tickets to an agent, a team, or an agent of a team."),
        )
    agent, team = form.cleaned_data["agent"], form.cleaned_data["team"]
    if team is None:
        team = agent.agent.team
    now = timezone.now()
    outcome = apply_each(
        tickets,
        lambda ticket: ticket_update(
            ticket=ticket,
            actor=request.user,
            now=now,
            team=team,
            assignee=agent,
            reason=str(REASON),
        ),
    )
    done = len(outcome.done)
    whom = (agent.get_full_name() or agent.username) if agent else str(team)
    modeladmin.message_user(
        request,
        outcome.summary(
            ngettext(
                "%(count)d ticket assigned to %(whom)s",
                "%(count)d tickets assigned to %(whom)s",
                done,
            )
            % {"count": done, "whom": whom}
        ),
        outcome.level,
    )
    return None


# --- Priority ---------------------------------------------------------------------------------


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(
        choices=[("", "---------"), *Priority.choices],
        label=gettext_lazy("Priority"),
        help_text=gettext_lazy(
            "Running SLA clocks are re-targeted from each ticket's start; a ticket whose "
            "contract does not cover this priority keeps its own."
        ),
    )


@admin.action(description=gettext_lazy("Change priority"), permissions=["change"])
def change_priority(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> HttpResponse | None:
    tickets = selected_tickets(queryset)
    form = PriorityForm(request.POST if confirmed(request) else None)
    if not form.is_valid():
        return intermediate_page(
            modeladmin,
            request,
            tickets=tickets,
            form=form,
            action="change_priority",
            title=_("Change priority"),
            intro=_("Give the selected tickets one priority."),
        )
    priority = form.cleaned_data["priority"]
    now = timezone.now()
    outcome = apply_each(
        tickets,
        lambda ticket: ticket_update(ticket=ticket, actor=request.user, now=now, priority=priority),
    )
    done = len(outcome.done)
    modeladmin.message_user(
        request,
        outcome.summary(
            ngettext(
                "%(count)d ticket now %(priority)s",
                "%(count)d tickets now %(priority)s",
                done,
            )
            % {"count": done, "priority": priority.upper()}
        ),
        outcome.level,
    )
    return None


# --- Status -----------------------------------------------------------------------------------


@admin.action(description=gettext_lazy("Set pending (waiting on customer)"), permissions=["change"])
def set_pending(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> None:
    now = timezone.now()
    outcome = apply_each(
        selected_tickets(queryset),
        lambda ticket: ticket_update(
            ticket=ticket, actor=request.user, now=now, status=Status.PENDING
        ),
        check=status_check(Status.PENDING),
    )
    done = len(outcome.done)
    modeladmin.message_user(
        request,
        outcome.summary(
            ngettext(
                "%(count)d ticket waiting on the customer",
                "%(count)d tickets waiting on the customer",
                done,
            )
            % {"count": done}
        ),
        outcome.level,
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Resolution note"),
        help_text=gettext_lazy(
            "Optional. Sent to each customer as a public reply before the ticket is resolved."
        ),
    )


@admin.action(description=gettext_lazy("Resolve"), permissions=["change"])
def resolve(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> HttpResponse | None:
    tickets = selected_tickets(queryset)
    form = ResolveForm(request.POST if confirmed(request) else None)
    if not form.is_valid():
        return intermediate_page(
            modeladmin,
            request,
            tickets=tickets,
            form=form,
            action="resolve",
            title=_("Resolve tickets"),
            intro=_("Resolve the selected tickets, with a public reply if you write one."),
        )
    note = form.cleaned_data["note"].strip()
    now = timezone.now()
    outcome = apply_each(
        tickets,
        lambda ticket: ticket_update(
            ticket=ticket, actor=request.user, now=now, reply=note, status=Status.RESOLVED
        ),
        check=status_check(Status.RESOLVED),
    )
    done = len(outcome.done)
    modeladmin.message_user(
        request,
        outcome.summary(
            ngettext("%(count)d ticket resolved", "%(count)d tickets resolved", done)
            % {"count": done}
        ),
        outcome.level,
    )
    return None


# --- Merge ------------------------------------------------------------------------------------


class MergeForm(forms.Form):
    primary = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        label=gettext_lazy("Ticket that stays"),
        help_text=gettext_lazy(
            "The others are closed as merged into it; their messages stay where they are."
        ),
    )

    def __init__(self, *args: Any, tickets: Sequence[Ticket], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tickets = {ticket.pk: ticket for ticket in tickets}
        self.fields["primary"].choices = [
            (ticket.pk, f"{ticket.reference} – {ticket.subject} ({ticket.get_status_display()})")
            for ticket in tickets
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        primary = self.tickets.get(data.get("primary", 0))
        if primary is None:
            return data
        self.primary = primary
        self.duplicates = [ticket for pk, ticket in self.tickets.items() if pk != primary.pk]
        refusal = merge_refusal(primary=primary, duplicates=self.duplicates)
        if refusal is not None:
            self.add_error("primary" if refusal.field == "primary" else None, refusal.message)
        return data


@admin.action(description=gettext_lazy("Merge duplicates"), permissions=["change"])
def merge_duplicates(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]
) -> HttpResponse | None:
    tickets = selected_tickets(queryset)
    if len(tickets) < 2:
        modeladmin.message_user(
            request, _("Select two tickets or more to merge them."), messages.ERROR
        )
        return None
    organisations = {ticket.organisation_id for ticket in tickets}
    if len(organisations) > 1:
        names = sorted({str(ticket.organisation) for ticket in tickets})
        modeladmin.message_user(
            request,
            _(
                "Only tickets of one organisation can be merged; the selection has tickets "
                "of %(organisations)s."
            )
            % {"organisations": ", ".join(names)},
            messages.ERROR,
        )
        return None
    form = MergeForm(request.POST if confirmed(request) else None, tickets=tickets)
    if form.is_valid():
        try:
            primary = ticket_merge(
                primary=form.primary,
                duplicates=form.duplicates,
                actor=request.user,
                now=timezone.now(),
            )
        except Refusal as refusal:
            # Only a change since the page was shown gets here (the form checked the rules).
            form.add_error("primary" if refusal.field == "primary" else None, refusal.message)
        else:
            count = len(form.duplicates)
            modeladmin.message_user(
                request,
                ngettext(
                    "%(count)d ticket merged into %(primary)s: %(references)s",
                    "%(count)d tickets merged into %(primary)s: %(references)s",
                    count,
                )
                % {
                    "count": count,
                    "primary": primary.reference,
                    "references": ", ".join(t.reference for t in form.duplicates),
                },
                messages.SUCCESS,
            )
            return None
    return intermediate_page(
        modeladmin,
        request,
        tickets=tickets,
        form=form,
        action="merge_duplicates",
        title=_("Merge duplicates"),
        intro=_(
            "Choose the ticket that stays. The others are closed as merged into it: their "
            "customers see a note pointing to it, and it gets an internal note listing them."
        ),
    )


ACTIONS = [assign_to_me, assign_to, change_priority, set_pending, resolve, merge_duplicates]
