"""The agents' queue: which open tickets a view or a filter shows, most urgent first.

Plain functions over a ticket queryset, shared by the support desk's ticket list
(`tickets.admin.queue`) and the API's agent list (`tickets.api`), so both answer "my team",
"at risk" or "unassigned" with the same query. Every filter keeps the queue on one of the
partial indexes of open tickets by `(…, next_due_at, id)` (`Ticket.Meta.indexes`).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet, Value
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.models import Agent, Member, Organisation, Team
from tickets.clocks import NO_DEADLINE
from tickets.models import OPEN_STATUSES, Ticket

# A ticket is at risk while its next deadline is at most this far away.
AT_RISK = timedelta(minutes=30)
# The queue's order: the most urgent promise first, then the oldest ticket id (unique, so a
# page boundary never shows a ticket twice). The partial indexes end with these two columns.
QUEUE_ORDER = ("next_due_at", "id")
REFERENCE = re.compile(r"[A-Za-z]{2,5}-\d{1,12}")


class SLAState:
    BREACHED = "breached"
    AT_RISK = "at_risk"
    OK = "ok"
    PAUSED = "paused"
    NONE = "none"

    choices: tuple[tuple[str, Promise], ...] = (
        (BREACHED, _("Breached")),
        (AT_RISK, _("At risk (30 min)")),
        (OK, _("On track")),
        (PAUSED, _("Paused")),
        (NONE, _("No SLA")),
    )
    values = tuple(value for value, _label in choices)


def agent_team(user: User | AnonymousUser) -> Team | None:
    """The team of the agent behind `user` (read with its region), or None."""
    agent: Agent | None = getattr(user, "agent", None) if user.is_authenticated else None
    if agent is None or agent.team_id is None:
        return None
    if not Agent.team.is_cached(agent):
        agent.team = Team.objects.select_related("region").get(pk=agent.team_id)
    return agent.team


def team_scope(team: Team) -> Q:
    """A team's tickets; for a first-line team also its region's untaken ones (no team yet)."""
    scope = Q(team_id=team.pk)
    if team.level == Team.Level.L1:
        scope |= Q(team__isnull=True, region_id=team.region_id)
    return scope


def filter_status(tickets: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
    """`active` (new, open or waiting on the customer), `any`, or one status."""
    if value == "any":
        return tickets
    if value == "active":
        return tickets.filter(status__in=OPEN_STATUSES)
    return tickets.filter(status=value)


def filter_team(tickets: QuerySet[Ticket], value: str, *, user: User) -> QuerySet[Ticket]:
    """`mine` (the agent's team, with its region's untaken tickets for L1; everything for an
    agent without a team), `none` (untaken), or a team id."""
    if value == "mine":
        team = agent_team(user)
        return tickets if team is None else tickets.filter(team_scope(team))
    if value == "none":
        return tickets.filter(team__isnull=True)
    return tickets.filter(team_id=int(value))


def filter_assignee(tickets: QuerySet[Ticket], value: str, *, user: User) -> QuerySet[Ticket]:
    """`me`, `unassigned`, or an agent's user id."""
    if value == "me":
        return tickets.filter(assignee_id=user.pk)
    if value == "unassigned":
        return tickets.filter(assignee__isnull=True)
    return tickets.filter(assignee_id=int(value))


def filter_sla(tickets: QuerySet[Ticket], value: str, *, now: datetime) -> QuerySet[Ticket]:
    """By the state of the next deadline at `now`: `breached` (due at or before now), `at_risk`
    (due within `AT_RISK`), `ok` (due later), `paused` (an SLA, nothing counting down), `none`
    (no SLA). Only open tickets owe a deadline; the last two say so explicitly."""
    # The status is implied (only open tickets have a deadline) but said: it is the condition
    # of the partial indexes, which PostgreSQL uses only when the query states it.
    tickets = tickets.filter(status__in=OPEN_STATUSES)
    if value == SLAState.BREACHED:
        return tickets.filter(next_due_at__lte=now)
    if value == SLAState.AT_RISK:
        return tickets.filter(next_due_at__gt=now, next_due_at__lte=now + AT_RISK)
    if value == SLAState.OK:
        return tickets.filter(next_due_at__gt=now + AT_RISK, next_due_at__lt=NO_DEADLINE)
    owes_nothing = tickets.filter(next_due_at=NO_DEADLINE)
    if value == SLAState.PAUSED:
        return owes_nothing.filter(sla_contract__isnull=False)
    if value == SLAState.NONE:
        return owes_nothing.filter(sla_contract__isnull=True)
    raise ValueError(f"unknown SLA state {value!r}")


def sla_state(ticket: Ticket, *, now: datetime) -> str:
    """The state `filter_sla` would put the ticket in (`none` also for a closed ticket)."""
    if not ticket.has_sla or not ticket.is_open:
        return SLAState.NONE
    due = ticket.next_due_at
    if due == NO_DEADLINE:
        return SLAState.PAUSED
    if due <= now:
        return SLAState.BREACHED
    if due <= now + AT_RISK:
        return SLAState.AT_RISK
    return SLAState.OK


def search(tickets: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """A reference (exact, any case), or words of the subject, the organisation's name or the
    requester's email.

    The organisations and requesters that match are read first, in one query (small tables,
    trigram indexes on PostgreSQL), and the tickets' query gets their ids as values: with
    subqueries in its OR the planner cannot tell how few tickets match, and walks the whole
    queue in order of urgency looking for them.
    """
    term = " ".join(term.split())
    if not term:
        return tickets
    if REFERENCE.fullmatch(term):
        return tickets.filter(reference=term.upper())
    organisations = (
        Organisation.objects.filter(name__icontains=term)
        .order_by()
        .annotate(kind=Value("organisation"))
        .values_list("kind", "pk")
    )
    requesters = (
        Member.objects.filter(user__email__icontains=term)
        .order_by()
        .annotate(kind=Value("requester"))
        .values_list("kind", "pk")
    )
    found: dict[str, list[int]] = {"organisation": [], "requester": []}
    for kind, pk in organisations.union(requesters, all=True):
        found[kind].append(pk)
    match = Q(subject__icontains=term)
    if found["organisation"]:
        match |= Q(organisation_id__in=found["organisation"])
    if found["requester"]:
        match |= Q(requester_id__in=found["requester"])
    return tickets.filter(match)


@dataclass(frozen=True)
class SavedView:
    """A queue one click away: the filters it sets, as query parameters."""

    key: str
    label: Promise
    params: tuple[tuple[str, str], ...]

    @property
    def query(self) -> str:
        return "&".join(f"{name}={value}" for name, value in self.params)


SAVED_VIEWS = (
    SavedView("team", _("My team's open"), (("status", "active"), ("team", "mine"))),
    SavedView("mine", _("My tickets"), (("assignee", "me"), ("status", "active"))),
    SavedView(
        "unassigned",
        _("Unassigned in my team"),
        (("assignee", "unassigned"), ("status", "active"), ("team", "mine")),
    ),
    SavedView("at_risk", _("At risk"), (("sla", SLAState.AT_RISK),)),
    SavedView("breached", _("Breached"), (("sla", SLAState.BREACHED),)),
    SavedView("waiting", _("Waiting on customer"), (("status", "pending"),)),
    SavedView("all", _("All open"), (("status", "active"),)),
)
DEFAULT_VIEW = SAVED_VIEWS[0]


def saved_view_of(params: dict[str, str]) -> SavedView | None:
    """The saved view whose filters are exactly `params` (search and paging aside)."""
    return next((view for view in SAVED_VIEWS if dict(view.params) == params), None)
