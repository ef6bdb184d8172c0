"""Fill a database fast with realistic tickets, for benchmarks: `manage.py loadgen`.

The world is the demo's reference data (regions, calendars, tiers, teams, agents) plus `orgs`
load organisations, each with an admin who signed an active contract and a requester. Tickets
are spread over every channel, the priorities each contract covers and every status; each one's
clocks come from the real engine (`Clocks.start` and the transitions the services apply), stored
with `clocks_store`, and its history is the `TicketEvent` rows the services would have written,
so `replay_differences` finds nothing to correct.

Time is laid out around `now` so that the deadline sweep has realistic work:

- Open tickets (`open_share` of them) are young enough that none of their running clocks has
  reached its next sweep instant (`<clock>_alert_at`, the first warning threshold): a ticket is
  at most as old, in its calendar's open time, as its shortest running clock's first threshold.
  Under a steady stream of tickets that is what a swept queue looks like: sweep instants spread
  from the next seconds to days ahead, a small share within the next minutes.
- Resolved and closed tickets lie in the last weeks, with response and resolution times drawn
  in business time around their targets (some late, so some clocks are breached).
- `due_now` open tickets each get exactly one clock whose alert instant passed within the last
  few minutes: the next warning threshold, or the due instant of a clock already warned. The
  warnings the sweep recorded before then are in their history (with their `SLAAlert` rows).

Rows go in with COPY on PostgreSQL (ids reserved from the sequences up front, so rows can point
at each other) and with `bulk_create` elsewhere, one transaction per chunk of tickets.

Simplifications: resolved and closed tickets carry no sweep history (no warnings, escalations or
notifications for thresholds crossed while they were open; breaches are recorded when the next
transition observes them, as the lifecycle services do); due tickets' earlier alerts have no
escalations or notifications, so the sweep's repeat and resend queues start empty.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, models, transaction
from django.utils import timezone

from contracts.business_time import WorkingSchedule
from contracts.calendars import schedule_for_version
from contracts.models import Contract, SLATier
from contracts.selectors import sla_terms_for
from contracts.services import terms_hash, tier_terms
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from portal.services import staff_permissions_sync
from tickets.clocks import (
    CLOCKS,
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    WORKAROUND,
    Change,
    Clocks,
)
from tickets.demo import (
    ALERT_SUBJECTS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CUSTOMER_NAMES,
    REGIONS,
    SUBJECTS,
    SeedReport,
    seed_reference_data,
)
from tickets.models import Message, PhoneCall, SLAAlert, Ticket, TicketEvent
from tickets.services import references_reserve
from tickets.sla import CLOCK_FIELDS, clocks_store

User = get_user_model()

CHUNK_SIZE = 20_000  # tickets per transaction: memory stays flat, progress moves
HISTORY = timedelta(days=30)  # resolved and closed tickets were created within this
DUE_WINDOW = timedelta(minutes=5)  # `due_now` clocks became due within this before `now`
TIER_CYCLE = ("enterprise", "business", "standard")  # organisation 1 is Enterprise (24x7)
REGION_CYCLE = tuple(spec.code for spec in REGIONS)
PRIORITY_WEIGHTS = {"p1": 1, "p2": 2, "p3": 4, "p4": 3}
OPEN_KINDS, OPEN_WEIGHTS = ("new", "open", "pending"), tuple(accumulate((40, 45, 15)))
CHANNEL_CUM_WEIGHTS = tuple(accumulate(CHANNEL_WEIGHTS))
ONE_US = timedelta(microseconds=1)
_dumps = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode
MINUTE = timedelta(minutes=1)

# Plain strings: psycopg would write an Enum member by its name, not its value.
Kind = type("Kind", (), {kind.name: kind.value for kind in TicketEvent.Kind})
# Events the lifecycle services derive from a transition's clock changes (`_record`).
DERIVED = {"breached": Kind.BREACH, "paused": Kind.PAUSED, "resumed": Kind.RESUMED}
STATUS_EVENT = {"resolved": Kind.RESOLVED, "closed": Kind.CLOSED}
INBOUND = PhoneCall.Direction.INBOUND.value
STREAMING = Ticket.ProductArea.STREAMING.value

CLOCK_COLUMNS = (
    *(f"{name}_{part}" for name in CLOCKS for part in CLOCK_FIELDS),
    "next_response_started_at",
)
# Row layouts (attribute names); `_Table` appends any other column with its default.
# fmt: off
TICKET_COLUMNS = (
    "id", "reference", "organisation_id", "requester_id", "channel", "subject", "product_area",
    "priority", "status", "region_id", "team_id", "assignee_id", "created_at", "updated_at",
    "resolved_at", "closed_at", "sla_contract_id", "sla_tier_id", "sla_calendar_id",
    "sla_calendar_version", "sla_targets", "sla_pause_statuses", "sla_paused_clocks",
    "sla_warning_thresholds", *CLOCK_COLUMNS,
)
MESSAGE_COLUMNS = (
    "id", "ticket_id", "author_id", "author_kind", "visibility", "channel", "body_text",
    "body_html", "email_message_id", "email_in_reply_to", "created_at",
)
EVENT_COLUMNS = ("ticket_id", "kind", "clock", "actor_id", "at", "data")  # ids in write order
CALL_COLUMNS = (
    "id", "ticket_id", "message_id", "agent_id", "caller_name", "phone_number", "direction",
    "started_at", "duration", "summary", "created_at",
)
ALERT_COLUMNS = (
    "id", "ticket_id", "clock", "cycle_started_at", "threshold", "kind", "due_at", "at",
)
# fmt: on


class LoadgenError(Exception):
    """The load cannot be generated as asked; the message says why."""


@dataclass
class LoadReport:
    """What a run created, how long it took, and how many clocks it left due for the sweep."""

    organisations: int
    organisations_created: int
    tickets: int = 0
    open_tickets: int = 0
    messages: int = 0
    events: int = 0
    calls: int = 0
    alerts: int = 0
    due_clocks: int = 0  # clocks of this run's tickets with alert_at <= now
    due_clocks_total: int = 0  # the same over every ticket in the database
    seconds: float = 0.0  # the whole run
    ticket_seconds: float = 0.0  # generating and writing the tickets
    database_seconds: float = 0.0  # of which COPY or inserts and commits, summed over chunks

    @property
    def tickets_per_second(self) -> float:
        return self.tickets / self.ticket_seconds if self.ticket_seconds else 0.0

    @property
    def overall_tickets_per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


# --- Organisations -------------------------------------------------------------------------------


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
class _Org:
    """Everything a ticket of one organisation needs, read once per run."""

    pk: int
    slug: str
    region_id: int
    requester_id: int
    requester_user_id: int
    requester_name: str
    contract_id: int
    contract_reference: str
    tier_id: int
    tier_code: str
    calendar_id: int
    calendar_version: int
    schedule: WorkingSchedule
    targets: dict
    pause_statuses: list
    paused_clocks: list
    thresholds: list
    snapshot: tuple[str, str, str, str]  # the four JSON snapshot columns, dumped once
    priorities: tuple[str, ...]
    priority_weights: tuple[int, ...]  # cumulative
    team_id: int | None
    agents: tuple[int, ...]
    subjects: tuple[tuple[str, str], ...]  # (product area, subject)
    alert_subjects: tuple[str, ...]
    wall_ratio: float  # wall-clock time per unit of open time in its calendar, about
    due_ok: bool  # its calendar was open throughout the last DUE_WINDOW

    def target(self, priority: str, clock: str) -> timedelta | None:
        minutes = self.targets.get(priority, {}).get(clock)
        return timedelta(minutes=minutes) if minutes else None

    def first_alert(self, priority: str, clock: str) -> timedelta | None:
        """Open time from a clock's start to its first sweep instant, as `Clocks` computes it."""
        target = self.target(priority, clock)
        if target is None or not self.thresholds:
            return target
        return target * min(self.thresholds) // 100


def _organisations_load(*, count: int, now: datetime) -> list[_Org]:
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
    shared: dict[tuple, tuple] = {}
    result = []
    for org in organisations:
        member, contract = requesters.get(org.pk), contracts.get(org.pk)
        if member is None or contract is None:
            raise LoadgenError(f"{org.slug} has no requester or no active contract.")
        key = (contract.tier_id, org.home_region_id, contract.terms_hash)
        if key not in shared:
            terms = sla_terms_for(organisation=org, at=now)
            if terms is None or terms.contract.pk != contract.pk:
                raise LoadgenError(f"{org.slug}: its contract is not the one in force.")
            schedule = schedule_for_version(
                calendar_id=terms.calendar.pk, version=terms.calendar_version
            )
            week = timedelta(days=7)
            open_per_week = schedule.elapsed(now - week, now)
            shared[key] = (
                terms,
                schedule,
                tuple(p for p in PRIORITY_WEIGHTS if p in terms.targets),
                tuple(
                    json.dumps(value)
                    for value in (
                        terms.targets,
                        terms.pause_statuses,
                        terms.paused_clocks,
                        terms.warning_thresholds,
                    )
                ),
                min(week / open_per_week, 6.0) if open_per_week else 1.0,
                schedule.elapsed(now - DUE_WINDOW, now) == DUE_WINDOW,
            )
        terms, schedule, priorities, snapshot, wall_ratio, due_ok = shared[key]
        region = org.home_region
        team_id = l1_teams.get(region.pk)
        result.append(
            _Org(
                pk=org.pk,
                slug=org.slug,
                region_id=region.pk,
                requester_id=member.pk,
                requester_user_id=member.user_id,
                requester_name=member.user.get_full_name(),
                contract_id=contract.pk,
                contract_reference=contract.reference,
                tier_id=contract.tier_id,
                tier_code=contract.tier.code,
                calendar_id=terms.calendar.pk,
                calendar_version=terms.calendar_version,
                schedule=schedule,
                targets=terms.targets,
                pause_statuses=terms.pause_statuses,
                paused_clocks=terms.paused_clocks,
                thresholds=terms.warning_thresholds,
                snapshot=snapshot,
                priorities=priorities,
                priority_weights=tuple(accumulate(PRIORITY_WEIGHTS[p] for p in priorities)),
                team_id=team_id,
                agents=tuple(agents.get(team_id, ())),
                subjects=tuple(
                    (area.value, subject.format(city=region.name))
                    for area, subjects in SUBJECTS.items()
                    for subject in subjects
                ),
                alert_subjects=tuple(s.format(city=region.name) for s in ALERT_SUBJECTS),
                wall_ratio=wall_ratio,
                due_ok=due_ok,
            )
        )
    return result


# --- Writing rows --------------------------------------------------------------------------------


class _Table:
    """One table's rows as tuples in `columns` order; other columns get their constant default."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], now: datetime) -> None:
        self.model = model
        self.json_columns = {
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
        }
        extra, values = [], []
        for f in model._meta.concrete_fields:
            if f.attname in columns or (f.primary_key and "id" not in columns):
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif f.has_default():
                value = f.get_default()
                value = json.dumps(value) if f.attname in self.json_columns else value
            elif f.null:
                value = None
            else:
                raise LoadgenError(f"loadgen does not know how to fill {model.__name__}.{f.name}.")
            extra.append(f.attname)
            values.append(value)
        self.columns = (*columns, *extra)
        self.extra = tuple(values)


class _Ids:
    """Primary keys handed out before their rows are written, so rows can point at each other.

    PostgreSQL: blocks of sequence values (`nextval` over `generate_series`, one statement);
    gaps left by a block not used up are harmless. Elsewhere: counting on from the table's
    highest id, read again at the start of each chunk's write transaction (SQLite lets no one
    else write meanwhile).
    """

    BLOCK = 10_000

    def __init__(self, model: type[models.Model]) -> None:
        self.table = model._meta.db_table
        self.free: list[int] = []
        self.position = 0
        self.next = 0

    def chunk_begin(self) -> None:
        if connection.vendor == "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(self.table)}")  # noqa: S608
            self.next = (cursor.fetchone()[0] or 0) + 1
        self.free, self.position = [], 0

    def _refill(self, count: int) -> None:
        count = max(count, self.BLOCK)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.table, count],
                )
                fresh = sorted(row[0] for row in cursor.fetchall())
        else:
            fresh, self.next = list(range(self.next, self.next + count)), self.next + count
        self.free, self.position = self.free[self.position :] + fresh, 0

    def take(self, count: int) -> list[int]:
        if len(self.free) - self.position < count:
            self._refill(count)
        taken = self.free[self.position : self.position + count]
        self.position += count
        return taken

    def one(self) -> int:
        if self.position >= len(self.free):
            self._refill(1)
        self.position += 1
        return self.free[self.position - 1]


def _write(table: _Table, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = (
            f"COPY {quote(table.model._meta.db_table)} "
            f"({', '.join(quote(c) for c in table.columns)}) FROM STDIN"
        )
        extra = table.extra
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            write = copy.write_row
            if extra:
                for row in rows:
                    write(row + extra)
            else:
                for row in rows:
                    write(row)
        return
    json_at = [i for i, c in enumerate(table.columns) if c in table.json_columns]
    objects = []
    for row in rows:
        values = list(row + table.extra)
        for i in json_at:
            values[i] = json.loads(values[i])
        objects.append(table.model(**dict(zip(table.columns, values, strict=True))))
    table.model.objects.bulk_create(objects)


# --- One ticket's story --------------------------------------------------------------------------


_read_clock_columns = itemgetter(*CLOCK_COLUMNS)


class _ClockColumns:
    """Stands in for a `Ticket` in `clocks_store`: the clock columns as plain attributes."""

    defaults = {c: Ticket._meta.get_field(c).get_default() for c in CLOCK_COLUMNS}

    def __init__(self) -> None:
        self.__dict__.update(self.defaults)


class _Story:
    """One ticket told as the services would have recorded it: clocks, messages, events."""

    def __init__(
        self,
        gen: _Generator,
        org: _Org,
        ticket_id: int,
        reference: str,
        channel: str,
        priority: str,
        created_at: datetime,
    ) -> None:
        rng = gen.rng
        self.gen, self.org, self.ticket_id, self.reference = gen, org, ticket_id, reference
        self.channel, self.priority, self.created_at = channel, priority, created_at
        self.status = "new"
        self.resolved_at = self.closed_at = None
        self.events: list[tuple] = []
        self.messages: list[tuple] = []
        self.calls: list[tuple] = []
        self.alerts: list[tuple] = []
        self.team_id = self.assignee_id = None
        self.agent = rng.choice(org.agents) if org.agents else None
        if channel == "alert":
            self.requester_id = self.requester_user_id = None
            self.subject = rng.choice(org.alert_subjects)
            self.area = STREAMING
        else:
            self.requester_id, self.requester_user_id = org.requester_id, org.requester_user_id
            self.area, self.subject = rng.choice(org.subjects)
        self.state, changes = Clocks.start(
            schedule=org.schedule,
            targets=org.targets,
            pause_statuses=org.pause_statuses,
            paused_clocks=org.paused_clocks,
            priority=priority,
            status="new",
            at=created_at,
            thresholds=org.thresholds,
        )
        # `ticket_create`: the first message, then the creation event.
        phone = channel == "phone" and self.agent is not None
        if phone:
            body = f"Caller reports: {self.subject}."
            first = self.message(created_at, self.agent, "agent", "phone", body)
        elif channel == "alert":
            body = f"Monitoring detected: {self.subject[8:]}."
            first = self.message(created_at, None, "system", channel, body)
        else:
            body = (
                f"Hello support,\n\n{self.subject}. It affects {rng.randint(2, 400)} of our "
                f"users. Could you look into it?\n\n{org.requester_name}"
            )
            email_id = f"<{reference.lower()}@{org.slug}.example>" if channel == "email" else ""
            first = self.message(
                created_at, self.requester_user_id, "customer", channel, body, email_id
            )
        data = {
            "channel": channel,
            "priority": priority,
            "status": "new",
            "contract": org.contract_reference,
            "tier": org.tier_code,
        }
        self.record(Kind.CREATED, created_at, self.agent if phone else None, data, changes)
        if phone:
            # A ticket logged from a call has had its first response: `_log_call`.
            call_id = gen.ids["call"].one()
            minutes = rng.randint(3, 25)
            self.calls.append(
                (
                    call_id,
                    ticket_id,
                    first,
                    self.agent,
                    org.requester_name,
                    f"+{rng.randint(10**10, 10**11 - 1)}",
                    INBOUND,
                    created_at - timedelta(minutes=4),
                    timedelta(minutes=minutes),
                    body,
                    created_at,
                )
            )
            changes = self.state.agent_response(created_at)
            data = {"call": call_id, "direction": INBOUND}
            self.record(Kind.CALL, created_at, self.agent, data, changes)
            self.change_status(created_at, "open", self.agent)

    @property
    def responded(self) -> bool:
        return self.state.clocks[FIRST_RESPONSE].met_at is not None

    def message(
        self,
        at: datetime,
        author: int | None,
        kind: str,
        channel: str,
        body: str,
        email_id: str = "",
    ) -> int:
        pk = self.gen.ids["message"].one()
        self.messages.append(
            (pk, self.ticket_id, author, kind, "public", channel, body, "", email_id, "", at)
        )
        return pk

    def event(
        self, kind: str, at: datetime, actor: int | None, data: dict, clock: str = ""
    ) -> None:
        self.events.append((self.ticket_id, kind, clock, actor, at, _dumps(data)))

    def record(
        self,
        kind: str,
        at: datetime,
        actor: int | None,
        data: dict,
        changes: Sequence[Change],
    ) -> None:
        """`lifecycle._record`: the operation's event, then one per clock it breached, paused
        or resumed."""
        data["clocks"] = [c.as_data() for c in changes]
        self.event(kind, at, actor, data)
        for change in changes:
            derived = DERIVED.get(change.what)
            if derived:
                who = None if change.what == "breached" else actor
                self.event(derived, at, who, change.as_data(), change.clock)

    def assign(self, at: datetime) -> None:
        """`ticket_assign` to the region's L1 team and one of its agents (self-assigned)."""
        region = self.org.region_id
        self.team_id, self.assignee_id = self.org.team_id, self.agent
        data = {
            "old": {"team": None, "assignee": None, "region": region},
            "new": {"team": self.team_id, "assignee": self.assignee_id, "region": region},
            "reason": "",
        }
        self.record(Kind.ASSIGNED, at, self.agent, data, ())

    def respond(self, at: datetime) -> None:
        """`ticket_reply` by an agent: a public reply meets the response clocks, opens a new
        ticket."""
        body = f"Thanks for reporting this; we are looking into it now. ({self.reference})"
        pk = self.message(at, self.agent, "agent", "web", body)
        changes = self.state.agent_response(at)
        self.record(Kind.RESPONDED, at, self.agent, {"message": pk}, changes)
        if self.status == "new":
            self.change_status(at, "open", self.agent)

    def customer_writes(self, at: datetime) -> None:
        channel = "email" if self.channel == "email" else "web"
        body = "Here are the session IDs: 7f3a-11, 7f3a-42. It happens mostly in the evening."
        pk = self.message(at, self.requester_user_id, "customer", channel, body)
        changes = self.state.customer_message(at)
        self.record(Kind.MESSAGE, at, self.requester_user_id, {"message": pk}, changes)

    def workaround(self, at: datetime) -> None:
        changes = self.state.workaround(at)
        note = "Switch the player to the backup CDN host while we fix the edge."
        self.record(Kind.WORKAROUND, at, self.agent, {"note": note}, changes)

    def change_status(self, at: datetime, status: str, actor: int | None) -> None:
        """`lifecycle._change_status` for the moves the load uses (never a reopening)."""
        old = self.status
        changes = self.state.change_status(at, status)
        self.status = status
        if status in ("resolved", "closed") and old not in ("resolved", "closed"):
            self.resolved_at = at
        if status == "closed":
            self.closed_at = at
        kind = STATUS_EVENT.get(status, Kind.STATUS)
        self.record(kind, at, actor, {"old": old, "new": status}, changes)

    def sweeps_before(self, until: datetime) -> None:
        """The minute sweep ran up to `until`: every alert instant before it was recorded, a few
        seconds late (`alerts_raise`: an `SLAAlert` and a warning or breach event)."""
        rng, state = self.gen.rng, self.state
        while True:
            due = [c.alert_at for c in state.clocks.values() if c.alert_at and c.alert_at < until]
            if not due:
                return
            at = min(min(due) + timedelta(seconds=rng.uniform(0, 59)), until - ONE_US)
            for change in state.sweep(at):
                alert_id = self.gen.ids["alert"].one()
                threshold = change.threshold or SLAAlert.BREACH_THRESHOLD
                breach = change.what == "breached"
                kind = (SLAAlert.Kind.BREACH if breach else SLAAlert.Kind.WARNING).value
                self.alerts.append(
                    (
                        alert_id,
                        self.ticket_id,
                        change.clock,
                        change.cycle_started_at,
                        threshold,
                        kind,
                        change.due_before,
                        at,
                    )
                )
                data = {
                    "alert": alert_id,
                    "threshold": threshold,
                    "due_at": change.due_before.isoformat(),
                    "cycle_started_at": change.cycle_started_at.isoformat(),
                }
                self.event(Kind.BREACH if breach else Kind.WARNING, at, None, data, change.clock)

    def alert_instants(self) -> list[datetime]:
        return [c.alert_at for c in self.state.clocks.values() if c.alert_at is not None]

    def row(self) -> tuple:
        columns = _ClockColumns()
        clocks_store(columns, self.state)
        self.events.sort(key=itemgetter(4))  # an assignment may come after a later transition
        org = self.org
        return (
            self.ticket_id,
            self.reference,
            org.pk,
            self.requester_id,
            self.channel,
            self.subject,
            self.area,
            self.priority,
            self.status,
            org.region_id,
            self.team_id,
            self.assignee_id,
            self.created_at,
            self.events[-1][4],
            self.resolved_at,
            self.closed_at,
            org.contract_id,
            org.tier_id,
            org.calendar_id,
            org.calendar_version,
            *org.snapshot,
            *_read_clock_columns(columns.__dict__),
        )


# --- Generating tickets --------------------------------------------------------------------------


@dataclass(frozen=True)
class _ChunkResult:
    tickets: int
    open_tickets: int
    messages: int
    events: int
    calls: int
    alerts: int
    first_id: int
    last_id: int
    database_seconds: float


class _Generator:
    def __init__(self, *, organisations: list[_Org], now: datetime, seed: int) -> None:
        self.orgs = organisations
        self.due_orgs = [org for org in organisations if org.due_ok]
        self.now = now
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - variety for test data, not secrecy
        self.ids = {
            "ticket": _Ids(Ticket),
            "message": _Ids(Message),
            "call": _Ids(PhoneCall),
            "alert": _Ids(SLAAlert),
        }
        self.tables = {
            "ticket": _Table(Ticket, TICKET_COLUMNS, now),
            "message": _Table(Message, MESSAGE_COLUMNS, now),
            "call": _Table(PhoneCall, CALL_COLUMNS, now),
            "alert": _Table(SLAAlert, ALERT_COLUMNS, now),
            "event": _Table(TicketEvent, EVENT_COLUMNS, now),
        }

    def chunk(self, index: int, kinds: Sequence[str]) -> _ChunkResult:
        """Generate and write one chunk of tickets (`kinds`: open, due or closed) in its own
        transaction. Its random draws depend only on the run's seed and `index`, so the data is
        the same whichever process writes which chunk."""
        self.rng.seed(self.seed * 1_000_003 + index)
        # The ticket numbers in a short transaction of their own: parallel workers would
        # otherwise queue on the counter row for a whole chunk. A failed chunk leaves a gap.
        with transaction.atomic(durable=True):
            references = references_reserve(count=len(kinds))
        with transaction.atomic(durable=True):
            for ids in self.ids.values():
                ids.chunk_begin()
            ticket_ids = self.ids["ticket"].take(len(kinds))
            rows: dict[str, list[tuple]] = {name: [] for name in self.tables}
            tickets, messages, events = rows["ticket"], rows["message"], rows["event"]
            calls, alerts = rows["call"], rows["alert"]
            make = {"due": self._due, "open": self._open, "closed": self._closed}
            for ticket_id, reference, kind in zip(ticket_ids, references, kinds, strict=True):
                story = make[kind](ticket_id, reference)
                tickets.append(story.row())
                messages += story.messages
                events += story.events
                calls += story.calls
                alerts += story.alerts
            writing = time.perf_counter()
            for name in ("ticket", "message", "call", "alert", "event"):
                _write(self.tables[name], rows[name])
        # Foreign keys are checked at commit (they are deferred), so the commit is part of it.
        database_seconds = time.perf_counter() - writing
        return _ChunkResult(
            tickets=len(kinds),
            open_tickets=sum(1 for kind in kinds if kind != "closed"),
            messages=len(messages),
            events=len(events),
            calls=len(calls),
            alerts=len(alerts),
            first_id=ticket_ids[0],
            last_id=ticket_ids[-1],
            database_seconds=database_seconds,
        )

    # -- drawing --

    def _draw(self, orgs: Sequence[_Org] | None = None) -> tuple[_Org, str, str]:
        rng = self.rng
        org = rng.choice(orgs or self.orgs)
        channel = rng.choices(CHANNELS, cum_weights=CHANNEL_CUM_WEIGHTS)[0]
        priority = rng.choices(org.priorities, cum_weights=org.priority_weights)[0]
        return org, channel, priority

    def _recent(self, org: _Org, limit: timedelta, after: datetime | None = None) -> datetime:
        """An instant less than `limit` of open time before now (and after `after`): a clock
        started then has not reached its first sweep instant yet."""
        now, rng = self.now, self.rng
        for _ in range(3):
            start = now - limit * (org.wall_ratio * rng.random())
            if org.schedule.elapsed(start, now) < limit and (after is None or start > after):
                return start
        age = min(limit * rng.random(), limit - ONE_US)  # open time never exceeds wall time
        return now - age

    def _assign_maybe(self, story: _Story, share: float, before: datetime) -> None:
        """Most tickets are picked up by an agent of the region's L1 team within minutes
        (always before `before`)."""
        if story.agent is None or self.rng.random() >= share:
            return
        start, rng = story.created_at, self.rng
        delay = min(timedelta(seconds=rng.uniform(5, 600)), (before - start) * rng.random())
        story.assign(start + delay)

    # -- the three kinds of tickets --

    def _open(self, ticket_id: int, reference: str) -> _Story:
        """New, open or pending; every running clock's next sweep instant lies ahead."""
        rng, now = self.rng, self.now
        for _ in range(20):
            org, channel, priority = self._draw()
            kind = rng.choices(OPEN_KINDS, cum_weights=OPEN_WEIGHTS)[0]
            if kind == "new" and channel == "phone":
                kind = "open"  # a call is a first response
            wants_workaround = org.target(priority, WORKAROUND) is not None and rng.random() < 0.5
            if kind == "new":
                limit = _min_limit(org, priority, (FIRST_RESPONSE, WORKAROUND, RESOLUTION))
                created = self._recent(org, limit)
            elif kind == "open":
                running = (RESOLUTION,) if wants_workaround else (WORKAROUND, RESOLUTION)
                created = self._recent(org, _min_limit(org, priority, running))
            else:
                created = now - timedelta(minutes=rng.uniform(10, 60 * 24 * 5))
            story = _Story(self, org, ticket_id, reference, channel, priority, created)
            self._assign_maybe(story, 0.5 if kind == "new" else 0.95, now)
            if kind != "new":
                t1 = created + (now - created) * rng.uniform(0.05, 0.5)
                if not story.responded:
                    story.respond(t1)
                last = t1
                if wants_workaround:
                    last = t1 + (now - t1) * rng.uniform(0.05, 0.5)
                    story.workaround(last)
                if kind == "pending":
                    story.change_status(
                        last + (now - last) * rng.uniform(0.1, 0.9), "pending", story.agent
                    )
                elif story.requester_user_id and rng.random() < 0.3:
                    limit = org.first_alert(priority, NEXT_RESPONSE)
                    asked = self._recent(org, limit, after=last) if limit else None
                    if asked and asked > last:
                        story.customer_writes(asked)
            if all(at > now for at in story.alert_instants()):
                return story
        raise LoadgenError(f"could not lay out an open ticket for {org.slug} {priority}")

    def _closed(self, ticket_id: int, reference: str) -> _Story:
        """Resolved or closed within the last weeks; response and resolution times are drawn in
        business time around their targets, now and then late."""
        rng, now = self.rng, self.now
        org, channel, priority = self._draw()
        schedule = org.schedule
        created = now - HISTORY * rng.random()

        def share(late: float) -> float:
            """Of the target: mostly well within it, about one in eight late."""
            return rng.uniform(1.02, late) if rng.random() < 0.12 else rng.uniform(0.05, 0.95)

        first, resolution = org.target(priority, FIRST_RESPONSE), org.target(priority, RESOLUTION)
        workaround = org.target(priority, WORKAROUND)
        for _ in range(12):
            responded = schedule.add(created, first * share(2.0))
            worked = (
                max(schedule.add(created, workaround * share(1.5)), responded)
                if workaround and rng.random() < 0.7
                else None
            )
            resolved = max(
                schedule.add(created, resolution * share(1.6)),
                (worked or responded) + timedelta(minutes=rng.uniform(1, 30)),
            )
            if resolved < now - MINUTE:
                break
            created -= (resolved - created) + timedelta(hours=rng.uniform(1, 48))
        else:
            raise LoadgenError(f"could not fit a resolved ticket for {org.slug} {priority}")
        story = _Story(self, org, ticket_id, reference, channel, priority, created)
        self._assign_maybe(story, 0.95, resolved)
        if not story.responded:
            story.respond(responded)
        if worked:
            story.workaround(worked)
        story.change_status(resolved, "resolved", story.agent)
        if rng.random() < 0.5:
            closed = resolved + min(timedelta(days=3), now - resolved) * rng.random()
            story.change_status(closed, "closed", None)
        return story

    def _due(self, ticket_id: int, reference: str) -> _Story:
        """An open ticket with exactly one clock whose next sweep instant passed within the last
        DUE_WINDOW (a warning threshold, or the due instant of a clock warned at every one), on
        which a sweep now records exactly one alert."""
        rng, now = self.rng, self.now
        if not self.due_orgs:
            raise LoadgenError(
                "--due-now needs an organisation whose calendar is open now; "
                "load organisation 1 is Enterprise (24x7)."
            )
        for _ in range(50):
            org, channel, priority = self._draw(self.due_orgs)
            clock = rng.choice((FIRST_RESPONSE, RESOLUTION))
            if clock == FIRST_RESPONSE and channel == "phone":
                channel = "web"
            target = org.target(priority, clock)
            level = rng.choice([*sorted(org.thresholds), 100])
            amount = target if level == 100 else target * level // 100
            crossing = now - DUE_WINDOW * rng.uniform(0.02, 0.98)
            created = _start_for(org.schedule, amount, crossing)
            story = _Story(self, org, ticket_id, reference, channel, priority, created)
            self._assign_maybe(story, 0.9, crossing)
            if clock == RESOLUTION and not story.responded:
                responded = created + (crossing - created) * rng.uniform(0.02, 0.3)
                story.sweeps_before(responded)
                story.respond(responded)
            story.sweeps_before(crossing)
            passed = [at for at in story.alert_instants() if at <= now]
            if len(passed) == 1 and now - DUE_WINDOW <= passed[0] < now:
                # A short target can cross two thresholds within the window: keep only clocks
                # on which a sweep now records exactly one alert.
                probe = replace(story.state, clocks=dict(story.state.clocks))
                alerts = [c for c in probe.sweep(now) if c.what in ("warned", "breached")]
                if len(alerts) == 1:
                    return story
        raise LoadgenError("could not lay out a ticket due for the sweep now")


def _min_limit(org: _Org, priority: str, clocks: Sequence[str]) -> timedelta:
    limits = [org.first_alert(priority, clock) for clock in clocks]
    return min(limit for limit in limits if limit is not None)


def _start_for(schedule: WorkingSchedule, amount: timedelta, crossing: datetime) -> datetime:
    """The latest start from which `amount` of open time is used up at or before `crossing`
    (the inverse of `schedule.add`, by bisection)."""
    high = crossing - amount
    if schedule.add(high, amount) <= crossing:
        return high  # open throughout, e.g. 24x7
    step = amount
    low = high - step
    while schedule.add(low, amount) > crossing:
        step *= 2
        low = high - step
    while high - low > ONE_US:
        middle = low + (high - low) // 2
        if schedule.add(middle, amount) <= crossing:
            low = middle
        else:
            high = middle
    return low


def _kinds(tickets: int, open_share: float, due_now: int) -> list[str]:
    """Which tickets are open, due or closed: evenly interleaved, exact counts."""
    open_total = round(tickets * open_share)
    if due_now > open_total:
        raise LoadgenError(f"--due-now {due_now} exceeds the {open_total} open tickets asked for.")
    kinds, opened = [], 0
    for i in range(tickets):
        if (i + 1) * open_total // tickets > i * open_total // tickets:
            due = (opened + 1) * due_now // open_total > opened * due_now // open_total
            kinds.append("due" if due else "open")
            opened += 1
        else:
            kinds.append("closed")
    return kinds


# --- The run -------------------------------------------------------------------------------------


def due_clocks(*, now: datetime, id_range: tuple[int, int] | None = None) -> int:
    """Clocks with an alert instant at or before `now` (one query per clock's partial index)."""
    tickets = Ticket.objects.all()
    if id_range is not None:
        tickets = tickets.filter(pk__range=id_range)
    return sum(tickets.filter(**{f"{clock}_alert_at__lte": now}).count() for clock in CLOCKS)


def database_size() -> int | None:
    """Bytes the database takes on disk (PostgreSQL or an SQLite file); None when unknown."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return cursor.fetchone()[0]
    name = connection.settings_dict["NAME"]
    path = Path(str(name))
    return path.stat().st_size if connection.vendor == "sqlite" and path.is_file() else None


# Worker processes (PostgreSQL, jobs > 1) are forked from the run: they inherit its generator
# (organisations, schedules, snapshot JSON) and open their own connections.
_worker: _Generator | None = None


def _worker_chunk(index: int, kinds: list[str]) -> _ChunkResult:
    return _worker.chunk(index, kinds)


def _chunks_run(
    *,
    orgs: int,
    now: datetime,
    seed: int,
    kinds: list[str],
    chunk_size: int,
    jobs: int,
) -> Iterator[_ChunkResult]:
    global _worker
    chunks = [
        (index, kinds[start : start + chunk_size])
        for index, start in enumerate(range(0, len(kinds), chunk_size))
    ]
    if not chunks:
        return
    generator = _Generator(
        organisations=_organisations_load(count=orgs, now=now), now=now, seed=seed
    )
    if jobs == 1 or len(chunks) == 1:
        for index, chunk in chunks:
            yield generator.chunk(index, chunk)
        return
    # Children must not share the parent's database connection: close it before forking, so
    # each child opens its own (and the parent reopens its own afterwards).
    connections.close_all()
    _worker = generator
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            futures = [pool.submit(_worker_chunk, index, chunk) for index, chunk in chunks]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        _worker = None


def loadgen(
    *,
    orgs: int,
    tickets: int,
    open_share: float = 0.3,
    seed: int = 1,
    due_now: int = 0,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    password: str | None = None,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> LoadReport:
    """Create the load organisations 1..`orgs` that are missing, then `tickets` tickets over
    them; returns the counts, the time taken and the clocks left due for the sweep.

    `open_share` of the tickets are open; `due_now` of those have one clock due for the sweep at
    `now`, and no other clock of the new tickets is. `progress` is called with the number of
    tickets of each chunk written. Users created get `password` (None: unusable passwords).
    `jobs` worker processes write chunks in parallel on PostgreSQL, each over its own
    connection (outside a transaction only).
    """
    if orgs < 1 or tickets < 0 or due_now < 0 or not 0 <= open_share <= 1:
        raise LoadgenError("Need orgs >= 1, tickets >= 0, due_now >= 0 and 0 <= open_share <= 1.")
    if jobs < 1 or chunk_size < 1:
        raise LoadgenError("Need jobs >= 1 and chunk_size >= 1.")
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # SQLite has one writer at a time anyway; workers could not see an open transaction's
        # rows. One process writes the same data (chunks do not depend on who writes them).
        jobs = 1
    kinds = _kinds(tickets, open_share, due_now)
    now = now or timezone.now()
    started = time.perf_counter()
    password_hash = make_password(password)  # once: hashing is slow by design
    with transaction.atomic(durable=True):
        seed_reference_data(
            password=password_hash, today=now.date(), report=SeedReport(created={}, logins=[])
        )
    staff_permissions_sync()
    created = organisations_ensure(count=orgs, now=now, password_hash=password_hash)
    report = LoadReport(organisations=orgs, organisations_created=created)
    tickets_started = time.perf_counter()
    first_id = last_id = None
    for result in _chunks_run(
        orgs=orgs, now=now, seed=seed, kinds=kinds, chunk_size=chunk_size, jobs=jobs
    ):
        report.tickets += result.tickets
        report.open_tickets += result.open_tickets
        report.messages += result.messages
        report.events += result.events
        report.calls += result.calls
        report.alerts += result.alerts
        report.database_seconds += result.database_seconds
        first_id = min(first_id or result.first_id, result.first_id)
        last_id = max(last_id or result.last_id, result.last_id)
        if progress:
            progress(result.tickets)
    report.ticket_seconds = time.perf_counter() - tickets_started
    if first_id is not None:
        report.due_clocks = due_clocks(now=now, id_range=(first_id, last_id))
    report.due_clocks_total = due_clocks(now=now)
    report.seconds = time.perf_counter() - started
    if report.due_clocks != due_now:
        raise LoadgenError(
            f"{report.due_clocks} clocks of the new tickets are due at {now:%H:%M:%S}, "
            f"not {due_now}; the tickets were written."
        )
    return report
