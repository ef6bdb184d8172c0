"""Reads owned by the tickets app, always scoped to who is asking. Selectors only read."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, DateTimeField, F, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Least
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from contracts.models import SLATier
from contracts.selectors import contract_active, sla_terms_for
from contracts.sla_names import CLOCKS, Clock, Priority
from contracts.terms import SLATerms
from portal.models import Member, Organisation
from portal.selectors import member_of
from tickets.clock_display import (
    ClockView,
    clock_views,
    format_duration,
    format_instant,
    most_urgent,
)
from tickets.clocks import NO_DEADLINE
from tickets.models import OPEN_STATUSES, Attachment, Message, Ticket, TicketQuerySet
from tickets.rules import CallDetails, reopen_deadline

# Sorts after every real deadline: tickets with nothing counting down come last.
FAR_FUTURE = NO_DEADLINE


def tickets_visible_to(user: User | AnonymousUser) -> TicketQuerySet:
    """Agents see every ticket; a customer's admin sees the organisation's; a requester sees
    their own, or the organisation's when it shares tickets with all its members."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    if user.is_staff:
        return Ticket.objects.all()
    member = member_of(user)
    if member is None:
        return Ticket.objects.none()
    scope = Q(organisation_id=member.organisation_id)
    if member.role != member.Role.ADMIN and not member.organisation.requesters_see_all_tickets:
        scope &= Q(requester_id=member.pk)
    return Ticket.objects.filter(scope)


def ticket_for_user(user: User, reference: str) -> Ticket:
    """The ticket, if `user` may see it; 404 otherwise (never 403, which would confirm it
    exists)."""
    ticket = (
        tickets_visible_to(user)
        .select_related("organisation", "sla_tier", "sla_contract", "sla_calendar")
        .filter(reference=reference.upper())
        .order_by()  # a unique lookup: no sort
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def member_for_user(user: User) -> Member:
    """The customer membership of `user`, with its organisation; 404 for anyone else (agents
    work in the support desk, not through the customer's forms)."""
    member = member_of(user) if user.is_authenticated and not user.is_staff else None
    if member is None:
        raise Http404("Only customers use this page.")
    return member


def call_terms(
    *, organisation: Organisation, call: CallDetails, now: datetime
) -> tuple[SLATerms | None, datetime | None]:
    """The SLA terms a ticket logged from `call` gets (those in force when the call started),
    and, when there were none then, the first instant the contract in force now covers (a call
    before it cannot be logged: `call_refusals`)."""
    terms = sla_terms_for(organisation=organisation, at=call.started_at)
    if terms is not None:
        return terms, None
    contract = contract_active(organisation=organisation, at=now)
    if contract is None:
        return None, None
    zone = ZoneInfo(organisation.home_region.time_zone)
    return None, datetime.combine(contract.starts_on, time(0), zone)


# --- What a customer may see of a ticket -------------------------------------------------------


def messages_visible_to(user: User) -> QuerySet[Message]:
    """Messages `user` may read (of tickets they may see): customers never read internal
    notes. Oldest first."""
    messages = Message.objects.order_by("created_at", "id")
    if not user.is_staff:
        messages = messages.filter(visibility=Message.Visibility.PUBLIC)
    return messages


def attachments_visible_to(user: User) -> QuerySet[Attachment]:
    """Attachments `user` may download (of tickets they may see): customers never get those
    of internal notes. In upload order."""
    attachments = Attachment.objects.order_by("created_at", "id")
    if not user.is_staff:
        attachments = attachments.filter(message__visibility=Message.Visibility.PUBLIC)
    return attachments


def conversation_visible_to(user: User) -> QuerySet[Message]:
    """Messages `user` may read, oldest first, with their authors and their attachments in
    upload order (`message.visible_attachments`): two queries whatever their number."""
    attachments = Attachment.objects.order_by("created_at", "id")
    return (
        messages_visible_to(user)
        .select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=attachments, to_attr="visible_attachments")
        )
    )


def ticket_conversation(ticket: Ticket, user: User) -> QuerySet[Message]:
    """The messages of `ticket` that `user` may read (`conversation_visible_to`)."""
    return conversation_visible_to(user).filter(ticket=ticket)


def attachment_for_user(user: User, reference: str, attachment_id: int) -> Attachment:
    """The attachment, if `user` may see the ticket and the message it came with; 404 otherwise
    (another organisation's, a colleague's unshared ticket, an internal note's, none at all)."""
    attachment = (
        attachments_visible_to(user)
        .filter(
            pk=attachment_id,
            ticket__in=tickets_visible_to(user).filter(reference=reference.upper()),
        )
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def tickets_for_list(
    user: User,
    *,
    status: str = "",
    priority: str = "",
    search: str = "",
) -> QuerySet[Ticket]:
    """The portal's ticket list: what `user` may see, filtered, newest activity first, with
    only the columns the rows show.

    `status` is a status value or `active` (new, open or pending); `search` matches the
    reference or the subject.
    """
    tickets = tickets_visible_to(user)
    if status == "active":
        tickets = tickets.open()
    elif status:
        tickets = tickets.filter(status=status)
    if priority:
        tickets = tickets.filter(priority=priority)
    search = search.strip()
    if search:
        tickets = tickets.filter(Q(reference__icontains=search) | Q(subject__icontains=search))
    return (
        tickets.select_related("requester__user")
        .only(
            "reference",
            "subject",
            "priority",
            "status",
            "updated_at",
            "requester__id",
            "requester__user__id",
            "requester__user__username",
            "requester__user__first_name",
            "requester__user__last_name",
        )
        .order_by("-updated_at", "-pk")
    )


# --- Dashboard ---------------------------------------------------------------------------------


def next_due_at() -> Least:
    """The due instant of a ticket's most urgent promise, or far in the future when nothing is
    owed: a breached clock still owed counts with its (past) due instant, so it sorts before
    every healthy ticket; a paused clock waits; a resolved or closed ticket owes nothing. The
    same rule as `tickets.clock_display.most_urgent`, in SQL. Pages sort on the stored
    `Ticket.next_due_at` (`clocks_store` keeps it); the tests check it against this."""

    def due(clock: str) -> Case:
        owed = Q(status__in=OPEN_STATUSES)
        owed &= Q(**{f"{clock}_due_at__isnull": False, f"{clock}_met_at__isnull": True}) & (
            Q(**{f"{clock}_breached_at__isnull": False}) | Q(**{f"{clock}_paused_at__isnull": True})
        )
        return Case(
            When(owed, then=F(f"{clock}_due_at")),
            default=Value(FAR_FUTURE),
            output_field=DateTimeField(),
        )

    return Least(*(due(clock) for clock in CLOCKS))


@dataclass(frozen=True)
class Deadline:
    """An SLA clock as its viewer sees it, with the wall-clock time to its due instant."""

    clock: ClockView
    wall_time_left: timedelta | None  # None: nothing due

    @property
    def overdue(self) -> bool:
        return self.wall_time_left is not None and self.wall_time_left <= timedelta(0)

    @property
    def countdown_text(self) -> str:
        """Wall-clock time to the due instant, as shown before the script takes over."""
        if self.wall_time_left is None:
            return ""
        return "overdue" if self.overdue else f"in {format_duration(self.wall_time_left)}"


@dataclass(frozen=True)
class Milestone:
    """One promise of a ticket as its customer follows it: what was promised, how it is
    counted, when it is due, and how it went. Texts are in the active language and instants in
    the active time zone (the viewer's)."""

    clock: ClockView
    promise: str  # "within 2h 00m"
    counted: str  # "around the clock", "in business hours"
    due_text: str
    state_text: str  # the state in words: never by colour alone
    outcome: str  # "met …", "met … (late by 5m)", "missed by 12m", "paused", "1h 05m left"
    broken: bool  # missed, or met after its due instant
    summary: str  # the root cause's public summary, on the root-cause milestone once recorded


STATE_TEXTS: dict[str, Any] = {
    "running": _("On track"),
    "paused": _("Paused"),
    "met": _("Met"),
    "breached": _("Missed"),
    "no_target": _("No target"),
}


def _outcome(view: ClockView) -> str:
    if view.met_at is not None:
        met = str(_("met %(instant)s") % {"instant": format_instant(view.met_at)})
        if view.breached_at is not None and view.missed_by is not None:
            late = _("late by %(duration)s") % {"duration": format_duration(view.missed_by)}
            return f"{met} ({late})"
        return met
    if view.state == "breached":
        return str(_("missed by %(duration)s") % {"duration": format_duration(view.missed_by)})
    if view.state == "paused":
        return str(_("paused"))
    if view.business_time_left is None:
        return ""
    return str(_("%(duration)s left") % {"duration": format_duration(view.business_time_left)})


def ticket_milestones(ticket: Ticket, *, now: datetime, time_zone: str) -> list[Milestone]:
    """The ticket's promises in order (respond, work around, root cause, fix), each with its
    target, due instant and outcome, for the customer's timeline. Never the internal root-cause
    detail: customers read the summary only. Reads the ticket and its calendar (select it)."""
    calendar = ticket.sla_calendar if ticket.sla_calendar_id else None
    always_open = calendar is not None and calendar.hours == calendar.Hours.ALWAYS
    milestones = []
    for view in clock_views(ticket, now=now, time_zone=time_zone):
        promise = (
            str(_("within %(duration)s") % {"duration": format_duration(view.target)})
            if view.target is not None
            else str(_("no target"))
        )
        around = view.around_the_clock or always_open
        summary = ""
        if view.name == Clock.ROOT_CAUSE and view.met_at is not None:
            summary = ticket.root_cause_summary
        milestones.append(
            Milestone(
                clock=view,
                promise=promise,
                counted=str(_("around the clock") if around else _("in business hours")),
                due_text=format_instant(view.due_at) if view.due_at else "",
                state_text=str(
                    _("Met late")
                    if view.met_at is not None and view.breached_at is not None
                    else STATE_TEXTS.get(view.state, view.state)
                ),
                outcome=_outcome(view),
                broken=view.missed_by is not None or view.breached_at is not None,
                summary=summary,
            )
        )
    return milestones


@dataclass(frozen=True)
class DashboardRow:
    ticket: Ticket
    deadline: Deadline | None
    paused: bool  # clocks are waiting (e.g. on the customer), none counting down


@dataclass(frozen=True)
class DashboardTickets:
    rows: list[DashboardRow]
    more: bool  # more open tickets than shown


def next_deadline(ticket: Ticket, *, now: datetime, time_zone: str) -> DashboardRow:
    """The promise the customer is waiting on first (`most_urgent`): a broken one, else the
    running one due first."""
    urgent = most_urgent(ticket, now=now)
    views = clock_views(ticket, now=now, time_zone=time_zone)
    if urgent is None:
        return DashboardRow(
            ticket=ticket, deadline=None, paused=any(v.state == "paused" for v in views)
        )
    view = next(view for view in views if view.name == urgent.name)
    return DashboardRow(
        ticket=ticket,
        deadline=Deadline(clock=view, wall_time_left=urgent.due_at - now),
        paused=False,
    )


def dashboard_tickets(
    user: User, *, now: datetime, time_zone: str, limit: int = 50
) -> DashboardTickets:
    """The open tickets `user` may see, most urgent deadline first, each with that deadline.

    One query whatever the number of tickets (the calendar schedules are cached per process).
    """
    tickets = list(
        tickets_visible_to(user)
        .open()
        .select_related("requester__user")
        .order_by("next_due_at", "-updated_at", "-pk")[: limit + 1]
    )
    rows = [next_deadline(t, now=now, time_zone=time_zone) for t in tickets[:limit]]
    return DashboardTickets(rows=rows, more=len(tickets) > limit)


# --- What the contract promises ------------------------------------------------------------------

# What each priority means for a customer choosing one.
PRIORITY_MEANINGS: dict[str, Any] = {
    Priority.P1: _("Your service is down or unusable for most of your users, with no workaround."),
    Priority.P2: _(
        "A major feature is degraded or failing for many users; the service still runs."
    ),
    Priority.P3: _("Something minor is broken or a few users are affected; work can go on."),
    Priority.P4: _("A question, a how-to or a feature request; nothing is broken."),
}


def _minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return str(_("not promised"))
    if minutes < 60:
        return str(_("%(minutes)d min") % {"minutes": minutes})
    hours, rest = divmod(minutes, 60)
    if not rest:
        return str(_("%(hours)d h") % {"hours": hours})
    return str(_("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest})


@dataclass(frozen=True)
class Promise:
    """One clock's target for one priority: "—" in the table when not promised."""

    clock: str
    text: str
    promised: bool
    around_the_clock: bool  # counted every hour of the week, not in the coverage calendar


@dataclass(frozen=True)
class PriorityTerms:
    """What a contract promises for one priority, in business time of its coverage (or
    around the clock, for the clocks `around_the_clock` names)."""

    priority: str
    label: str
    meaning: str
    first_response: str
    next_response: str
    workaround: str
    resolution: str
    root_cause: str = ""
    promises: tuple[Promise, ...] = ()  # every clock, in the order of `CLOCKS`

    @property
    def summary(self) -> str:
        return str(
            _("first response within %(first)s, resolution within %(resolution)s")
            % {"first": self.first_response, "resolution": self.resolution}
        )


@dataclass(frozen=True)
class ContractTerms:
    """An organisation's active contract at a glance, over the terms tickets get
    (`SLATerms`), whose rules it applies."""

    sla: SLATerms
    reference: str
    tier_name: str
    coverage: str
    region_name: str
    starts_on: date
    ends_on: date | None
    priorities: list[PriorityTerms]

    def allows(self, priority: str) -> bool:
        return self.sla.allows(priority)

    def refusal(self, priority: str) -> str | None:
        return self.sla.refusal(priority)

    def for_priority(self, priority: str) -> PriorityTerms | None:
        return next((p for p in self.priorities if p.priority == priority), None)


def contract_terms(terms: SLATerms | None, *, region_name: str) -> ContractTerms | None:
    """What the contract in force promises per priority (its signed terms, as tickets created
    now get them), to show a customer; None without a contract."""
    if terms is None:
        return None
    signed = terms.contract.terms
    priorities = []
    for priority in terms.priorities:
        minutes = terms.targets[priority]
        around = set(terms.around_the_clock.get(priority, ()))
        if signed["coverage"] == SLATier.Coverage.ALWAYS:
            around = set(CLOCKS)
        priorities.append(
            PriorityTerms(
                priority=priority,
                label=str(Priority(priority).label),
                meaning=str(PRIORITY_MEANINGS.get(priority, "")),
                first_response=_minutes_text(minutes.get(Clock.FIRST_RESPONSE)),
                next_response=_minutes_text(minutes.get(Clock.NEXT_RESPONSE)),
                workaround=_minutes_text(minutes.get(Clock.WORKAROUND)),
                resolution=_minutes_text(minutes.get(Clock.RESOLUTION)),
                root_cause=_minutes_text(minutes.get(Clock.ROOT_CAUSE)),
                promises=tuple(
                    Promise(
                        clock=clock,
                        text=_minutes_text(minutes.get(clock)),
                        promised=minutes.get(clock) is not None,
                        around_the_clock=clock in around,
                    )
                    for clock in CLOCKS
                ),
            )
        )
    return ContractTerms(
        sla=terms,
        reference=terms.contract.reference,
        tier_name=terms.tier_name,
        coverage=str(SLATier.Coverage(signed["coverage"]).label),
        region_name=region_name,
        starts_on=terms.contract.starts_on,
        ends_on=terms.contract.ends_on,
        priorities=priorities,
    )


# --- Ticket page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerActions:
    """What the person looking may do with a ticket from the portal."""

    can_reply: bool
    can_resolve: bool
    can_reopen: bool
    reopen_until: datetime | None  # while resolved: the end of the reopen window
    replying_reopens: bool


NO_ACTIONS = CustomerActions(False, False, False, None, False)


def customer_actions(ticket: Ticket, user: User, *, now: datetime) -> CustomerActions:
    """Customers of the ticket's organisation may reply (a reply reopens a resolved ticket
    within the window), resolve an unresolved ticket, and reopen a resolved one within the
    window; the services enforce the same rules. Agents work in the support desk."""
    member = getattr(user, "member", None) if not user.is_staff else None
    if member is None or member.organisation_id != ticket.organisation_id:
        return NO_ACTIONS
    if ticket.status == Ticket.Status.CLOSED:
        return NO_ACTIONS
    reopen_until = reopen_deadline(ticket)
    within_window = reopen_until is not None and now <= reopen_until
    resolved = ticket.status == Ticket.Status.RESOLVED
    return CustomerActions(
        can_reply=not resolved or within_window,
        can_resolve=ticket.is_open,
        can_reopen=within_window,
        reopen_until=reopen_until,
        replying_reopens=within_window,
    )
