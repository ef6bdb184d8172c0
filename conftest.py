"""The test cast: two customer organisations in two regions, their people, agents, tiers.

- Acme Streaming (Berlin, Enterprise 24x7): `org_admin_a` (admin), `requester_a`, `colleague_a`.
- Globex Voice (Singapore, Standard business hours): `requester_b`.
- Agents: `agent_ber` and `lead_ber` (Berlin L1), `agent_sg` (Singapore L1), `l2_ber` (Berlin L2);
  `account_manager`; `superuser`.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.business_time import WEEKDAYS
from contracts.calendars import schedule_cache_clear
from contracts.models import BusinessCalendar, Contract, Priority, SLATarget, SLATier
from contracts.services import contract_create, contract_sign
from contracts.terms import terms_hash
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from tickets.demo.seeding import seed_world
from tickets.models import ReferenceCounter

User = get_user_model()
ROOT = Path(__file__).resolve().parent

MON_FRI_9_17 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploads go to a temporary folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def api_world(request, media, time_machine):
    """For API tests (`pytestmark = pytest.mark.usefixtures("api_world")`): uploads go to a
    temporary folder, the clock stands still at the test module's `NOW`, and the throttles'
    history (in the cache) starts and ends empty."""
    time_machine.move_to(request.module.NOW, tick=False)
    cache.clear()
    yield
    cache.clear()


def api_client(user, *, token: bool = False) -> APIClient:
    """An API client signed in as `user`: forced, or with a real token (`token=True`)."""
    client = APIClient()
    if token:
        key, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key.key}")
    else:
        client.force_authenticate(user)
    return client


def error_of(response, status: int, code: str) -> dict:
    """The error object of an API response, after checking it has the one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    return error


# --- Real processes: Celery workers and the development server ----------------------------------


def database_url() -> str:
    """The URL of the database this test runs on, for another process to use."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve().as_posix()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen


@pytest.fixture
def celery_worker(transactional_db, tmp_path, settings):
    """Start real `celery worker` processes on the configured broker, each on a queue of its
    own, against the test database: `celery_worker("--pool=solo")` returns a `Worker`. Each
    runs in a process group of its own (a test may kill it as a whole); all are stopped at the
    end, and what they said is printed (shown when the test fails). Region queues are off: the
    test's tasks all go to its worker's queue."""
    settings.CELERY_REGION_QUEUES = False
    workers: list[Worker] = []

    def start(*options: str, queue: str | None = None, env: dict | None = None) -> Worker:
        queue = queue or f"test-{uuid.uuid4().hex[:12]}"
        log = (tmp_path / f"worker-{len(workers)}.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                *(options or ("--pool=solo",)),
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={queue}-{uuid.uuid4().hex[:4]}@%h",
                "-Q",
                queue,
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "CELERY_QUEUE": queue,
                **(env or {}),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append(Worker(queue, process))
        return workers[-1]

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGTERM)
            try:
                worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait()
    for log in sorted(tmp_path.glob("worker-*.log")):
        print(log.read_text()[-20_000:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dev_server_running(django_db_blocker: Any, folder: Path) -> Iterator[str]:
    """The server `make run` starts (`manage.py runserver`, Django's development server), in a
    process of its own on the test database, its files in `folder`; its base URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    with django_db_blocker.unblock():
        url = database_url()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": url,
            "MEDIA_ROOT": str(folder / "media"),
            "MERIDIAN_VAR_DIR": str(folder / "var"),
            "AXES_ENABLED": "false",
            # Messages a write enqueues must never reach a development worker.
            "CELERY_QUEUE": f"test-dev-server-{uuid.uuid4().hex[:8]}",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(
                    "the development server did not start:\n" + (folder / "server.log").read_text()
                )
            time.sleep(0.2)
    try:
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def dev_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """The development server for the session's browser tests; its base URL. Tests that use it
    need `transactional_db` so that the server sees their rows."""
    with dev_server_running(django_db_blocker, tmp_path_factory.mktemp("dev-server")) as base:
        yield base


@pytest.fixture
def fresh_dev_server(django_db_setup, django_db_blocker, tmp_path) -> Iterator[str]:
    """A development server of the test's own, for a test that writes through the admin on a
    world of its own: the session's server caches content type ids, which the flush between
    transactional tests renumbers."""
    with dev_server_running(django_db_blocker, tmp_path / "dev-server") as base:
        yield base


@pytest.fixture
def demo_world(db):
    """The demo's regions, calendars, teams, agents and tiers (what `loadgen` builds on)."""
    return seed_world(now=datetime(2026, 3, 1, tzinfo=UTC), password=None)


@pytest.fixture(autouse=True)
def _rows_from_migrations(request):
    """Transactional tests start from a flushed database, without the rows data migrations
    write (the 24x7 calendar, the ticket reference counter): put them back."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if transactional:
        request.getfixturevalue("transactional_db")
        BusinessCalendar.objects.get_or_create(
            code="24x7",
            defaults={
                "name": "24x7",
                "time_zone": "UTC",
                "weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS},
                "hours": BusinessCalendar.Hours.ALWAYS,
            },
        )
        ReferenceCounter.objects.get_or_create(name="ticket")


@pytest.fixture(autouse=True)
def _fresh_schedule_cache():
    # Rolled-back tests can hand the same calendar id to a different calendar.
    schedule_cache_clear()
    yield
    schedule_cache_clear()


def make_user(username: str, *, staff: bool = False, superuser: bool = False, **extra):
    first, _, last = extra.pop("full_name", username.split("@")[0].replace(".", " ")).partition(" ")
    return User.objects.create_user(
        username=username,
        email=extra.pop("email", username if "@" in username else f"{username}@meridian.test"),
        password="correct-horse-battery",
        first_name=first.title(),
        last_name=last.title(),
        is_staff=staff or superuser,
        is_superuser=superuser,
        **extra,
    )


def make_region(code: str, name: str, tz: str, country: str, subdivision: str = "") -> Region:
    region = Region.objects.create(code=code, name=name, time_zone=tz)
    BusinessCalendar.objects.create(
        code=f"{code}-business",
        name=f"{name} business hours",
        time_zone=tz,
        weekly=MON_FRI_9_17,
        holiday_country=country,
        holiday_subdivision=subdivision,
        region=region,
        hours=BusinessCalendar.Hours.BUSINESS,
    )
    for level in (Team.Level.L1, Team.Level.L2):
        Team.objects.create(region=region, level=level, name=f"{name} {level.upper()}")
    return region


def make_tier(
    code: str,
    coverage: str,
    targets: dict,
    fee: str = "1000.00",
    around_the_clock: dict | None = None,
) -> SLATier:
    """A tier with `targets` per priority: (first, next, workaround, resolution) minutes, or
    (first, next, workaround, root cause, resolution); `around_the_clock` per priority names the
    clocks counted every hour of the week."""
    tier = SLATier.objects.create(
        code=code, name=code.title(), monthly_fee=Decimal(fee), coverage=coverage
    )
    for priority, minutes in targets.items():
        if len(minutes) == 4:
            first, nxt, workaround, resolution = minutes
            root_cause = None
        else:
            first, nxt, workaround, root_cause, resolution = minutes
        SLATarget.objects.create(
            tier=tier,
            priority=priority,
            first_response_minutes=first,
            next_response_minutes=nxt,
            workaround_minutes=workaround,
            root_cause_minutes=root_cause,
            resolution_minutes=resolution,
            around_the_clock=list((around_the_clock or {}).get(priority, ())),
        )
    return tier


def make_agent(username: str, team: Team | None, role: str = Agent.Role.AGENT) -> Agent:
    tz = team.region.time_zone if team else "Europe/Paris"
    return Agent.objects.create(
        user=make_user(username, staff=True), team=team, role=role, time_zone=tz
    )


def make_member(
    email: str, organisation: Organisation, role: str = Member.Role.REQUESTER
) -> Member:
    return Member.objects.create(
        user=make_user(email),
        organisation=organisation,
        role=role,
        time_zone=organisation.home_region.time_zone,
    )


def sign_contract(
    organisation: Organisation, tier: SLATier, signer: Member, starts_on: date, reference: str
) -> Contract:
    contract = contract_create(
        organisation=organisation, tier=tier, starts_on=starts_on, reference=reference
    )
    return contract_sign(
        contract=contract,
        signer=signer.user,
        signed_name=signer.user.get_full_name(),
        consent=True,
        shown_terms_hash=terms_hash(contract.terms),
        now=datetime(2025, 12, 20, 10, 0, tzinfo=UTC),
        ip="198.51.100.7",
        user_agent="pytest",
    )


@pytest.fixture
def region_ber(db) -> Region:
    return make_region("ber", "Berlin", "Europe/Berlin", "DE", "BE")


@pytest.fixture
def region_sg(db) -> Region:
    return make_region("sg", "Singapore", "Asia/Singapore", "SG")


def four_promises(request: pytest.FixtureRequest) -> bool:
    """Is the test marked `four_promises`? Its tiers then promise as the demo's do: Enterprise
    the root cause in 2 hours and the fix in 48, Standard its P4 fix around the clock. The
    others keep the shorter targets their hand-worked instants were written for."""
    return request.node.get_closest_marker("four_promises") is not None


@pytest.fixture
def tier_enterprise(db, request) -> SLATier:
    if four_promises(request):
        # First response, next response, workaround, root cause, resolution.
        targets = {
            Priority.P1: (10, 30, 30, 120, 2880),
            Priority.P2: (30, 60, 120, 480, 1440),
            Priority.P3: (120, 240, None, None, 1440),
            Priority.P4: (480, 480, None, None, 4320),
        }
    else:
        targets = {
            Priority.P1: (10, 30, 30, 120),
            Priority.P2: (30, 60, 120, 480),
            Priority.P3: (120, 240, None, 1440),
            Priority.P4: (480, 480, None, 4320),
        }
    return make_tier("enterprise", SLATier.Coverage.ALWAYS, targets, fee="12000.00")


@pytest.fixture
def tier_standard(db, request) -> SLATier:
    return make_tier(
        "standard",
        SLATier.Coverage.BUSINESS,
        {
            Priority.P2: (120, 240, None, 2880),
            Priority.P3: (480, 480, None, 4800),
            Priority.P4: (960, 960, None, 9600),
        },
        fee="1500.00",
        # A question is answered in business hours, but done within 160 hours of the week.
        around_the_clock={Priority.P4: ["resolution"]} if four_promises(request) else None,
    )


@pytest.fixture
def account_manager(db) -> Agent:
    return make_agent("am.sophie", None, Agent.Role.ACCOUNT_MANAGER)


@pytest.fixture
def org_a(region_ber, account_manager) -> Organisation:
    organisation = Organisation.objects.create(
        name="Acme Streaming",
        slug="acme",
        home_region=region_ber,
        account_manager=account_manager.user,
    )
    EmailDomain.objects.create(organisation=organisation, domain="acme.test")
    return organisation


@pytest.fixture
def org_b(region_sg, account_manager) -> Organisation:
    organisation = Organisation.objects.create(
        name="Globex Voice",
        slug="globex",
        home_region=region_sg,
        account_manager=account_manager.user,
    )
    EmailDomain.objects.create(organisation=organisation, domain="globex.test")
    return organisation


@pytest.fixture
def org_admin_a(org_a) -> Member:
    return make_member("olga.admin@acme.test", org_a, Member.Role.ADMIN)


@pytest.fixture
def requester_a(org_a) -> Member:
    return make_member("rita.requester@acme.test", org_a)


@pytest.fixture
def colleague_a(org_a) -> Member:
    return make_member("carl.colleague@acme.test", org_a)


@pytest.fixture
def org_admin_b(org_b) -> Member:
    return make_member("bea.admin@globex.test", org_b, Member.Role.ADMIN)


@pytest.fixture
def requester_b(org_b) -> Member:
    return make_member("ravi.requester@globex.test", org_b)


@pytest.fixture
def contract_a(org_a, org_admin_a, tier_enterprise) -> Contract:
    return sign_contract(org_a, tier_enterprise, org_admin_a, date(2026, 1, 1), "CT-A-1")


@pytest.fixture
def contract_b(org_b, org_admin_b, tier_standard) -> Contract:
    return sign_contract(org_b, tier_standard, org_admin_b, date(2026, 1, 1), "CT-B-1")


@pytest.fixture
def agent_ber(region_ber) -> Agent:
    return make_agent("lena.agent", region_ber.teams.get(level=Team.Level.L1))


@pytest.fixture
def lead_ber(region_ber) -> Agent:
    return make_agent("jonas.lead", region_ber.teams.get(level=Team.Level.L1), Agent.Role.LEAD)


@pytest.fixture
def l2_ber(region_ber) -> Agent:
    return make_agent("max.l2", region_ber.teams.get(level=Team.Level.L2))


@pytest.fixture
def agent_sg(region_sg) -> Agent:
    return make_agent("mei.agent", region_sg.teams.get(level=Team.Level.L1))


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def cast(
    org_a,
    org_b,
    org_admin_a,
    requester_a,
    colleague_a,
    org_admin_b,
    requester_b,
    contract_a,
    contract_b,
    agent_ber,
    lead_ber,
    l2_ber,
    agent_sg,
    account_manager,
    superuser,
) -> dict:
    """Everyone at once, by name."""
    return dict(locals())
