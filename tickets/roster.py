"""Who is on shift: the one source for routing (`tickets.routing`) and for who hears about an
alert (the tier's escalation policy applied to who is on shift now).

A team is on shift while its shift calendar is open: its own (`BusinessCalendar.team`), else its
region's business hours. A person is on shift while their team is. The roster is read once per
sweep or routing run (a few dozen rows), then every question is answered in memory.

Rules, in order of preference for each role:
- assignee: the ticket's assignee, if on shift (people without a team, such as administrators,
  always count as on shift);
- team lead: the lead of the ticket's team (the region's L1 team when it has none); when off
  shift, another lead of the same team on shift, else a lead of the same region on shift, else a
  lead on shift anywhere (follow the sun), else the team's own lead after all;
- L2 team: the members of the region's L2 team on shift, else the L2 members on shift anywhere,
  else the region's L2 lead;
- account manager: the organisation's account manager (not bound to shifts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from contracts.business_time import WorkingSchedule
from contracts.calendars import schedule_of
from contracts.escalation_policy import Policy
from contracts.models import BusinessCalendar
from portal.models import Agent, Region, Team
from tickets.models import Escalation, Ticket

Role = Escalation.Role


@dataclass
class Roster:
    """Agents, teams and which regions are on shift at one instant."""

    now: datetime
    agents_by_team: dict[int, list[Agent]] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    team_by_region_level: dict[tuple[int, str], Team] = field(default_factory=dict)
    agent_by_user: dict[int, Agent] = field(default_factory=dict)
    # Each team's shift hours (None: it has none, and counts as always on shift).
    schedules: dict[int, WorkingSchedule | None] = field(default_factory=dict)
    team_open: dict[int, bool] = field(default_factory=dict)
    # Regions in the follow-the-sun order.
    regions: list[Region] = field(default_factory=list)
    # Calendars open around the clock: a ticket snapshotted on one has a 24x7 contract.
    always_calendars: set[int] = field(default_factory=set)
    # Answers depend only on the team or region at this instant: worked out once per sweep.
    _lead_memo: dict[int, list[Agent]] = field(default_factory=dict, repr=False)
    _l2_memo: dict[int, list[Agent]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, now: datetime) -> Roster:
        roster = cls(now=now)
        roster.regions = list(Region.objects.order_by("follow_sun_position", "code"))
        for team in Team.objects.all():
            roster.teams[team.pk] = team
            roster.team_by_region_level[(team.region_id, team.level)] = team
            roster.agents_by_team[team.pk] = []
        agents = Agent.objects.filter(team__isnull=False).select_related("user").order_by("pk")
        for agent in agents:
            if agent.team_id is None:
                continue
            roster.agents_by_team[agent.team_id].append(agent)
            roster.agent_by_user[agent.user_id] = agent
        roster.always_calendars = set(
            BusinessCalendar.objects.filter(hours=BusinessCalendar.Hours.ALWAYS).values_list(
                "pk", flat=True
            )
        )
        roster.schedules = team_schedules(roster.teams.values())
        roster.team_open = {
            pk: schedule is None or schedule.is_open(now)
            for pk, schedule in roster.schedules.items()
        }
        return roster

    def team_on_shift(self, team: Team) -> bool:
        return self.team_open.get(team.pk, True)

    def on_shift(self, agent: Agent) -> bool:
        return agent.team_id is None or self.team_open.get(agent.team_id, True)

    def _leads(self, teams: list[Team]) -> list[Agent]:
        return [
            agent
            for team in teams
            for agent in self.agents_by_team.get(team.pk, [])
            if agent.role == Agent.Role.LEAD
        ]

    def team_lead(self, team: Team) -> list[Agent]:
        if team.pk not in self._lead_memo:
            self._lead_memo[team.pk] = self._team_lead(team)
        return self._lead_memo[team.pk]

    def _team_lead(self, team: Team) -> list[Agent]:
        own = self._leads([team])
        for candidates in (
            own,
            self._leads([t for t in self.teams.values() if t.region_id == team.region_id]),
            self._leads(list(self.teams.values())),
        ):
            on_shift = [agent for agent in candidates if self.on_shift(agent)]
            if on_shift:
                return on_shift[:1]
        return own[:1]

    def l2_team(self, region_id: int) -> list[Agent]:
        if region_id not in self._l2_memo:
            self._l2_memo[region_id] = self._l2_team(region_id)
        return self._l2_memo[region_id]

    def _l2_team(self, region_id: int) -> list[Agent]:
        team = self.team_by_region_level.get((region_id, Team.Level.L2))
        members = self.agents_by_team.get(team.pk, []) if team else []
        on_shift = [agent for agent in members if self.on_shift(agent)]
        if on_shift:
            return on_shift
        anywhere = [
            agent
            for t in self.teams.values()
            if t.level == Team.Level.L2
            for agent in self.agents_by_team.get(t.pk, [])
            if self.on_shift(agent)
        ]
        return anywhere or self._leads([team] if team else [])

    def recipients(self, ticket: Ticket, policy: Policy) -> list[tuple[int, str]]:
        """(user id, role) pairs, each person once, in the order of the policy."""
        chosen: dict[int, str] = {}

        def add(user_id: int | None, role: str) -> None:
            if user_id is not None and user_id not in chosen:
                chosen[user_id] = role

        own = self.teams.get(ticket.team_id) if ticket.team_id is not None else None
        team = own or self.team_by_region_level.get((ticket.region_id, Team.Level.L1))
        if policy.notify_assignee and ticket.assignee_id:
            agent = self.agent_by_user.get(ticket.assignee_id)
            if agent is None or self.on_shift(agent):
                add(ticket.assignee_id, Role.ASSIGNEE)
        if policy.notify_team_lead and team is not None:
            for lead in self.team_lead(team):
                add(lead.user_id, Role.TEAM_LEAD)
        if policy.notify_l2_team:
            for agent in self.l2_team(ticket.region_id):
                add(agent.user_id, Role.L2_TEAM)
        if policy.notify_account_manager:
            add(ticket.organisation.account_manager_id, Role.ACCOUNT_MANAGER)
        return list(chosen.items())

    def around_the_clock(self, ticket: Ticket) -> bool:
        """Does the ticket's contract promise 24x7 (its snapshot's calendar is always open)?"""
        return ticket.sla_calendar_id in self.always_calendars

    def follow_the_sun(self, region_id: int) -> list[int]:
        """Region ids in the follow-the-sun order, starting after `region_id`."""
        ids = [region.pk for region in self.regions]
        if region_id not in ids:
            return ids
        start = ids.index(region_id) + 1
        return ids[start:] + ids[:start]

    def on_shift_elsewhere(self, region_id: int, level: str) -> Team | None:
        """The first team of `level` on shift in the follow-the-sun order after `region_id`."""
        for other in self.follow_the_sun(region_id):
            team = self.team_by_region_level.get((other, level))
            if team is not None and self.team_on_shift(team):
                return team
        return None

    def escalation_team(self, ticket: Ticket) -> Team | None:
        """Where a breach escalates: the L2 team of the ticket's region, or, for a 24x7
        contract while it is off shift, the next L2 team on shift (follow the sun)."""
        own = self.team_by_region_level.get((ticket.region_id, Team.Level.L2))
        if own is not None and self.team_on_shift(own):
            return own
        if self.around_the_clock(ticket):
            return self.on_shift_elsewhere(ticket.region_id, Team.Level.L2) or own
        return own


def team_schedules(teams: Iterable[Team]) -> dict[int, WorkingSchedule | None]:
    """Each team's shift hours: its own shift calendar, else its region's business hours, else
    None (a team with no hours anywhere)."""
    calendars = BusinessCalendar.objects.filter(
        Q(team__isnull=False) | Q(region__isnull=False, hours=BusinessCalendar.Hours.BUSINESS)
    )
    own: dict[int, WorkingSchedule] = {}
    regional: dict[int, WorkingSchedule] = {}
    for calendar in calendars:
        if calendar.team_id is not None:
            own[calendar.team_id] = schedule_of(calendar)
        elif calendar.region_id is not None and calendar.hours == BusinessCalendar.Hours.BUSINESS:
            regional[calendar.region_id] = schedule_of(calendar)
    return {team.pk: own.get(team.pk) or regional.get(team.region_id) for team in teams}


def team_on_shift(team: Team, *, now: datetime) -> bool:
    """Whether `team` is on shift at `now`, by the same rule as `Roster` (its own shift
    calendar, else its region's business hours, else always): one query, for a single team
    (the desk's header) where loading the whole roster would be waste."""
    regional = Q(team__isnull=True, region_id=team.region_id, hours=BusinessCalendar.Hours.BUSINESS)
    calendars = BusinessCalendar.objects.filter(Q(team=team) | regional)
    schedules = {calendar.team_id is not None: schedule_of(calendar) for calendar in calendars}
    schedule = schedules.get(True) or schedules.get(False)
    return schedule is None or schedule.is_open(now)
