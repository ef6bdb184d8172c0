"""Reads owned by the tickets app, always scoped to who is asking."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, DateTimeField, F, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Least
from django.http import Http404

from contracts.models import Clock, Priority, SLATier
from contracts.selectors import contract_active
from contracts.services import tier_terms
from portal.models import Member
from tickets.models import CLOCKS, Attachment, Message, Ticket
from tickets.services import reopen_deadline
from tickets.sla import ClockView, clock_views, format_duration

# Sorts after every real deadline: tickets with nothing counting down come last.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def tickets_visible_to(user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Agents see every ticket; a customer's admin sees the organisation's; a requester sees
    their own, or the organisation's when it shares tickets with all its members."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    if user.is_staff:
        return Ticket.objects.all()
    member = getattr(user, "member", None)
    if member is None:
        return Ticket.objects.none()
    scope = Q(organisation_id=member.organisation_id)
    if member.role != member.Role.ADMIN and not member.organisation.requesters_see_all_tickets:
        scope &= Q(requester_id=member.pk)
    return Ticket.objects.filter(scope)


def ticket_for_user(user: AbstractBaseUser, reference: str) -> Ticket:
    """The ticket, if `user` may see it; 404 otherwise (never 403, which would confirm it
    exists)."""
    ticket = (
        tickets_visible_to(user)
        .select_related("organisation", "sla_tier", "sla_contract", "sla_calendar")
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def member_for_user(user: AbstractBaseUser) -> Member:
    """The customer membership of `user`, with its organisation; 404 for anyone else (agents
    work in the support desk, not through the customer's forms)."""
    if not user.is_authenticated or user.is_staff:
        raise Http404("Only customers use this page.")
    member = (
        Member.objects.select_related("organisation__home_region").filter(user_id=user.pk).first()
    )
    if member is None:
        raise Http404("Only customers use this page.")
    return member


def tickets_for_list(
    user: AbstractBaseUser,
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


def next_due_at(*, overdue: bool) -> Least:
    """The earliest due instant among a ticket's clocks that are still owed and not paused, or
    far in the future when there is none. `overdue=False` leaves breached clocks out (the agents'
    countdown to the next deadline they can still meet); `overdue=True` keeps them (what a
    customer is waiting for next)."""

    def due(clock: str) -> Case:
        owed = {
            f"{clock}_due_at__isnull": False,
            f"{clock}_met_at__isnull": True,
            f"{clock}_paused_at__isnull": True,
        }
        if not overdue:
            owed[f"{clock}_breached_at__isnull"] = True
        return Case(
            When(Q(**owed), then=F(f"{clock}_due_at")),
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


def ticket_clocks(ticket: Ticket, *, now: datetime, time_zone: str) -> list[Deadline]:
    """Every started clock of the ticket (`tickets.sla.clock_views`) with its countdown."""
    return [
        Deadline(clock=view, wall_time_left=view.due_at - now if view.due_at else None)
        for view in clock_views(ticket, now=now, time_zone=time_zone)
    ]


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
    """The clock the customer is waiting on first: owed, not paused, earliest due."""
    views = clock_views(ticket, now=now, time_zone=time_zone)
    owed = [
        view
        for view in views
        if view.due_at is not None
        and view.met_at_local is None
        and view.state in ("running", "breached")
    ]
    if not owed:
        return DashboardRow(
            ticket=ticket, deadline=None, paused=any(v.state == "paused" for v in views)
        )
    first = min(owed, key=lambda view: view.due_at)
    return DashboardRow(
        ticket=ticket,
        deadline=Deadline(clock=first, wall_time_left=first.due_at - now),
        paused=False,
    )


def dashboard_tickets(
    user: AbstractBaseUser, *, now: datetime, time_zone: str, limit: int = 50
) -> DashboardTickets:
    """The open tickets `user` may see, most urgent deadline first, each with that deadline.

    One query whatever the number of tickets (the calendar schedules are cached per process).
    """
    tickets = list(
        tickets_visible_to(user)
        .open()
        .select_related("requester__user")
        .annotate(next_due_at=next_due_at(overdue=True))
        .order_by("next_due_at", "-updated_at", "-pk")[: limit + 1]
    )
    rows = [next_deadline(t, now=now, time_zone=time_zone) for t in tickets[:limit]]
    return DashboardTickets(rows=rows, more=len(tickets) > limit)


# --- What the contract promises ------------------------------------------------------------------

# What each priority means for a customer choosing one.
PRIORITY_MEANINGS = {
    Priority.P1: "Your service is down or unusable for most of your users, with no workaround.",
    Priority.P2: "A major feature is degraded or failing for many users; the service still runs.",
    Priority.P3: "Something minor is broken or a few users are affected; work can go on.",
    Priority.P4: "A question, a how-to or a feature request; nothing is broken.",
}


def _minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return "not promised"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if not rest else f"{hours} h {rest:02d} min"


@dataclass(frozen=True)
class PriorityTerms:
    """What a contract promises for one priority, in business time of its coverage."""

    priority: str
    label: str
    meaning: str
    first_response: str
    next_response: str
    workaround: str
    resolution: str

    @property
    def summary(self) -> str:
        return f"first response within {self.first_response}, resolution within {self.resolution}"


@dataclass(frozen=True)
class ContractTerms:
    """An organisation's active contract at a glance."""

    reference: str
    tier_name: str
    coverage: str
    region_name: str
    starts_on: date
    ends_on: date | None
    priorities: list[PriorityTerms]

    def allows(self, priority: str) -> bool:
        return any(p.priority == priority for p in self.priorities)

    def for_priority(self, priority: str) -> PriorityTerms | None:
        return next((p for p in self.priorities if p.priority == priority), None)


def contract_terms_for_member(*, member: Member, now: datetime) -> ContractTerms | None:
    """The contract in force for the member's organisation today and what it promises per
    priority (the signed terms, as tickets created now get them); None without a contract."""
    contract = contract_active(organisation=member.organisation, at=now)
    if contract is None:
        return None
    terms = contract.terms or tier_terms(tier=contract.tier)
    coverage = terms.get("coverage", contract.tier.coverage)
    priorities = []
    for priority in sorted(terms["targets"]):
        minutes = terms["targets"][priority]
        priorities.append(
            PriorityTerms(
                priority=priority,
                label=Priority(priority).label,
                meaning=PRIORITY_MEANINGS.get(priority, ""),
                first_response=_minutes_text(minutes.get(Clock.FIRST_RESPONSE)),
                next_response=_minutes_text(minutes.get(Clock.NEXT_RESPONSE)),
                workaround=_minutes_text(minutes.get(Clock.WORKAROUND)),
                resolution=_minutes_text(minutes.get(Clock.RESOLUTION)),
            )
        )
    return ContractTerms(
        reference=contract.reference,
        tier_name=terms.get("tier", {}).get("name") or contract.tier.name,
        coverage=SLATier.Coverage(coverage).label,
        region_name=member.organisation.home_region.name,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        priorities=priorities,
    )


# --- Ticket page ---------------------------------------------------------------------------------


def ticket_conversation(ticket: Ticket, user: AbstractBaseUser) -> QuerySet[Message]:
    """The messages of `ticket` that `user` may read, oldest first, with their attachments.

    Customers see the public conversation only; internal notes are for agents.
    """
    messages = ticket.messages.select_related("author").order_by("created_at", "id")
    if not user.is_staff:
        messages = messages.filter(visibility=Message.Visibility.PUBLIC)
    attachments = Attachment.objects.only(
        "id", "message_id", "ticket_id", "filename", "size", "content_type"
    ).order_by("created_at", "id")
    return messages.prefetch_related(Prefetch("attachments", queryset=attachments))


@dataclass(frozen=True)
class CustomerActions:
    """What the person looking may do with a ticket from the portal."""

    can_reply: bool
    can_resolve: bool
    can_reopen: bool
    reopen_until: datetime | None  # while resolved: the end of the reopen window
    replying_reopens: bool


NO_ACTIONS = CustomerActions(False, False, False, None, False)


def customer_actions(ticket: Ticket, user: AbstractBaseUser, *, now: datetime) -> CustomerActions:
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


def attachment_for_user(user: AbstractBaseUser, reference: str, attachment_id: int) -> Attachment:
    """The attachment, if `user` may see the ticket and the message it came with; 404 otherwise
    (another organisation's, a colleague's unshared ticket, an internal note's, none at all)."""
    attachments = Attachment.objects.filter(
        pk=attachment_id,
        ticket__in=tickets_visible_to(user).filter(reference=reference.upper()),
    )
    if not user.is_staff:
        attachments = attachments.filter(message__visibility=Message.Visibility.PUBLIC)
    attachment = attachments.first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment
