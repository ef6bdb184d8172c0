"""The load organisations and what their tickets need of them, read once per run.

`organisations_ensure` creates the load organisations (each with an admin who signed an active
contract and a requester); `organisations_load` reads them back with the SLA snapshot
`ticket_create` would take (`sla_terms_for`), shared by the organisations whose tier, region and
signed terms are the same: a `Snapshot` is what the clock engine needs, so stories are told once
per snapshot and shared by its organisations (`stories`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.db import transaction

from contracts.business_time import WorkingSchedule
from contracts.calendars import schedule_for_version
from contracts.models import Contract, SLATier
from contracts.selectors import sla_terms_for
from contracts.services import terms_hash, tier_terms
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from tickets.clocks import AROUND_THE_CLOCK
from tickets.demo.world import ALERT_SUBJECTS, CUSTOMER_NAMES, REGIONS, SUBJECTS
from tickets.models import Ticket

User = get_user_model()

TIER_CYCLE = ("enterprise", "business", "standard")  # organisation 1 is Enterprise (24x7)
REGION_CYCLE = tuple(spec.code for spec in REGIONS)
PRIORITY_WEIGHTS = {"p1": 1, "p2": 2, "p3": 4, "p4": 3}
DUE_WINDOW = timedelta(minutes=5)  # `due_now` clocks became due within this before `now`
STREAMING = Ticket.ProductArea.STREAMING.value


class LoadgenError(Exception):
    """The load cannot be generated as asked; the message says why."""


def load_slug(number: int) -> str:
    return f"load-{number:06d}"


def load_tier(number: int) -> str:
    """Organisations cycle through the tiers, and (independently) through the five regions."""
    return TIER_CYCLE[(number - 1) % len(TIER_CYCLE)]


def load_region(number: int) -> str:
    return REGION_CYCLE[(number - 1) % len(REGION_CYCLE)]


def organisations_ensure(*, count: int, now: datetime, password_hash: str) -> int:
    """Create the load organisations 1..`count` that do not exist yet, each with an admin who
    signed an active contract and a requester; returns how many were created.

    Bulk inserts, so a thousand organisations take a moment. A new organisation has no other
    contract, so its one active contract satisfies `Contract.clean()` (and the exclusion
    constraint on PostgreSQL) by construction.
    """
    slugs = {load_slug(n): n for n in range(1, count + 1)}
    existing = set(Organisation.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    numbers = [n for slug, n in slugs.items() if slug not in existing]
    if not numbers:
        return 0
    regions = {region.code: region for region in Region.objects.all()}
    tiers = {tier.code: tier for tier in SLATier.objects.all()}
    terms = {code: tier_terms(tier=tier) for code, tier in tiers.items()}
    hashes = {code: terms_hash(value) for code, value in terms.items()}
    manager = User.objects.filter(username="sophie.laurent").first()
    today = now.date()
    starts_on = date(today.year - 1, today.month, 1)
    signed_at = datetime.combine(starts_on - timedelta(days=12), datetime.min.time(), UTC)
    with transaction.atomic(durable=True):
        organisations = Organisation.objects.bulk_create(
            Organisation(
                name=f"Load Org {n:06d}",
                slug=load_slug(n),
                home_region=regions[load_region(n)],
                account_manager=manager,
            )
            for n in numbers
        )
        by_number = dict(zip(numbers, organisations, strict=True))
        EmailDomain.objects.bulk_create(
            EmailDomain(organisation=org, domain=f"{org.slug}.example") for org in organisations
        )
        people = []  # (number, role, username, full name)
        for n in numbers:
            for offset, role in enumerate((Member.Role.ADMIN, Member.Role.REQUESTER)):
                full_name = CUSTOMER_NAMES[(n + offset * 5) % len(CUSTOMER_NAMES)]
                username = f"{full_name.lower().replace(' ', '.')}@{load_slug(n)}.example"
                people.append((n, role, username, full_name))
        User.objects.bulk_create(
            User(
                username=username,
                email=username,
                first_name=full_name.partition(" ")[0],
                last_name=full_name.partition(" ")[2],
                password=password_hash,
                date_joined=now,
            )
            for _, _, username, full_name in people
        )
        user_ids = dict(
            User.objects.filter(username__in=[p[2] for p in people]).values_list("username", "pk")
        )
        Member.objects.bulk_create(
            Member(
                user_id=user_ids[username],
                organisation=by_number[n],
                role=role,
                time_zone=by_number[n].home_region.time_zone,
            )
            for n, role, username, _ in people
        )
        admins = {n: user_ids[username] for n, role, username, _ in people if role == "admin"}
        Contract.objects.bulk_create(
            Contract(
                reference=f"CT-LOAD-{n:06d}",
                organisation=by_number[n],
                tier=tiers[load_tier(n)],
                starts_on=starts_on,
                status=Contract.Status.ACTIVE,
                signed_by_id=admins[n],
                signed_at=signed_at,
                signed_ip=f"198.51.100.{n % 250 + 1}",
                signed_user_agent="Meridian loadgen",
                terms=terms[load_tier(n)],
                terms_hash=hashes[load_tier(n)],
            )
            for n in numbers
        )
    return len(numbers)


@dataclass(eq=False)
class Snapshot:
    """An SLA snapshot as `ticket_create` takes it, with what laying out stories needs of it.

    Everything the clock engine reads is here, so a story told for one organisation holds for
    every organisation sharing the snapshot.
    """

    index: int  # position in the run's snapshots: part of every story key
    tier_code: str
    calendar_id: int
    calendar_version: int
    schedule: WorkingSchedule
    targets: dict
    pause_statuses: list
    paused_clocks: list
    thresholds: list
    around_the_clock: dict
    priorities: tuple[str, ...]  # those the contract covers, in PRIORITY_WEIGHTS order
    priority_weights: tuple[int, ...]  # cumulative
    wall_ratio: float  # wall-clock time per unit of open time in its calendar, about
    due_ok: bool  # its calendar was open throughout the last DUE_WINDOW
    # targets, pause statuses, paused clocks, thresholds, around the clock
    json: tuple[str, str, str, str, str]

    def target(self, priority: str, clock: str) -> timedelta | None:
        minutes = self.targets.get(priority, {}).get(clock)
        return timedelta(minutes=minutes) if minutes else None

    def schedule_for(self, priority: str, clock: str) -> WorkingSchedule:
        """The schedule a clock's target counts in at `priority`, as `Clocks.schedule_of`."""
        if clock in self.around_the_clock.get(priority, ()):
            return AROUND_THE_CLOCK
        return self.schedule

    def first_alert(self, priority: str, clock: str) -> timedelta | None:
        """Open time from a clock's start to its first sweep instant, as `Clocks` computes it."""
        target = self.target(priority, clock)
        if target is None or not self.thresholds:
            return target
        return target * min(self.thresholds) // 100


@dataclass(eq=False)
class LoadOrg:
    """One load organisation: who raises its tickets, who answers them, its snapshot."""

    pk: int
    slug: str
    region_id: int
    requester_id: int  # the Member
    requester_user_id: int
    requester_name: str
    contract_id: int
    contract_reference: str
    tier_id: int
    snapshot: Snapshot
    team_id: int  # the home region's L1 team
    agents: tuple[int, ...]  # its agents' user ids
    subjects: tuple[tuple[str, str], ...]  # (product area, subject)
    alert_subjects: tuple[str, ...]


def organisations_load(*, count: int, now: datetime) -> list[LoadOrg]:
    """The load organisations 1..`count` with their requester, contract, L1 team and snapshot."""
    slugs = [load_slug(n) for n in range(1, count + 1)]
    organisations = list(
        Organisation.objects.filter(slug__in=slugs).select_related("home_region").order_by("slug")
    )
    requesters = {}
    for member in (
        Member.objects.filter(organisation__in=organisations, role=Member.Role.REQUESTER)
        .select_related("user")
        .order_by("pk")
    ):
        requesters.setdefault(member.organisation_id, member)
    contracts = {
        contract.organisation_id: contract
        for contract in Contract.objects.active_on(now.date())
        .filter(organisation__in=organisations)
        .select_related("tier")
    }
    l1_teams = {team.region_id: team.pk for team in Team.objects.filter(level=Team.Level.L1)}
    agents: dict[int, list[int]] = {}
    for team_id, user_id in (
        Agent.objects.filter(team__level=Team.Level.L1)
        .order_by("pk")
        .values_list("team_id", "user_id")
    ):
        agents.setdefault(team_id, []).append(user_id)
    # The SLA snapshot exactly as `ticket_create` takes it (`sla_terms_for`), once per tier,
    # region and signed terms: organisations sharing those share the snapshot.
    snapshots: dict[tuple, Snapshot] = {}
    result = []
    for org in organisations:
        member, contract = requesters.get(org.pk), contracts.get(org.pk)
        if member is None or contract is None:
            raise LoadgenError(f"{org.slug} has no requester or no active contract.")
        region = org.home_region
        team_id = l1_teams.get(region.pk)
        if team_id is None or not agents.get(team_id):
            raise LoadgenError(f"{region.name} has no L1 team with agents to answer tickets.")
        key = (contract.tier_id, org.home_region_id, contract.terms_hash)
        if key not in snapshots:
            terms = sla_terms_for(organisation=org, at=now)
            if terms is None or terms.contract.pk != contract.pk:
                raise LoadgenError(f"{org.slug}: its contract is not the one in force.")
            snapshots[key] = _snapshot(len(snapshots), terms, now)
        snapshot = snapshots[key]
        result.append(
            LoadOrg(
                pk=org.pk,
                slug=org.slug,
                region_id=region.pk,
                requester_id=member.pk,
                requester_user_id=member.user_id,
                requester_name=member.user.get_full_name(),
                contract_id=contract.pk,
                contract_reference=contract.reference,
                tier_id=contract.tier_id,
                snapshot=snapshot,
                team_id=team_id,
                agents=tuple(agents[team_id]),
                subjects=tuple(
                    (area.value, subject.format(city=region.name))
                    for area, subjects in SUBJECTS.items()
                    for subject in subjects
                ),
                alert_subjects=tuple(s.format(city=region.name) for s in ALERT_SUBJECTS),
            )
        )
    return result


def _snapshot(index: int, terms, now: datetime) -> Snapshot:
    schedule = schedule_for_version(calendar_id=terms.calendar.pk, version=terms.calendar_version)
    week = timedelta(days=7)
    open_per_week = schedule.elapsed(now - week, now)
    priorities = tuple(p for p in PRIORITY_WEIGHTS if p in terms.targets)
    return Snapshot(
        index=index,
        tier_code=terms.tier.code,
        calendar_id=terms.calendar.pk,
        calendar_version=terms.calendar_version,
        schedule=schedule,
        targets=terms.targets,
        pause_statuses=terms.pause_statuses,
        paused_clocks=terms.paused_clocks,
        thresholds=terms.warning_thresholds,
        around_the_clock=terms.around_the_clock,
        priorities=priorities,
        priority_weights=tuple(accumulate(PRIORITY_WEIGHTS[p] for p in priorities)),
        wall_ratio=min(week / open_per_week, 6.0) if open_per_week else 1.0,
        due_ok=schedule.elapsed(now - DUE_WINDOW, now) == DUE_WINDOW,
        json=tuple(
            json.dumps(value)
            for value in (
                terms.targets,
                terms.pause_statuses,
                terms.paused_clocks,
                terms.warning_thresholds,
                terms.around_the_clock,
            )
        ),
    )
