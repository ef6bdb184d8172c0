"""One chunk of tickets: who each ticket is, the story it shares, and its rows as COPY text.

Per ticket only the cheap draws happen here: organisation, channel, priority, kind of story and
variant (the `StoryKey`), agent, subject. The clock engine runs once per story key (`stories`),
and the story is compiled once into text with `%(slot)s` holes (`Template`): the ticket's clock
columns, its later messages, its events and alerts. A ticket's rows are then a few string
concatenations and one `%` format per table, appended to one buffer per table and chunk.
"""

from __future__ import annotations

import json
import random
import re
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from django.db import connection, transaction

from tickets.clock_store import CLOCK_FIELDS, clocks_store
from tickets.clocks import CLOCKS
from tickets.demo.world import CHANNEL_WEIGHTS, CHANNELS
from tickets.loadgen.organisations import STREAMING, LoadgenError, LoadOrg
from tickets.loadgen.stories import INBOUND, TICKET, Slot, StoryKey, Told, tell
from tickets.loadgen.writing import NULL, Ids, Table, copy_text, escape, write
from tickets.models import Message, PhoneCall, SLAAlert, Ticket, TicketEvent
from tickets.services import references_reserve

CHUNK_SIZE = 20_000  # tickets per transaction: memory stays flat, progress moves
CHANNEL_CUM_WEIGHTS = tuple(accumulate(CHANNEL_WEIGHTS))
# Kinds of open tickets: new, pending, and open (the rest).
OPEN_NEW_SHARE, OPEN_PENDING_SHARE = 0.4, 0.15
OPEN_FOLLOWUP_SHARE = 0.1  # of open tickets by a requester: they wrote again after the answer
CLOSED_FOLLOWUP_SHARE = 0.04  # of resolved tickets by a requester: a second exchange
CLOSED_PENDING_SHARE = 0.04  # ... a pending period their reply ended
# Variants per kind of story, for tickets not from a call and from one: tickets drawing the
# same snapshot, priority, kind and variant share one told story. This bounds the engine's work
# per process (at most 61 open, 26 closed and 22 due stories per snapshot and priority: 4,800
# for the 55 snapshots and priorities of the three tiers in five regions, told in ~1 s) while
# spreading instants, and the sweep's due instants, over enough values (3,700 distinct sweep
# instants, some 1,460 within the next hour).
STORY_VARIANTS = {
    "new": (24, 0),  # a call is a first response: never new
    "open": (16, 8),
    "open_followup": (4, 0),
    "pending": (6, 3),
    "closed": (16, 6),
    "closed_followup": (2, 0),
    "closed_pending": (2, 0),
    "due": (16, 6),
}
CLOCK_COLUMNS = (
    *(f"{name}_{part}" for name in CLOCKS for part in CLOCK_FIELDS),
    "next_response_started_at",
)
# Column layouts: per-ticket and per-organisation columns first, the story's after.
# fmt: off
TICKET_COLUMNS = (
    "id", "reference", "organisation_id", "requester_id", "region_id", "sla_contract_id",
    "sla_tier_id", "sla_calendar_id", "sla_calendar_version", "sla_targets",
    "sla_pause_statuses", "sla_paused_clocks", "sla_warning_thresholds", "sla_around_the_clock",
    "channel",
    "product_area", "subject", "team_id", "assignee_id",
    # from the story
    "priority", "status", "created_at", "updated_at", "resolved_at", "closed_at", *CLOCK_COLUMNS,
    "next_due_at", "last_customer_message_at", "root_cause_summary", "root_cause_detail",
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
TABLES = ("ticket", "message", "call", "alert", "event")  # the order they are written in
_dumps = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode
_INT_SLOT = re.compile(r'"@@i:(\w+)@@"')
_STR_SLOT = re.compile(r"@@s:(\w+)@@")
MESSAGE_SLOTS = tuple(f"m{k}" for k in range(64))
ALERT_SLOTS = tuple(f"a{k}" for k in range(64))


@dataclass(frozen=True, slots=True)
class Template:
    """A told story as COPY text: the same for every ticket sharing it, `%(slot)s` where a
    ticket's own values go (`%` formatting)."""

    tail: str  # the ticket row from `priority` on, with the line end
    tail_alert: str  # the same for a monitoring alert (its first message is not the customer's)
    created: str  # created_at, for the first message and a call
    call_started: str
    assigned: bool
    messages: str  # the rows of the messages after the first
    events: str
    alerts: str
    message_count: int  # after the first
    event_count: int
    alert_count: int


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk wrote, and where its time went."""

    tickets: int
    open_tickets: int
    messages: int
    events: int
    calls: int
    alerts: int
    stories: int  # stories this chunk told on the engine (the others were told already)
    first_id: int
    last_id: int
    generate_seconds: float  # drawing tickets, telling stories, building the text
    database_seconds: float  # COPY (or inserts) and the commit, with its deferred FK checks


class _OrgText:
    """An organisation's columns and texts, formatted once per run."""

    def __init__(self, org: LoadOrg, message_suffix: str, call_suffix: str) -> None:
        snapshot = org.snapshot
        common = (
            str(org.region_id),
            str(org.contract_id),
            str(org.tier_id),
            str(snapshot.calendar_id),
            str(snapshot.calendar_version),
            *(escape(value) for value in snapshot.json),
        )
        self.snapshot = snapshot.index
        self.due_ok = snapshot.due_ok
        self.priorities = snapshot.priorities
        self.priority_weights = snapshot.priority_weights
        self.head = "\t".join((str(org.pk), str(org.requester_id), *common))
        self.head_no_requester = "\t".join((str(org.pk), NULL, *common))
        self.slug = org.slug
        self.agents = tuple(str(agent) for agent in org.agents)
        self.customer = str(org.requester_user_id)
        self.team = str(org.team_id)
        self.region = str(org.region_id)
        self.contract = escape(_dumps(org.contract_reference)[1:-1])
        self.caller = escape(org.requester_name)
        # (area and subject columns, first message body before and after the number of users,
        # the agent's call summary)
        self.subjects = tuple(
            (
                f"{area}\t{escape(subject)}",
                escape(f"Hello support,\n\n{subject}. It affects "),
                escape(f" of our users. Could you look into it?\n\n{org.requester_name}"),
                escape(f"Caller reports: {subject}."),
            )
            for area, subject in org.subjects
        )
        self.alert_subjects = tuple(
            (f"{STREAMING}\t{escape(subject)}", escape(f"Monitoring detected: {subject[8:]}."))
            for subject in org.alert_subjects
        )
        self.message_suffix = message_suffix + "\n"
        self.call_suffix = call_suffix + "\n"


class _ClockColumns:
    """Stands in for a `Ticket` in `clocks_store`: the clock columns as plain attributes."""

    defaults = {c: Ticket._meta.get_field(c).get_default() for c in (*CLOCK_COLUMNS, "next_due_at")}

    def __init__(self) -> None:
        self.__dict__.update(self.defaults)


def _text(value: object) -> str:
    """A value of a told story as `%`-format text: slots become holes."""
    if isinstance(value, Slot):
        return f"%({value.name})s"
    if isinstance(value, tuple):  # text with slots in it
        return "".join(_text(part) for part in value)
    if isinstance(value, dict):
        return _json(value)
    return copy_text(value).replace("%", "%%")


def _slot_mark(value: object) -> str:
    if isinstance(value, Slot):
        return f"@@{'s' if value.quoted else 'i'}:{value.name}@@"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_dumps_marked = json.JSONEncoder(
    check_circular=False, separators=(",", ":"), default=_slot_mark
).encode


def _json(data: dict) -> str:
    text = escape(_dumps_marked(data)).replace("%", "%%")
    if "@@" in text:
        text = _STR_SLOT.sub(r"%(\1)s", _INT_SLOT.sub(r"%(\1)s", text))
    return text


def _rows(rows: list[tuple], suffix: str) -> str:
    suffix = suffix.replace("%", "%%") + "\n"
    return "".join("\t".join(_text(value) for value in row) + suffix for row in rows)


def compile_story(told: Told, tables: dict[str, Table]) -> Template:
    """A told story as the text of its rows, formatted once for every ticket sharing it."""
    clocks = _ClockColumns()
    clocks_store(clocks, told.state)
    tail = (
        told.key.priority,
        told.status,
        told.created_at,
        told.updated_at,
        told.resolved_at,
        told.closed_at,
        *(clocks.__dict__[column] for column in CLOCK_COLUMNS),
        clocks.next_due_at,
    )
    # The customer wrote the first message, unless it was a call or a monitoring alert.
    followed_up = [at for *_, kind, _channel, _body, at in told.messages if kind == "customer"]
    last_written = max(followed_up, default=None)
    first_written = None if told.key.phone else told.created_at
    last_written_first = max(filter(None, (first_written, last_written)), default=None)
    suffix = tables["ticket"].suffix + "\n"
    events = [
        (TICKET, kind, clock, actor, at, data) for kind, clock, actor, at, data in told.events
    ]
    messages = [
        (slot, TICKET, author, kind, "public", channel, body, "", "", "", at)
        for slot, author, kind, channel, body, at in told.messages
    ]
    alerts = [(slot, TICKET, *rest) for slot, *rest in told.alerts]
    root_cause = (told.root_cause_summary, told.root_cause_detail)
    return Template(
        tail="\t".join(copy_text(value) for value in (*tail, last_written_first, *root_cause))
        + suffix,
        tail_alert="\t".join(copy_text(value) for value in (*tail, last_written, *root_cause))
        + suffix,
        created=copy_text(told.created_at),
        call_started=copy_text(told.created_at),
        assigned=told.assigned,
        messages=_rows(messages, tables["message"].suffix),
        events=_rows(events, tables["event"].suffix),
        alerts=_rows(alerts, tables["alert"].suffix),
        message_count=len(messages),
        event_count=len(events),
        alert_count=len(alerts),
    )


def ticket_kinds(start: int, stop: int, *, tickets: int, open_total: int, due_now: int) -> list:
    """Which of the tickets start..stop-1 are open, due or closed: evenly interleaved over the
    run, exact counts (`open_total` open tickets, `due_now` of them due)."""
    kinds = []
    for i in range(start, stop):
        opened = i * open_total // tickets  # open tickets before this one
        if (i + 1) * open_total // tickets > opened:
            due = (opened + 1) * due_now // open_total > opened * due_now // open_total
            kinds.append("due" if due else "open")
        else:
            kinds.append("closed")
    return kinds


class Generator:
    """Generates and writes chunks of tickets; keeps the stories told so far (per process)."""

    def __init__(self, *, organisations: list[LoadOrg], now: datetime, seed: int) -> None:
        self.now = now
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - variety for test data, not secrecy
        self.tables = {
            "ticket": Table(Ticket, TICKET_COLUMNS, now),
            "message": Table(Message, MESSAGE_COLUMNS, now),
            "call": Table(PhoneCall, CALL_COLUMNS, now),
            "alert": Table(SLAAlert, ALERT_COLUMNS, now),
            "event": Table(TicketEvent, EVENT_COLUMNS, now),
        }
        self.ids = {name: Ids(self.tables[name].model) for name in TABLES if name != "event"}
        self.snapshots = {org.snapshot.index: org.snapshot for org in organisations}
        message_suffix, call_suffix = self.tables["message"].suffix, self.tables["call"].suffix
        self.orgs = [_OrgText(org, message_suffix, call_suffix) for org in organisations]
        self.due_orgs = [text for text in self.orgs if text.due_ok]
        self.templates: dict[tuple, Template] = {}  # by `StoryKey` as a plain tuple: cheaper
        self.durations = tuple(copy_text(timedelta(minutes=m)) for m in range(3, 26))

    def template(self, key: tuple) -> Template:
        """The story `key` (a `StoryKey` as a plain tuple), told and compiled on first use."""
        story_key = StoryKey(*key)
        told = tell(story_key, self.snapshots[story_key.snapshot], now=self.now, seed=self.seed)
        template = self.templates[key] = compile_story(told, self.tables)
        return template

    def chunk(self, index: int, kinds: list[str]) -> ChunkResult:
        """Generate and write one chunk of tickets (`kinds`: open, due or closed) in its own
        transaction. Its random draws depend only on the run's seed and `index`, and stories
        only on their key, so the data is the same whichever process writes which chunk."""
        started = time.perf_counter()
        told_before = len(self.templates)
        self.rng.seed(self.seed * 1_000_003 + index)
        drawn = self._draw(kinds)
        # The ticket numbers in a short transaction of their own: parallel workers would
        # otherwise queue on the counter row for a whole chunk. A failed chunk leaves a gap.
        with transaction.atomic(durable=True):
            references = references_reserve(count=len(kinds))
        with transaction.atomic(durable=True):
            if connection.vendor == "postgresql":
                # A bulk load: losing the last chunks in a crash is fine (the run failed then
                # anyway), waiting for the WAL flush at each commit is not needed.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for ids in self.ids.values():
                ids.chunk_begin()
            ticket_ids = self.ids["ticket"].take(len(kinds))
            buffers, counts = self._rows(drawn, ticket_ids, references)
            writing = time.perf_counter()
            for name in TABLES:
                write(self.tables[name], buffers[name])
        # Foreign keys are checked at commit (they are deferred), so the commit is part of it.
        finished = time.perf_counter()
        return ChunkResult(
            tickets=len(kinds),
            open_tickets=sum(1 for kind in kinds if kind != "closed"),
            messages=counts["message"],
            events=counts["event"],
            calls=counts["call"],
            alerts=counts["alert"],
            stories=len(self.templates) - told_before,
            first_id=ticket_ids[0],
            last_id=ticket_ids[-1],
            generate_seconds=writing - started,
            database_seconds=finished - writing,
        )

    def _draw(self, kinds: list[str]) -> list[tuple]:
        """Who each ticket is and which story it shares: (template, organisation, channel,
        agent, subject, number of users affected)."""
        rnd = self.rng.random
        orgs, due_orgs, templates = self.orgs, self.due_orgs, self.templates
        if not due_orgs and "due" in kinds:
            raise LoadgenError(
                "--due-now needs an organisation whose calendar is open now; "
                "load organisation 1 is Enterprise (24x7)."
            )
        channel_weights = CHANNEL_CUM_WEIGHTS
        channel_total = channel_weights[-1]
        variants = STORY_VARIANTS
        drawn = []
        append = drawn.append
        for kind in kinds:
            if kind == "due":
                org = due_orgs[int(rnd() * len(due_orgs))]
            else:
                org = orgs[int(rnd() * len(orgs))]
            channel = CHANNELS[bisect_right(channel_weights, rnd() * channel_total)]
            weights = org.priority_weights
            priority = org.priorities[bisect_right(weights, rnd() * weights[-1])]
            phone = channel == "phone"
            if kind == "open":
                share = rnd()
                if share < OPEN_NEW_SHARE:
                    story = "open" if phone else "new"  # a call is a first response
                elif share < OPEN_NEW_SHARE + OPEN_PENDING_SHARE:
                    story = "pending"
                elif not phone and channel != "alert" and rnd() < OPEN_FOLLOWUP_SHARE:
                    story = "open_followup"
                else:
                    story = "open"
            elif kind == "closed":
                story = "closed"
                if not phone and channel != "alert":
                    share = rnd()
                    if share < CLOSED_FOLLOWUP_SHARE:
                        story = "closed_followup"
                    elif share < CLOSED_FOLLOWUP_SHARE + CLOSED_PENDING_SHARE:
                        story = "closed_pending"
            else:
                story = "due"
            key = (org.snapshot, priority, story, phone, int(rnd() * variants[story][phone]))
            template = templates.get(key) or self.template(key)
            agent = org.agents[int(rnd() * len(org.agents))]
            if channel == "alert":
                subject = org.alert_subjects[int(rnd() * len(org.alert_subjects))]
            else:
                subject = org.subjects[int(rnd() * len(org.subjects))]
            append((template, org, channel, agent, subject, 2 + int(rnd() * 399)))
        return drawn

    def _rows(
        self, drawn: list[tuple], ticket_ids, references: list[str]
    ) -> tuple[dict[str, str], dict[str, int]]:
        """Every row of the chunk as COPY text, one buffer per table."""
        counts = {
            "message": sum(template.message_count + 1 for template, *_ in drawn),
            "call": sum(1 for _, _, channel, *_ in drawn if channel == "phone"),
            "alert": sum(template.alert_count for template, *_ in drawn),
            "event": sum(template.event_count for template, *_ in drawn),
        }
        message_ids = iter(self.ids["message"].take(counts["message"]))
        call_ids = iter(self.ids["call"].take(counts["call"]))
        alert_ids = iter(self.ids["alert"].take(counts["alert"]))
        rnd = self.rng.random
        durations = self.durations
        tickets, messages, calls, alerts, events = [], [], [], [], []
        for (template, org, channel, agent, subject, users), ticket_id, reference in zip(
            drawn, ticket_ids, references, strict=True
        ):
            first = next(message_ids)
            created = template.created
            values = {
                "t": ticket_id,
                "ref": reference,
                "agent": agent,
                "cust": org.customer,
                "team": org.team,
                "region": org.region,
                "con": org.contract,
                "ch": channel,
                "fch": "email" if channel == "email" else "web",
                "m0": first,
            }
            for k in range(1, template.message_count + 1):
                values[MESSAGE_SLOTS[k]] = next(message_ids)
            for k in range(template.alert_count):
                values[ALERT_SLOTS[k]] = next(alert_ids)
            assignment = f"{org.team}\t{agent}" if template.assigned else "\\N\t\\N"
            if channel == "alert":
                head, body = subject
                tickets.append(
                    f"{ticket_id}\t{reference}\t{org.head_no_requester}\talert\t{head}\t"
                    f"{assignment}\t{template.tail_alert}"
                )
                messages.append(
                    f"{first}\t{ticket_id}\t\\N\tsystem\tpublic\talert\t{body}\t\t\t\t{created}"
                    f"{org.message_suffix}"
                )
            else:
                head, before, after, summary = subject
                tickets.append(
                    f"{ticket_id}\t{reference}\t{org.head}\t{channel}\t{head}\t{assignment}\t"
                    f"{template.tail}"
                )
                if channel == "phone":
                    call = values["c0"] = next(call_ids)
                    messages.append(
                        f"{first}\t{ticket_id}\t{agent}\tagent\tpublic\tphone\t{summary}\t\t\t\t"
                        f"{created}{org.message_suffix}"
                    )
                    calls.append(
                        f"{call}\t{ticket_id}\t{first}\t{agent}\t{org.caller}\t"
                        f"+{10**10 + int(rnd() * 9 * 10**10)}\t{INBOUND}\t{template.call_started}"
                        f"\t{durations[int(rnd() * len(durations))]}\t{summary}\t{created}"
                        f"{org.call_suffix}"
                    )
                else:
                    email = (
                        f"<{reference.lower()}@{org.slug}.example>" if channel == "email" else ""
                    )
                    messages.append(
                        f"{first}\t{ticket_id}\t{org.customer}\tcustomer\tpublic\t{channel}\t"
                        f"{before}{users}{after}\t\t{email}\t\t{created}{org.message_suffix}"
                    )
            if template.message_count:
                messages.append(template.messages % values)
            if template.alert_count:
                alerts.append(template.alerts % values)
            events.append(template.events % values)
        buffers = {
            "ticket": "".join(tickets),
            "message": "".join(messages),
            "call": "".join(calls),
            "alert": "".join(alerts),
            "event": "".join(events),
        }
        return buffers, counts
