"""Benchmark of the email channel's way in, `tickets.channels.email.ingest`, on PostgreSQL.

Generates `--messages` RFC 5322 messages from the senders of a `loadgen` database (60% new
tickets, half from known members and half from new people at the organisations' email domains;
40% replies to open tickets, half threaded by In-Reply-To to a Message-ID stored on the ticket,
half by the `[MRD-000123]` token of the subject; about 2% with a small .log or .png attached),
ingests them one by one in this process as the pipe command does, and prints the data size,
messages per second overall and per kind, SQL queries per message and the median and 95th
percentile milliseconds. Target: at least 300 messages a second in one process.

    createdb -h 127.0.0.1 -U postgres meridian_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meridian_bench SECRET_KEY=bench \\
        .venv/bin/python bench/email_ingest.py --tickets 200000

Tickets already in the database are reused; only what is missing is generated (loadgen). The
ingested messages stay in the database (new tickets, replies, requesters, inbound and outbound
email rows); every run uses Message-IDs and sender addresses of its own, so runs do not
deduplicate each other. No broker is reached: Celery's `send_task`, which the services call on
commit to hand the queued customer emails to the sender task, is replaced by a counter.

`--stages` times the stages of ingestion (parsing, reply stripping, look-ups, `ticket_open`,
`ticket_reply`, ...) with the SQL and commit time spent inside each; `--explain` prints the plan
of every read ingestion issues; `--floor` measures what the parts cost alone on this database
(a round trip, a commit, a bare `ticket_open` and `ticket_reply`, parsing, reply stripping).
"""

import argparse
import base64
import importlib
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_QUEUE", "meridian-bench")
os.environ.setdefault("EMAIL_URL", "dummymail://")
os.environ.setdefault("MEDIA_ROOT", "/tmp/meridian-bench-media")  # noqa: S108

import django  # noqa: E402

django.setup()

from celery import current_app  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from portal.models import EmailDomain, Member  # noqa: E402
from tickets.channels.email import ingest  # noqa: E402
from tickets.channels.email.parse import parse_email  # noqa: E402
from tickets.channels.email.reply_text import reply_text  # noqa: E402
from tickets.demo.seeding import seed_world  # noqa: E402
from tickets.loadgen import database_size, loadgen  # noqa: E402
from tickets.models import InboundEmail, Message, Ticket  # noqa: E402
from tickets.services import ticket_open, ticket_reply  # noqa: E402

# The modules themselves (the package `tickets.channels.email` exports a function `ingest`).
ingest_module = importlib.import_module("tickets.channels.email.ingest")
creation_module = importlib.import_module("tickets.services.creation")
history_module = importlib.import_module("tickets.services.history")
lifecycle_module = importlib.import_module("tickets.services.lifecycle")

KINDS = {
    "new-member": "new ticket, member",
    "new-domain": "new ticket, domain",
    "reply-header": "reply, In-Reply-To",
    "reply-token": "reply, subject token",
}
EXPECTED = {
    "new-member": "ticket",
    "new-domain": "ticket",
    "reply-header": "message",
    "reply-token": "message",
}
OPEN = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]
SUBJECTS = [
    "Stream stalls after ad break",
    "Encoder keeps dropping frames on channel {n}",
    "Login to the dashboard fails with error 500",
    "Subtitles out of sync on VOD asset {n}",
    "Invoice for last month shows the wrong tier",
    "CDN returns 403 for the EU edge since this morning",
    "Latency above 8 s on the live channel",
    "Playback fails on Smart TVs (HLS manifest error)",
    "Request: add a second email domain to our account",
    "API token rejected after rotation",
]
SENTENCES = [
    "Since about {h}:{m:02d} UTC our viewers report that the stream stops for several seconds.",
    "We restarted the encoder twice, the problem came back within ten minutes.",
    "The player console shows repeated 404s for the segments of the 1080p rendition.",
    "This affects roughly {p}% of our sessions according to our analytics.",
    "Could you please check the origin logs for our account and let us know?",
    "Nothing changed on our side since the deployment last Tuesday.",
    "Please treat this as urgent, we have a major event tonight.",
    "I attached the relevant excerpt of the player log where it helps.",
    "Our reference for this incident is INC-{n}.",
    "The issue is reproducible in Chrome and Safari, not in Firefox.",
]


@dataclass(frozen=True)
class Mail:
    kind: str
    raw: bytes
    attached: bool


def body_text(rng: random.Random, sentences: int) -> str:
    chosen = [
        rng.choice(SENTENCES).format(
            h=rng.randrange(24), m=rng.randrange(60), p=rng.randrange(2, 40), n=rng.randrange(10**5)
        )
        for _ in range(sentences)
    ]
    return "Hello,\n\n" + "\n".join(chosen) + "\n\nThanks,\n"


def quoted(rng: random.Random, when: str) -> str:
    history = body_text(rng, rng.randint(3, 8))
    lines = "\n".join("> " + line for line in history.splitlines())
    return f"\n\nOn {when}, Meridian Support <support@meridian.example> wrote:\n{lines}\n"


def attachment(rng: random.Random) -> tuple[bytes, str, str, str]:
    if rng.random() < 0.5:
        lines = [
            f"2026-12-04T10:{i // 60:02d}:{i % 60:02d}Z player WARN segment {rng.randrange(10**6)} "
            f"stalled after {rng.randrange(100, 9000)} ms"
            for i in range(rng.randint(40, 120))
        ]
        return ("\n".join(lines) + "\n").encode(), "text", "plain", "player.log"
    data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(2000, 6000))
    return data, "image", "png", "screenshot.png"


def build_mail(
    rng: random.Random,
    *,
    kind: str,
    number: int,
    run: str,
    sender: str,
    name: str,
    subject: str,
    in_reply_to: str = "",
    attached: bool = False,
) -> Mail:
    domain = sender.rpartition("@")[2]
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = "Meridian Support <support@meridian.example>"
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = f"<bench.{run}.{number}@{domain}>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    text = body_text(rng, rng.randint(2, 6)) + name.split()[0] + "\n"
    if kind.startswith("reply"):
        text += quoted(rng, "Thu, 3 Dec 2026 at 16:20")
    text += (
        f"\n-- \n{name}\nStreaming operations, {domain}\n+49 30 1234 {rng.randrange(10**4):04d}\n"
    )
    message.set_content(text)
    if rng.random() < 0.5:  # mail clients send an HTML alternative half of the time
        paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
        message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    if attached:
        data, maintype, subtype, filename = attachment(rng)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return Mail(kind, message.as_bytes(), attached)


def mixed_case(rng: random.Random, address: str) -> str:
    """Half the senders write their address with capitals (`iexact` has to find them)."""
    local, _, domain = address.partition("@")
    if rng.random() < 0.5:
        local = ".".join(part.capitalize() for part in local.split("."))
    return f"{local}@{domain}"


def generate(args, run: str) -> tuple[list[Mail], dict]:
    """The messages, from the senders and open tickets of the database."""
    rng = random.Random(args.seed)
    members = list(
        Member.objects.filter(user__is_active=True, email_bouncing_since__isnull=True)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", "user__first_name", "user__last_name")
    )
    domains = list(EmailDomain.objects.order_by("pk").values_list("domain", flat=True))
    by_token = list(
        Ticket.objects.filter(
            status__in=OPEN, requester__isnull=False, requester__user__is_active=True
        )
        .order_by()
        .values_list("reference", "subject", "requester__user__email")
    )
    by_header = list(
        Message.objects.filter(
            ticket__status__in=OPEN,
            ticket__requester__isnull=False,
            ticket__requester__user__is_active=True,
        )
        .exclude(email_message_id="")
        .order_by()
        .values_list("email_message_id", "ticket__subject", "ticket__requester__user__email")
    )
    if not (members and domains and by_token and by_header):
        sys.exit("the database has no members, email domains or open tickets with email messages")
    by_token.sort()
    by_header.sort()
    count = args.messages
    kinds = (
        ["new-member"] * round(count * 0.3)
        + ["new-domain"] * round(count * 0.3)
        + ["reply-header"] * round(count * 0.2)
    )
    kinds += ["reply-token"] * (count - len(kinds))
    rng.shuffle(kinds)
    # New people at the domains: each address writes about three times, the first creates them.
    people = [
        (f"person{k}.{run}@{rng.choice(domains)}", f"Person {k}")
        for k in range(max(count * 3 // 10 // 3, 1))
    ]
    mails = []
    for number, kind in enumerate(tqdm(kinds, desc="generating", unit="msg", leave=False)):
        attached = rng.random() < args.attachments
        if kind == "new-member":
            email, first, last = rng.choice(members)
            name = f"{first} {last}".strip() or email.partition("@")[0]
            sender, subject = mixed_case(rng, email), rng.choice(SUBJECTS)
            in_reply_to = ""
        elif kind == "new-domain":
            sender, name = rng.choice(people)
            subject, in_reply_to = rng.choice(SUBJECTS), ""
        elif kind == "reply-header":
            in_reply_to, subject, sender = rng.choice(by_header)
            sender, name, subject = mixed_case(rng, sender), "Customer Contact", f"Re: {subject}"
        else:
            reference, subject, sender = rng.choice(by_token)
            sender, name = mixed_case(rng, sender), "Customer Contact"
            subject, in_reply_to = f"Re: [{reference}] {subject}", ""
        mails.append(
            build_mail(
                rng,
                kind=kind,
                number=number,
                run=run,
                sender=sender,
                name=name,
                subject=subject.format(n=rng.randrange(100)),
                in_reply_to=in_reply_to,
                attached=attached,
            )
        )
    pools = {
        "members": len(members),
        "domains": len(domains),
        "people": len(people),
        "by_token": len(by_token),
        "by_header": len(by_header),
    }
    return mails, pools


class Counters:
    """SQL statements (every `execute`, savepoints included) and commits of the connection,
    with their time; and the tasks handed to Celery."""

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        self.sql_seconds = 0.0
        self.commit_seconds = 0.0
        self.tasks = 0
        self.stage: Stages | None = None

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            self.statements += 1
            self.sql_seconds += spent
            if self.stage is not None:
                self.stage.sql(spent)

    def install(self) -> None:
        connection.ensure_connection()
        commit = connection._commit

        def timed_commit():
            started = time.perf_counter()
            try:
                return commit()
            finally:
                spent = time.perf_counter() - started
                self.commits += 1
                self.commit_seconds += spent
                if self.stage is not None:
                    self.stage.commit(spent)

        connection._commit = timed_commit

        def send_task(name, args=None, kwargs=None, **options):
            self.tasks += 1

        current_app._get_current_object().send_task = send_task

    def snapshot(self) -> tuple[int, int, float, float]:
        return self.statements, self.commits, self.sql_seconds, self.commit_seconds


class Stages:
    """Wall, SQL and commit time of named functions, each net of the stages nested in it."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.wall: Counter = Counter()
        self.sql_time: Counter = Counter()
        self.commit_time: Counter = Counter()
        self.calls: Counter = Counter()

    def sql(self, seconds: float) -> None:
        self.sql_time[self.stack[-1] if self.stack else "ingest (rest)"] += seconds

    def commit(self, seconds: float) -> None:
        self.commit_time[self.stack[-1] if self.stack else "ingest (rest)"] += seconds

    def wrap(self, module, attribute: str, label: str) -> None:
        function = getattr(module, attribute)

        def timed(*args, **kwargs):
            self.stack.append(label)
            self.calls[label] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                self.stack.pop()
                self.wall[label] += spent
                if self.stack:
                    self.wall[self.stack[-1]] -= spent

        setattr(module, attribute, timed)

    def install(self) -> None:
        m = ingest_module
        for attribute, label in [
            ("parse_email", "parse_email"),
            ("_claim", "_claim (InboundEmail insert)"),
            ("_is_our_own", "_is_our_own (OutboundEmail look-up)"),
            ("_member_of", "_member_of (Member by email)"),
            ("_domain_organisation", "_domain_organisation"),
            ("_thread", "_thread (Message/Outbound/Ticket)"),
            ("member_from_email", "member_from_email (new requester)"),
            ("reply_text", "reply_text (quote stripping)"),
            ("ticket_open", "ticket_open"),
            ("ticket_reply", "ticket_reply"),
            ("_finish", "_finish (InboundEmail update)"),
            ("SimpleUploadedFile", "attachment files"),
        ]:
            self.wrap(m, attribute, label)
        for module in (creation_module, lifecycle_module):
            self.wrap(module, "sanitise_html", "sanitise_html (nh3)")
        self.wrap(creation_module, "sla_terms_for", "sla_terms_for (contract)")
        self.wrap(creation_module, "calendar_version_snapshot", "calendar_version_snapshot")
        self.wrap(creation_module, "references_reserve", "references_reserve")
        self.wrap(creation_module, "attachments_store", "attachments_store")
        self.wrap(lifecycle_module, "attachments_store", "attachments_store")
        self.wrap(lifecycle_module, "ticket_lock", "ticket_lock (SELECT FOR UPDATE)")
        self.wrap(history_module, "customer_mail_queue", "customer_mail_queue (outbox)")
        self.wrap(history_module, "alerts_raise", "alerts_raise")
        self.wrap(creation_module.Clocks, "start", "Clocks.start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def explain(mails: list[Mail]) -> list[Mail]:
    """The plans of the reads of one message of each kind (ingested for real); the messages
    left."""
    shown: set[str] = set()
    scans: list[str] = []
    used: set[int] = set()
    print("plans of the reads of one message of each kind (EXPLAIN ANALYZE, literal parameters):")
    for index, mail in enumerate(mails):
        if mail.kind in {mails[i].kind for i in used}:
            continue
        used.add(index)
        with CaptureQueriesContext(connection) as queries:
            ingest(mail.raw)
        for query in queries.captured_queries:
            sql = query["sql"] or ""
            if not sql.startswith("SELECT") or "FOR UPDATE" in sql:
                continue
            shape = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
            if shape in shown:
                continue
            shown.add(shape)
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            tables = sorted(
                {
                    name
                    for pair in re.findall(r'FROM "(\w+)"|JOIN "(\w+)"', sql)
                    for name in pair
                    if name
                }
            )
            print(f"  [{KINDS[mail.kind]}] {', '.join(tables)}: {sql[:200]}")
            for line in plan:
                print(f"      {line}")
            scans += [line.strip() for line in plan if "Seq Scan" in line]
        if len(used) == len(KINDS):
            break
    print(f"  {len(shown)} distinct reads; sequential scans: {'; '.join(scans) or 'none'}")
    return [mail for index, mail in enumerate(mails) if index not in used]


def generic_plans() -> None:
    """Statements are prepared after five runs (`prepare_threshold`); show the generic plans
    PostgreSQL may switch to for the threading and sender look-ups."""
    statements = {
        "Message by email_message_id IN ($1)": (
            'SELECT "tickets_message"."ticket_id" FROM "tickets_message" '
            'WHERE "tickets_message"."email_message_id" IN ($1) '
            'ORDER BY "tickets_message"."created_at" ASC, "tickets_message"."id" ASC LIMIT 1'
        ),
        "member by UPPER(email) = UPPER($1)": (
            'SELECT "portal_member"."id" FROM "portal_member" INNER JOIN "auth_user" '
            'ON ("portal_member"."user_id" = "auth_user"."id") '
            'WHERE (UPPER("auth_user"."email"::text) = UPPER($1) AND "auth_user"."is_active") '
            'ORDER BY "portal_member"."id" ASC LIMIT 1'
        ),
    }
    print(
        "generic plans (plan_cache_mode = force_generic_plan), what a prepared statement can use:"
    )
    with connection.cursor() as cursor:
        for number, (label, sql) in enumerate(statements.items()):
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute(f"PREPARE bench_generic_{number}(text) AS {sql}")
            cursor.execute(f"EXPLAIN EXECUTE bench_generic_{number}('<x@y>')")
            plan = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"DEALLOCATE bench_generic_{number}")
            cursor.execute("RESET plan_cache_mode")
            print(f"  {label}:")
            for line in plan:
                print(f"      {line}")


def timed(operation: Callable[[int], object], count: int) -> float:
    """Milliseconds per call, median of five rounds of `count // 5` calls, after a warm-up."""
    for n in range(5):
        operation(-1 - n)
    rounds = []
    step = max(count // 5, 1)
    for r in range(5):
        started = time.perf_counter()
        for n in range(step):
            operation(r * step + n)
        rounds.append((time.perf_counter() - started) / step)
    return statistics.median(rounds) * 1000


def floor(mails: list[Mail], run: str, count: int) -> None:
    """What the parts of ingestion cost alone, here."""
    member = (
        Member.objects.select_related("user", "organisation")
        .filter(organisation__slug="load-000001", user__is_active=True)
        .order_by("pk")
        .first()
    )
    ticket = (
        Ticket.objects.select_related("organisation")
        .filter(organisation=member.organisation, status=Ticket.Status.OPEN)
        .order_by("-pk")
        .first()
    )
    cursor = connection.cursor()
    texts = [parse_email(mail.raw).text for mail in mails if mail.kind.startswith("reply")]
    raws = [mail.raw for mail in mails]

    def round_trip(n: int) -> None:
        cursor.execute("SELECT 1")
        cursor.fetchone()

    def commit_one_row(n: int, synchronous: bool = True) -> None:
        # Writes a new version of the counter's row (same value): the commit flushes the WAL.
        with transaction.atomic():
            if not synchronous:
                cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                "UPDATE tickets_referencecounter SET value = value WHERE name = 'ticket'"
            )

    def commit_unflushed(n: int) -> None:
        commit_one_row(n, synchronous=False)

    def bare_open(n: int) -> None:
        ticket_open(
            organisation=member.organisation,
            requester=member,
            channel=Ticket.Channel.EMAIL,
            subject="Stream stalls after ad break",
            body_text="Since this morning the stream stops.\n\nThanks,\n",
            email_message_id=f"<bench.{run}.floor-open.{n}@load-000001.example>",
            now=timezone.now(),
        )

    def bare_reply(n: int) -> None:
        ticket_reply(
            ticket=ticket,
            author=member.user,
            body_text="More details: it happened again at 10:20.",
            channel=Ticket.Channel.EMAIL,
            email_message_id=f"<bench.{run}.floor-reply.{n}@load-000001.example>",
            now=timezone.now(),
        )

    def parse(n: int) -> None:
        parse_email(raws[n % len(raws)])

    def strip(n: int) -> None:
        reply_text(texts[n % len(texts)])

    print("floor (ms per call, median of 5 rounds):")
    for label, operation, calls in [
        ("database round trip (SELECT 1)", round_trip, count),
        ("a transaction with one UPDATE, committed", commit_one_row, count),
        ("the same, synchronous_commit off (no WAL flush)", commit_unflushed, count),
        ("parse_email (the bench's messages)", parse, count),
        ("reply_text (the bench's replies)", strip, count),
        ("bare ticket_open (member known, no parsing)", bare_open, count),
        ("bare ticket_reply (ticket read, no parsing)", bare_reply, count),
    ]:
        print(f"  {label:<48} {timed(operation, calls):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="Messages to ingest.")
    parser.add_argument(
        "--tickets", type=int, default=200_000, help="Tickets the database should hold."
    )
    parser.add_argument("--orgs", type=int, default=200, help="Load organisations (loadgen).")
    parser.add_argument("--jobs", type=int, default=2, help="loadgen processes.")
    parser.add_argument("--attachments", type=float, default=0.02, help="Share with a file.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed of the messages.")
    parser.add_argument("--stages", action="store_true", help="Time the stages of ingestion.")
    parser.add_argument("--explain", action="store_true", help="Plans of ingestion's reads.")
    parser.add_argument(
        "--floor", action="store_true", help="What the parts cost alone (see above)."
    )
    parser.add_argument("--floor-count", type=int, default=500, help="Calls per floor item.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/email_ingest.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    seed_world(now=timezone.now(), password=None)
    missing = args.tickets - Ticket.objects.count()
    if missing > 0:
        with tqdm(total=missing, desc="loadgen", unit="ticket") as bar:
            loadgen(orgs=args.orgs, tickets=missing, jobs=args.jobs, progress=bar.update)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    run = base64.b32encode(os.urandom(5)).decode().lower()
    mails, pools = generate(args, run)
    size = database_size()
    open_tickets = Ticket.objects.filter(status__in=OPEN).count()
    print(
        f"data: {Ticket.objects.count():,} tickets ({open_tickets:,} open), "
        f"{Message.objects.count():,} messages, "
        f"{InboundEmail.objects.count():,} inbound emails"
        + (f", database {size / 2**30:.2f} GiB" if size else "")
    )
    print(
        f"senders: {pools['members']:,} members, {pools['domains']:,} email domains "
        f"({pools['people']:,} new people at them); replies to {pools['by_token']:,} open tickets "
        f"by token, {pools['by_header']:,} stored Message-IDs of open tickets by In-Reply-To"
    )
    kinds = Counter(mail.kind for mail in mails)
    average = sum(len(mail.raw) for mail in mails) / len(mails)
    print(
        f"messages: {len(mails):,} ("
        + ", ".join(f"{kinds[kind]:,} {label}" for kind, label in KINDS.items())
        + f"; {sum(mail.attached for mail in mails):,} with an attachment), "
        f"{average / 1024:.1f} KB on average, run {run}"
    )

    counters = Counters()
    counters.install()
    connection.execute_wrappers.append(counters)
    stages = None
    if args.stages:
        stages = Stages()
        stages.install()
        counters.stage = stages
    if args.explain:
        mails = explain(mails)
        generic_plans()

    # Warm-up: the first messages pay for imports, caches and first plans.
    warm, mails = mails[:50], mails[50:]
    for mail in warm:
        ingest(mail.raw)
    if stages is not None:
        stages.__init__()
    seconds: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, list[int]] = defaultdict(list)
    outcomes: Counter = Counter()
    unexpected: Counter = Counter()
    before = counters.snapshot()
    tasks_before = counters.tasks
    users_before = Member.objects.count()
    began = time.perf_counter()
    for mail in tqdm(mails, desc="ingesting", unit="msg", leave=False):
        statements, commits = counters.statements, counters.commits
        started = time.perf_counter()
        result = ingest(mail.raw)
        seconds[mail.kind].append(time.perf_counter() - started)
        queries[mail.kind].append(counters.statements - statements + counters.commits - commits)
        outcomes[result.outcome] += 1
        if result.outcome != EXPECTED[mail.kind]:
            unexpected[(mail.kind, result.outcome, result.reason[:80])] += 1
    wall = time.perf_counter() - began
    after = counters.snapshot()
    total = len(mails)

    print(
        f"celery: send_task replaced by a counter, no broker reached; "
        f"{counters.tasks - tasks_before:,} tasks handed over"
    )
    print(f"{'kind':<22} {'count':>6} {'msgs/s':>7} {'median ms':>10} {'p95 ms':>7} {'queries':>8}")
    every = [s for kind in KINDS for s in seconds[kind]]
    for kind, label in [*KINDS.items(), ("all", "all")]:
        values = every if kind == "all" else seconds[kind]
        counts = [q for k in KINDS for q in queries[k]] if kind == "all" else queries[kind]
        if not values:
            continue
        print(
            f"{label:<22} {len(values):>6,} {len(values) / sum(values):>7.0f} "
            f"{statistics.median(values) * 1000:>10.2f} {percentile(values, 0.95) * 1000:>7.2f} "
            f"{statistics.mean(counts):>8.1f}"
        )
    print(
        f"overall: {total:,} messages in {wall:.1f} s, {total / wall:.0f} messages/s "
        "[target >= 300/s]; "
        f"SQL {(after[2] - before[2]) / total * 1000:.2f} ms and commits "
        f"{(after[3] - before[3]) / total * 1000:.2f} ms a message "
        f"({(after[0] - before[0]) / total:.1f} statements, {(after[1] - before[1]) / total:.1f}"
        " commits)"
    )
    print(
        "outcomes: "
        + ", ".join(f"{outcome} {n:,}" for outcome, n in outcomes.most_common())
        + f"; {Member.objects.count() - users_before:,} requesters created"
    )
    for (kind, outcome, reason), n in unexpected.most_common(5):
        print(f"  unexpected: {n:,} {kind} -> {outcome} ({reason})")
    if stages is not None:
        print("stages (ms per message; each net of the stages inside it; SQL and commit inside):")
        print(f"  {'stage':<40} {'calls':>6} {'wall':>7} {'SQL':>6} {'commit':>7} {'Python':>7}")
        python_total = wall
        for label, spent in stages.wall.most_common():
            sql = stages.sql_time[label]
            commit = stages.commit_time[label]
            python_total -= spent
            print(
                f"  {label:<40} {stages.calls[label]:>6,} {spent / total * 1000:>7.3f} "
                f"{sql / total * 1000:>6.3f} {commit / total * 1000:>7.3f} "
                f"{(spent - sql - commit) / total * 1000:>7.3f}"
            )
        rest_sql = stages.sql_time["ingest (rest)"]
        print(
            f"  {'ingest itself and the bench loop':<40} {'':>6} "
            f"{python_total / total * 1000:>7.3f} {rest_sql / total * 1000:>6.3f}"
        )
    if args.floor:
        counters.stage = None
        floor(mails, run, args.floor_count)


if __name__ == "__main__":
    main()
