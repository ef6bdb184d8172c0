"""Routing: which team works a ticket now, and which of its agents. Pure rules over a snapshot
of the world (`RoutingWorld`: the on-shift roster escalation uses too, the admin's routing
rules, the agents' loads); nothing here reads a clock but the instant it is given, and nothing
writes. `tickets.services.routing` applies a decision and records it.

A ticket goes to, in order:
1. the team of the first active routing rule that matches it (organisation, priority, channel,
   product area); a rule marked "only on shift" is skipped while its team is off shift;
2. the home team (the L1 team of the organisation's home region; the L2 team for an
   escalation) while it is on shift;
3. for a round-the-clock (24x7) contract, while the home team is off shift: the first team of
   the same level on shift in the follow-the-sun order, counting on from the home region;
   for first-line work, a duty team on shift after that;
4. otherwise the home team: a business-hours ticket waits in its queue (its clock is not
   running while the region is closed), and a 24x7 ticket with nobody on shift anywhere waits
   there too (a coverage gap: `manage.py coverage_check` lists them in advance).

Within a team that assigns automatically, the ticket goes to the on-shift agent who is not
away, is under their cap, and has the lightest load of open tickets weighted by priority; ties
go to the one who has waited longest since their last assignment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count
from django.utils.translation import gettext as _

from portal.models import Agent, Team
from tickets.models import OPEN_STATUSES, RoutingRule, Ticket
from tickets.roster import Roster

# How much an open ticket weighs in an agent's load, by priority.
PRIORITY_WEIGHTS = {"p1": 4, "p2": 3, "p3": 2, "p4": 1}

Level = Team.Level


@dataclass(frozen=True)
class Decision:
    """Where a ticket goes: a team (None only when there is no team at all), an agent of it or
    None, and why, in a sentence an agent can read."""

    team: Team | None
    assignee: User | None
    reason: str


@dataclass
class AgentLoad:
    """An agent's open tickets: how many, and weighted by priority."""

    count: int = 0
    weighted: int = 0


@dataclass
class RoutingWorld:
    """Everything a decision reads, loaded once for any number of tickets."""

    roster: Roster
    rules: list[RoutingRule]
    # Loads of the given agents (user ids); read when a team assigns automatically.
    loads_of: Callable[[list[int]], dict[int, AgentLoad]]
    _loads: dict[int, AgentLoad] = field(default_factory=dict, repr=False)

    @property
    def at(self) -> datetime:
        return self.roster.now

    @classmethod
    def load(cls, at: datetime) -> RoutingWorld:
        rules = list(RoutingRule.objects.filter(active=True).select_related("team"))
        return cls(roster=Roster.load(at), rules=rules, loads_of=agent_loads)

    def load_of(self, agents: list[Agent]) -> dict[int, AgentLoad]:
        missing = [agent.user_id for agent in agents if agent.user_id not in self._loads]
        if missing:
            found = self.loads_of(missing)
            for user_id in missing:
                self._loads[user_id] = found.get(user_id, AgentLoad())
        return {agent.user_id: self._loads[agent.user_id] for agent in agents}

    def assigned(self, user_id: int, priority: str) -> None:
        """Count a ticket just given to an agent, so the next decision of a batch sees it."""
        load = self._loads.setdefault(user_id, AgentLoad())
        load.count += 1
        load.weighted += PRIORITY_WEIGHTS.get(priority, 1)


def agent_loads(user_ids: list[int]) -> dict[int, AgentLoad]:
    """Open tickets per agent and priority (served by `ticket_assignee_status_idx`)."""
    loads: dict[int, AgentLoad] = {}
    rows = (
        Ticket.objects.filter(assignee_id__in=user_ids, status__in=OPEN_STATUSES)
        .values("assignee_id", "priority")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        load = loads.setdefault(row["assignee_id"], AgentLoad())
        load.count += row["n"]
        load.weighted += row["n"] * PRIORITY_WEIGHTS.get(row["priority"], 1)
    return loads


def rule_matches(rule: RoutingRule, ticket: Ticket) -> bool:
    return (
        (rule.organisation_id is None or rule.organisation_id == ticket.organisation_id)
        and (not rule.priority or rule.priority == ticket.priority)
        and (not rule.channel or rule.channel == ticket.channel)
        and (not rule.product_area or rule.product_area == ticket.product_area)
    )


def team_decision(
    ticket: Ticket, world: RoutingWorld, *, level: str = Level.L1
) -> tuple[Team | None, str]:
    """The team for a ticket at the world's instant, and why (rules 1-4 of the module)."""
    roster = world.roster
    if level == Level.L1:
        for rule in world.rules:
            if not rule_matches(rule, ticket):
                continue
            if rule.only_on_shift and not roster.team_on_shift(rule.team):
                continue
            return rule.team, _("Routing rule “%(rule)s” sends it to %(team)s.") % {
                "rule": rule.name,
                "team": rule.team,
            }
    home_region_id = ticket.organisation.home_region_id
    home_region = next((r for r in roster.regions if r.pk == home_region_id), None)
    home = roster.team_by_region_level.get((home_region_id, level))
    names = {"home": home, "region": home_region or _("its home region")}
    if home is not None and roster.team_on_shift(home):
        return home, _("%(home)s is on shift in %(region)s, the customer's home region.") % names
    if roster.around_the_clock(ticket):
        other = roster.on_shift_elsewhere(home_region_id, level)
        if other is None and level == Level.L1:
            other = roster.on_shift_elsewhere(home_region_id, Level.DUTY)
        if other is not None:
            return other, _(
                "%(region)s is off shift and the contract is 24x7: %(team)s is the next team on "
                "shift in the follow-the-sun order."
            ) % (names | {"team": other})
        if home is not None:
            return home, _(
                "The contract is 24x7 but no team is on shift anywhere: it waits in %(home)s's "
                "queue (a coverage gap)."
            ) % names
    elif home is not None:
        return home, _(
            "%(region)s is off shift and the contract covers business hours only: it waits in "
            "%(home)s's queue, and its clocks wait too."
        ) % names
    fallback = next((t for t in roster.teams.values() if t.level == level), None)
    if fallback is None:
        return None, _("There is no %(level)s team to route to.") % {"level": level.upper()}
    return fallback, _("%(region)s has no %(level)s team: %(team)s takes it.") % (
        names | {"level": level.upper(), "team": fallback}
    )


def pick_agent(team: Team, world: RoutingWorld) -> tuple[Agent | None, str]:
    """The team's on-shift agent with the lightest weighted load, or None and why."""
    roster = world.roster
    candidates = [
        agent
        for agent in roster.agents_by_team.get(team.pk, [])
        if agent.role in (Agent.Role.AGENT, Agent.Role.LEAD) and not agent.away
    ]
    if not roster.team_on_shift(team):
        return None, _("Nobody in %(team)s is on shift to take it yet.") % {"team": team}
    loads = world.load_of(candidates)
    free = [
        agent
        for agent in candidates
        if agent.max_open_tickets is None or loads[agent.user_id].count < agent.max_open_tickets
    ]
    if not free:
        return None, _("Every agent of %(team)s is away or at their cap.") % {"team": team}
    oldest = datetime.min.replace(tzinfo=world.at.tzinfo)
    chosen = min(
        free,
        key=lambda a: (loads[a.user_id].weighted, a.last_assigned_at or oldest, a.pk),
    )
    return chosen, _("%(agent)s has the lightest load in %(team)s (%(load)d).") % {
        "agent": chosen,
        "team": team,
        "load": loads[chosen.user_id].weighted,
    }


def decide(ticket: Ticket, world: RoutingWorld, *, level: str = Level.L1) -> Decision:
    """Where the ticket goes at the world's instant. A ticket that stays in its team keeps its
    agent; one that moves is given to an agent only by a team that assigns automatically."""
    team, reason = team_decision(ticket, world, level=level)
    if team is None:
        return Decision(team=None, assignee=None, reason=reason)
    if team.pk == ticket.team_id and ticket.assignee_id is not None:
        return Decision(team=team, assignee=ticket.assignee, reason=reason)
    if not team.auto_assign:
        return Decision(team=team, assignee=None, reason=reason)
    agent, why = pick_agent(team, world)
    return Decision(team=team, assignee=agent.user if agent else None, reason=f"{reason} {why}")


def explain(ticket: Ticket, at: datetime, *, world: RoutingWorld | None = None) -> Decision:
    """The routing decision for `ticket` at `at` (first-line work, or the L2 work of a ticket
    that sits with an L2 team), read from the database as it stands (or from `world`, loaded
    at `at`, when the caller reads names from it too); writes nothing."""
    world = world or RoutingWorld.load(at)
    team = world.roster.teams.get(ticket.team_id) if ticket.team_id else None
    return decide(ticket, world, level=team.level if team and team.level == Level.L2 else Level.L1)


def next_team_on_shift(ticket: Ticket, world: RoutingWorld, leaving: Team) -> Decision:
    """At the end of `leaving`'s shift: where its ticket goes next (the same level)."""
    level = Level.L2 if leaving.level == Level.L2 else Level.L1
    return decide(ticket, world, level=level)


def shift_ends(team: Team, roster: Roster, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] when the team's shift closed."""
    schedule = roster.schedules.get(team.pk)
    if schedule is None:
        return []
    return [
        closed
        for _opened, closed in schedule.open_intervals(start, end)
        if start < closed < end or (closed == end and not schedule.is_open(end))
    ]


def first_line_teams(teams: Iterable[Team]) -> list[Team]:
    return [team for team in teams if team.level in (Level.L1, Level.DUTY)]


@dataclass(frozen=True)
class CoverageGap:
    """An interval when no first-line team (L1 or duty) with anyone in it is on shift: 24x7
    tickets opened then wait in their home team's queue with their clocks running."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def coverage_gaps(roster: Roster, start: datetime, end: datetime) -> list[CoverageGap]:
    """The intervals within [start, end) when nobody first-line is on shift anywhere."""
    covered: list[tuple[datetime, datetime]] = []
    for team in first_line_teams(roster.teams.values()):
        if not roster.agents_by_team.get(team.pk):
            continue  # a team with nobody in it covers nothing
        schedule = roster.schedules.get(team.pk)
        if schedule is None:
            return []  # hours nowhere: counted as always on shift
        covered += schedule.open_intervals(start, end)
    gaps: list[CoverageGap] = []
    cursor = start
    for opened, closed in sorted(covered):
        if opened > cursor:
            gaps.append(CoverageGap(cursor, opened))
        cursor = max(cursor, closed)
    if cursor < end:
        gaps.append(CoverageGap(cursor, end))
    return gaps
