"""Seeding the demo world (`tickets.demo.world`) that `manage.py seed_demo` builds.

Reference data (regions, calendars, tiers, organisations, people, contracts) is matched on natural
keys and only created when missing, so running the seed again changes nothing. Tickets are made
through the same services as every channel, along realistic timelines ending now; an
organisation that already has tickets is left alone.
"""

import hashlib
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Least

from contracts.escalation_policy import default_policy
from contracts.models import (
    BusinessCalendar,
    CalendarHoliday,
    Contract,
    EscalationPolicy,
    Priority,
    ServiceCreditBand,
    SLATarget,
    SLATier,
)
from contracts.services import contract_create, contract_end, contract_sign
from contracts.statements.figures import previous_month
from contracts.statements.services import statement_issue, statements_generate
from contracts.terms import terms_hash
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from portal.services import staff_permissions_sync
from tickets import services
from tickets.demo.world import (
    AGENT_CAP,
    ALERT_SUBJECTS,
    AUTO_ASSIGN_TEAMS,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CUSTOMER_NAMES,
    DUTY_AGENTS,
    DUTY_REGION,
    FOLLOW_THE_SUN,
    ORGANISATIONS,
    REGIONS,
    ROOT_CAUSES,
    SCENARIO_WEIGHTS,
    SCENARIOS,
    SUBJECTS,
    TIERS,
    WEEK,
    RegionSpec,
    weekdays,
)
from tickets.models import (
    CannedResponse,
    Escalation,
    Mailbox,
    Message,
    Notification,
    OutboundEmail,
    PhoneCall,
    Ticket,
)
from tickets.services.routing import Trigger, ticket_route

User = get_user_model()


@dataclass
class SeedReport:
    created: dict[str, int]
    logins: list[tuple[str, str, str]]

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _user(
    report: SeedReport,
    *,
    username: str,
    full_name: str,
    email: str,
    password: str,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> AbstractUser:
    first, _, last = full_name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": email,
            "is_staff": is_staff,
            "is_superuser": is_superuser,
        },
    )
    if created:
        # Only on creation: hashing again would change the row on every run.
        user.password = password
        user.save(update_fields=["password"])
        report.count("users")
    return user


def seed_reference_data(*, password: str, today: date, report: SeedReport) -> None:
    """Regions, calendars, teams, agents, tiers, organisations, members and contracts."""
    _user(
        report,
        username="admin",
        full_name="Site Admin",
        email="admin@meridian.example",
        password=password,
        is_staff=True,
        is_superuser=True,
    )
    report.logins.append(("admin", "superuser: everything", "/admin/"))
    manager = _user(
        report,
        username="sophie.laurent",
        full_name="Sophie Laurent",
        email="sophie.laurent@meridian.example",
        password=password,
        is_staff=True,
    )
    _, created = Agent.objects.get_or_create(
        user=manager, defaults={"role": Agent.Role.ACCOUNT_MANAGER, "time_zone": "Europe/Paris"}
    )
    report.count("agents", created)
    report.logins.append(("sophie.laurent", "account manager", "/admin/"))

    for spec in REGIONS:
        region, created = Region.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "time_zone": spec.time_zone}
        )
        report.count("regions", created)
        _calendar(
            report,
            region,
            BusinessCalendar.Hours.BUSINESS,
            f"{spec.code}-business",
            f"{spec.name} business hours",
            spec,
            weekdays(*spec.shift),
        )
        extended = weekdays("07:00", "22:00") | {"sat": [["09:00", "17:00"]]}
        _calendar(
            report,
            region,
            BusinessCalendar.Hours.EXTENDED,
            f"{spec.code}-extended",
            f"{spec.name} extended hours",
            spec,
            extended,
        )
        staff_domain = "meridian.example"
        for level, names in ((Team.Level.L1, spec.agents[:4]), (Team.Level.L2, spec.agents[4:])):
            team, created = Team.objects.get_or_create(
                region=region,
                level=level,
                defaults={
                    "name": f"{spec.name} {level.upper()}",
                    "email": f"{spec.code}-{level}@{staff_domain}",
                },
            )
            report.count("teams", created)
            for index, full_name in enumerate(names):
                username = full_name.lower().replace(" ", ".")
                user = _user(
                    report,
                    username=username,
                    full_name=full_name,
                    email=f"{username}@{staff_domain}",
                    password=password,
                    is_staff=True,
                )
                role = Agent.Role.LEAD if index == 0 else Agent.Role.AGENT
                _, created = Agent.objects.get_or_create(
                    user=user,
                    defaults={"team": team, "role": role, "time_zone": spec.time_zone},
                )
                report.count("agents", created)
                if spec.code == "ber" and level == Team.Level.L1 and index < 2:
                    report.logins.append((username, f"{role} in {team.name}", "/admin/"))

    _seed_duty(report, password)
    for position, code in enumerate(FOLLOW_THE_SUN, start=1):
        Region.objects.filter(code=code, follow_sun_position=0).update(follow_sun_position=position)
    Team.objects.filter(level=Team.Level.L1, region__code__in=AUTO_ASSIGN_TEAMS).update(
        auto_assign=True
    )
    Agent.objects.filter(max_open_tickets__isnull=True, team__isnull=False).update(
        max_open_tickets=AGENT_CAP
    )

    for code, name, fee, coverage, objective, targets, bands in TIERS:
        tier, created = SLATier.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "monthly_fee": fee,
                "coverage": coverage,
                "compliance_objective": objective,
                "description": f"{name} support: {SLATier.Coverage(coverage).label.lower()}.",
            },
        )
        report.count("tiers", created)
        for priority, (first, nxt, workaround, root_cause, resolution, always) in targets.items():
            _, created = SLATarget.objects.get_or_create(
                tier=tier,
                priority=priority,
                defaults={
                    "first_response_minutes": first,
                    "next_response_minutes": nxt,
                    "workaround_minutes": workaround,
                    "root_cause_minutes": root_cause,
                    "resolution_minutes": resolution,
                    "around_the_clock": list(always),
                },
            )
            report.count("targets", created)
        for below, credit in bands:
            _, created = ServiceCreditBand.objects.get_or_create(
                tier=tier, below_percent=below, defaults={"credit_percent": credit}
            )
            report.count("credit bands", created)
        # Written out so the support desk shows the chain; these are the built-in defaults.
        for priority in targets:
            for trigger in EscalationPolicy.Trigger.values:
                policy = default_policy(priority=priority, trigger=trigger)
                _, created = EscalationPolicy.objects.get_or_create(
                    tier=tier, priority=priority, trigger=trigger, defaults=asdict(policy)
                )
                report.count("escalation policies", created)

    regions = {region.code: region for region in Region.objects.all()}
    tiers = {tier.code: tier for tier in SLATier.objects.all()}
    for number, (name, region_code, tier_code) in enumerate(ORGANISATIONS, start=1):
        slug = _slug(name)
        organisation, created = Organisation.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "home_region": regions[region_code],
                "account_manager": manager,
                "requesters_see_all_tickets": number % 4 == 0,
            },
        )
        report.count("organisations", created)
        domain = f"{slug}.example"
        _, created = EmailDomain.objects.get_or_create(
            domain=domain, defaults={"organisation": organisation}
        )
        report.count("email domains", created)
        time_zone = regions[region_code].time_zone
        people = []
        for offset in range(3):
            full_name = CUSTOMER_NAMES[(number + offset * 5) % len(CUSTOMER_NAMES)]
            email = f"{full_name.lower().replace(' ', '.')}@{domain}"
            user = _user(
                report, username=email, full_name=full_name, email=email, password=password
            )
            role = Member.Role.ADMIN if offset == 0 else Member.Role.REQUESTER
            member, created = Member.objects.get_or_create(
                user=user,
                defaults={"organisation": organisation, "role": role, "time_zone": time_zone},
            )
            report.count("members", created)
            people.append(member)
            if number == 1:
                report.logins.append((email, f"customer {role} at {name}", "/"))
        _contracts(report, organisation, people[0], tiers, tier_code, number, today)


def _seed_duty(report: SeedReport, password: str) -> None:
    """The duty team, on call around the clock (its own 24x7 shift calendar)."""
    region = Region.objects.get(code=DUTY_REGION)
    team, created = Team.objects.get_or_create(
        region=region,
        level=Team.Level.DUTY,
        defaults={
            "name": "Follow-the-sun duty",
            "email": "duty@meridian.example",
            "auto_assign": True,
        },
    )
    report.count("teams", created)
    calendar, created = BusinessCalendar.objects.get_or_create(
        code="duty-on-call",
        defaults={
            "name": "Duty on call (around the clock)",
            "time_zone": "UTC",
            "weekly": weekdays("00:00", "24:00", WEEK),
            "hours": BusinessCalendar.Hours.ALWAYS,
            "team": team,
        },
    )
    report.count("calendars", created)
    for index, full_name in enumerate(DUTY_AGENTS):
        username = full_name.lower().replace(" ", ".")
        user = _user(
            report,
            username=username,
            full_name=full_name,
            email=f"{username}@meridian.example",
            password=password,
            is_staff=True,
        )
        _, created = Agent.objects.get_or_create(
            user=user,
            defaults={
                "team": team,
                "role": Agent.Role.LEAD if index == 0 else Agent.Role.AGENT,
                "time_zone": "Europe/Berlin",
            },
        )
        report.count("agents", created)


def _calendar(
    report: SeedReport,
    region: Region,
    hours: str,
    code: str,
    name: str,
    spec: RegionSpec,
    weekly: dict,
) -> None:
    calendar, created = BusinessCalendar.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "time_zone": spec.time_zone,
            "weekly": weekly,
            "holiday_country": spec.country,
            "holiday_subdivision": spec.subdivision,
            "region": region,
            "hours": hours,
        },
    )
    report.count("calendars", created)
    for day, label in (
        (date(2026, 12, 24), "Christmas Eve"),
        (date(2026, 12, 31), "New Year's Eve"),
    ):
        _, created = CalendarHoliday.objects.get_or_create(
            calendar=calendar, date=day, defaults={"name": f"{label} (office closed)"}
        )
        report.count("custom holidays", created)


def _contracts(
    report: SeedReport,
    organisation: Organisation,
    signer: Member,
    tiers: dict,
    tier_code: str | None,
    number: int,
    today: date,
) -> None:
    if Contract.objects.filter(organisation=organisation).exists():
        return
    # Contracts began on the first of this month last year, so they cover the whole demo.
    year_start = date(today.year - 1, today.month, 1)
    signed_at = datetime.combine(year_start - timedelta(days=12), datetime.min.time(), UTC)
    ip = f"203.0.113.{number}"
    agent_string = "Mozilla/5.0 (demo seed)"

    def signature(contract: Contract) -> dict[str, Any]:
        # The signer accepts the terms of the draft as shown, under their own name.
        return {
            "signer": signer.user,
            "signed_name": signer.user.get_full_name() or signer.user.get_username(),
            "consent": True,
            "shown_terms_hash": terms_hash(contract.terms),
        }

    if tier_code is None:
        # A former customer: the contract ended last month, so new tickets carry no SLA.
        contract = contract_create(
            organisation=organisation,
            tier=tiers["standard"],
            starts_on=year_start,
            reference=f"CT-{year_start.year}-{number:03d}",
        )
        contract = contract_sign(
            contract=contract, now=signed_at, ip=ip, user_agent=agent_string, **signature(contract)
        )
        contract_end(contract=contract, ends_on=today.replace(day=1) - timedelta(days=1))
        report.count("contracts")
        return
    if number % 5 == 2 and tier_code != "standard":
        # Upgraded this year: an earlier Standard contract, then the current tier.
        upgrade_on = today.replace(day=1) - timedelta(days=45)
        earlier = contract_create(
            organisation=organisation,
            tier=tiers["standard"],
            starts_on=year_start,
            ends_on=upgrade_on - timedelta(days=1),
            reference=f"CT-{year_start.year}-{number:03d}",
        )
        contract_sign(
            contract=earlier, now=signed_at, ip=ip, user_agent=agent_string, **signature(earlier)
        )
        current = contract_create(
            organisation=organisation,
            tier=tiers[tier_code],
            starts_on=upgrade_on,
            reference=f"CT-{year_start.year}-{number:03d}U",
        )
        contract_sign(
            contract=current,
            **signature(current),
            now=datetime.combine(upgrade_on - timedelta(days=3), datetime.min.time(), UTC),
            ip=ip,
            user_agent=agent_string,
        )
        report.count("contracts", 2)
        return
    contract = contract_create(
        organisation=organisation,
        tier=tiers[tier_code],
        starts_on=year_start,
        reference=f"CT-{year_start.year}-{number:03d}",
    )
    contract_sign(
        contract=contract, now=signed_at, ip=ip, user_agent=agent_string, **signature(contract)
    )
    report.count("contracts")


def seed_tickets(
    *,
    now: datetime,
    seed: int,
    per_org: int,
    report: SeedReport,
    progress: Callable[[int], None] | None = None,
) -> None:
    """About `per_org` tickets for each organisation that has none yet."""
    rng = random.Random(seed)
    regions = {region.code: region for region in Region.objects.all()}
    agents_by_region: dict[str, list] = {}
    for agent in Agent.objects.select_related("user", "team__region").filter(team__isnull=False):
        agents_by_region.setdefault(agent.team.region.code, []).append(agent)
    organisations = list(Organisation.objects.select_related("home_region").order_by("name"))
    seeded = False
    for organisation in organisations:
        # Draw the organisation's tickets even when skipping, so each one's data stays the same
        # whichever organisations already had tickets.
        count = per_org + rng.randint(-per_org // 3, per_org // 3)
        org_rng = random.Random(rng.getrandbits(64))
        if Ticket.objects.filter(organisation=organisation).exists():
            continue
        members = list(Member.objects.select_related("user").filter(organisation=organisation))
        allowed = _allowed_priorities(organisation, now)
        city = regions[organisation.home_region.code].name
        seeded = seeded or count > 0
        for _ in range(count):
            _seed_ticket(
                org_rng,
                organisation,
                members,
                allowed,
                city,
                agents_by_region[organisation.home_region.code],
                now,
                report,
            )
        if progress:
            progress(1)
    # Open work sits with the team on shift now, as it would have been routed when it came in
    # had the demo been running (the tasks queued when it was opened find it in place).
    for pk in Ticket.objects.open().filter(team__isnull=True).values_list("pk", flat=True):
        ticket_route(ticket_id=pk, now=now, trigger=Trigger.CREATED)
    if seeded:
        # The services raised the alerts of the stories they told; the deadlines that passed
        # quietly in between (hundreds) are found by a sweep, here rather than by the first
        # beat of the live demo, which would mail every one of them.
        services.deadlines_sweep(now=now)
        _settle_history(now)
        _seed_statements(now, report)


def _seed_statements(now: datetime, report: SeedReport) -> None:
    """Last month's statements, issued by each organisation's account manager, but for one
    left as a draft for the demo's account manager to check and issue."""
    drafts = statements_generate(month=previous_month(now.date()), now=now).drafts
    drafts.sort(key=lambda draft: draft.organisation_id)
    managers = dict(
        Organisation.objects.filter(pk__in=[d.organisation_id for d in drafts]).values_list(
            "pk", "account_manager"
        )
    )
    users = User.objects.in_bulk([pk for pk in managers.values() if pk])
    for draft in drafts[1:]:
        statement_issue(statement=draft, by=users.get(managers[draft.organisation_id]), now=now)
    report.count("statements", len(drafts))


def _settle_history(now: datetime) -> None:
    """Everything up to `now` is the demo's past: its notification emails (and the customers'
    emails) count as sent when they were written, its escalations as acknowledged, so the live
    demo only tells people about what happens while it runs."""
    with transaction.atomic(durable=True):
        Notification.objects.filter(created_at__lte=now, email_sent_at__isnull=True).update(
            email_sent_at=F("created_at"), read_at=F("created_at"), dispatched_at=F("created_at")
        )
        Escalation.objects.filter(created_at__lte=now, acknowledged_at__isnull=True).update(
            acknowledged_at=Least(F("created_at") + timedelta(minutes=7), Value(now)),
            next_repeat_at=None,
        )
        OutboundEmail.objects.filter(
            created_at__lte=now, sent_at__isnull=True, skipped_reason=""
        ).update(sent_at=F("created_at"), dispatched_at=F("created_at"))


def _allowed_priorities(organisation: Organisation, now: datetime) -> list[str]:
    contract = Contract.objects.active_on(now.date()).filter(organisation=organisation).first()
    if contract is None:
        return [Priority.P2, Priority.P3, Priority.P4]
    return list(contract.tier.targets.values_list("priority", flat=True))


def _seed_ticket(
    rng: random.Random,
    organisation: Organisation,
    members: list[Member],
    allowed: list[str],
    city: str,
    agents: list[Agent],
    now: datetime,
    report: SeedReport,
) -> None:
    scenario = rng.choices(SCENARIOS, SCENARIO_WEIGHTS)[0]
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    priority = rng.choices(allowed, [1 if p == Priority.P1 else 3 for p in allowed])[0]
    area = rng.choice(list(SUBJECTS))
    # Open work is recent, so the demo shows deadlines counting down; finished work is older.
    if scenario == "new":
        age = timedelta(minutes=rng.randint(2, 60 * 6))
    elif scenario in ("open", "pending"):
        age = timedelta(minutes=rng.randint(30, 60 * 24 * 3))
    else:
        age = timedelta(minutes=rng.randint(60 * 24 * 2, 60 * 24 * 30))
    created = now - age
    requester = rng.choice(members)
    agent = rng.choice(agents)
    if channel == Ticket.Channel.ALERT:
        subject = rng.choice(ALERT_SUBJECTS).format(city=city)
        body = f"Monitoring detected: {subject[8:]}. Started {created:%Y-%m-%d %H:%M} UTC."
        requester_for_ticket = None
    else:
        subject = rng.choice(SUBJECTS[area]).format(city=city)
        body = (
            f"Hello support,\n\n{subject}. It started around {created:%H:%M} UTC and affects "
            f"{rng.randint(2, 400)} of our users. Could you look into it?\n\n"
            f"{requester.user.get_full_name()}"
        )
        requester_for_ticket = requester
    is_phone = channel == Ticket.Channel.PHONE
    # A call is logged a few minutes after it started; its clocks start with the call.
    logged = min(created + timedelta(minutes=rng.randint(2, 12)), now) if is_phone else created
    ticket = services.ticket_create(
        organisation=organisation,
        requester=requester_for_ticket,
        channel=channel,
        subject=subject,
        body_text=body if not is_phone else f"Caller reports: {subject}.",
        priority=priority,
        product_area=area if channel != Ticket.Channel.ALERT else Ticket.ProductArea.STREAMING,
        now=logged,
        actor=agent.user if is_phone else None,
        email_message_id=(
            f"<demo-{rng.getrandbits(48):x}@{organisation.slug}.example>"
            if channel == Ticket.Channel.EMAIL
            else ""
        ),
        call=services.CallDetails(
            caller_name=requester.user.get_full_name(),
            phone_number=f"+{rng.randint(10**10, 10**11 - 1)}",
            direction=PhoneCall.Direction.INBOUND,
            started_at=created,
            duration=timedelta(minutes=rng.randint(3, 25)),
        )
        if is_phone
        else None,
    )
    report.count("tickets")
    if scenario == "new":
        return
    # Mostly on time, sometimes late, so the demo has both met and breached clocks.
    clock = logged + timedelta(minutes=rng.choice((4, 8, 15, 25, 45, 90, 240)))
    clock = min(clock, now - timedelta(minutes=1))
    if is_phone:
        pass  # the call was the first response
    elif rng.random() < 0.15:
        services.call_log(
            ticket=ticket,
            agent=agent.user,
            caller_name=requester.user.get_full_name(),
            phone_number=f"+{rng.randint(10**10, 10**11 - 1)}",
            direction=PhoneCall.Direction.OUTBOUND,
            started_at=max(clock - timedelta(minutes=6), created),
            duration=timedelta(minutes=rng.randint(3, 25)),
            summary="Called the customer; collecting logs and a timeline.",
            now=clock,
        )
    else:
        services.ticket_reply(
            ticket=ticket,
            author=agent.user,
            now=clock,
            channel=Message.Channel.DESK,
            body_text=(
                f"Hi {requester.user.first_name}, thanks for reporting this. We are looking into "
                "it now. Could you send the session IDs of two affected users?"
            ),
        )
    if ticket.sla_targets.get(priority, {}).get("workaround") and rng.random() < 0.6:
        clock = min(clock + timedelta(minutes=rng.randint(1, 20)), now)
        services.ticket_mark_workaround(
            ticket=ticket,
            actor=agent.user,
            now=clock,
            note="Switch the player to the backup CDN host while we fix the edge.",
        )
    lowered = rng.random() < 0.1 and priority != Priority.P4
    if lowered:
        lower = {Priority.P1: Priority.P2, Priority.P2: Priority.P3, Priority.P3: Priority.P4}
        clock = min(clock + timedelta(minutes=2), now)
        services.ticket_change_priority(
            ticket=ticket, priority=lower[priority], actor=agent.user, now=clock
        )
    if ticket.sla_targets.get(priority, {}).get("root_cause") and not lowered:
        # Found within the promise or late, or (on open work) not yet: the demo shows met,
        # running and missed root-cause milestones.
        found = clock + timedelta(minutes=rng.choice((35, 70, 100, 200, 400, 900, 2000)))
        if rng.random() < (0.8 if scenario in ("resolved", "closed") else 0.5) and found < now:
            summary, detail = rng.choice(
                ROOT_CAUSES.get(ticket.product_area, ROOT_CAUSES[Ticket.ProductArea.STREAMING])
            )
            clock = found
            services.ticket_record_root_cause(
                ticket=ticket, actor=agent.user, now=clock, summary=summary, detail=detail
            )
    if rng.random() < 0.3:
        services.ticket_reply(
            ticket=ticket,
            author=agent.user,
            internal=True,
            now=clock,
            channel=Message.Channel.DESK,
            body_text="Checked the edge logs: errors cluster on one PoP. Asked L2 to look.",
        )
    if scenario == "open":
        return
    # The rest of the story happens between the first answer and now.
    span = now - clock
    if span < timedelta(minutes=10):
        return
    later = [clock + span * share for share in sorted(rng.uniform(0.05, 0.95) for _ in range(3))]
    services.ticket_change_status(
        ticket=ticket, status=Ticket.Status.PENDING, now=later[0], actor=agent.user
    )
    if scenario == "pending":
        return
    customer = requester.user
    services.ticket_reply(
        ticket=ticket,
        author=customer,
        now=later[1],
        body_text="Here are the session IDs: 7f3a-11, 7f3a-42. It happens mostly in the evening.",
        channel=Ticket.Channel.EMAIL if channel == Ticket.Channel.EMAIL else Ticket.Channel.WEB,
    )
    services.ticket_reply(
        ticket=ticket,
        author=agent.user,
        now=later[2],
        channel=Message.Channel.DESK,
        body_text="We found a misconfigured edge node and fixed it. Please confirm it works now.",
    )
    services.ticket_change_status(
        ticket=ticket, status=Ticket.Status.RESOLVED, now=later[2], actor=agent.user
    )
    if scenario == "closed":
        closed_at = min(later[2] + timedelta(days=3), now - timedelta(minutes=1))
        services.ticket_change_status(
            ticket=ticket,
            status=Ticket.Status.CLOSED,
            now=max(closed_at, later[2]),
            actor=None,
        )


def seed_world(*, now: datetime, password: str | None) -> SeedReport:
    """The demo's reference data (regions, calendars, teams, agents, tiers, customers and
    their contracts) and the staff permission groups; idempotent. `password` is for the users
    it creates (None: unusable passwords)."""
    report = SeedReport(created={}, logins=[])
    # One hash for every demo user: they share the password, and hashing ~100 times is slow.
    # No transaction around it: the contract services open their own.
    seed_reference_data(password=make_password(password), today=now.date(), report=report)
    staff_permissions_sync()
    _seed_mailbox(report)
    _seed_canned_responses(report)
    return report


# The demo's canned responses: title, body, and the (region, level) of the team it is kept for
# (None: every agent).
CANNED_RESPONSES = (
    (
        "Acknowledge and investigating",
        "Hello {customer_name},\n\nThank you for reporting this. We are investigating "
        "{ticket_reference} ({ticket_subject}) now and will update you shortly.\n\n"
        "Best regards,\n{agent_name}",
        None,
    ),
    (
        "Need more information",
        "Hello {customer_name},\n\nTo look into {ticket_reference} further, could you send us "
        "the affected channel or call IDs, the time it happened (with your time zone), and the "
        "SDK version {organisation} uses?\n\nThank you,\n{agent_name}",
        None,
    ),
    (
        "Workaround available",
        "Hello {customer_name},\n\nWhile we work on a fix for {ticket_reference}, this "
        "workaround should restore service: \n\nPlease let us know whether it helps.\n\n"
        "{agent_name}",
        None,
    ),
    (
        "Escalated to specialists",
        "Hello {customer_name},\n\nWe have escalated {ticket_reference} ({priority}) to our "
        "specialists, who are reviewing it now. We will keep you posted.\n\n{agent_name}",
        ("ber", Team.Level.L2),
    ),
)


def _seed_canned_responses(report: SeedReport) -> None:
    for title, body, kept_for in CANNED_RESPONSES:
        team = None
        if kept_for is not None:
            region, level = kept_for
            team = Team.objects.filter(region__code=region, level=level).first()
        _, created = CannedResponse.objects.get_or_create(
            title=title, defaults={"body": body, "team": team}
        )
        report.count("canned responses", created)


# The demo mailbox's HTTP token, so the README's curl works on every demo; never in production.
DEMO_MAILBOX_SECRET = "demo-inbound-secret"  # noqa: S105 (a demo value, by design)


def _seed_mailbox(report: SeedReport) -> Mailbox:
    mailbox, created = Mailbox.objects.get_or_create(
        name="Support",
        defaults={
            "address": "support@meridian.example",
            "token_sha256": hashlib.sha256(DEMO_MAILBOX_SECRET.encode()).hexdigest(),
        },
    )
    report.count("mailboxes", created)
    report.logins.append(
        (f"{mailbox.pk}.{DEMO_MAILBOX_SECRET}", "inbound email token", "/api/v1/inbound/email/")
    )
    return mailbox


def seed_demo(
    *,
    now: datetime,
    password: str,
    seed: int = 2026,
    tickets_per_org: int = 15,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Build (or complete) the demo world; idempotent."""
    report = seed_world(now=now, password=password)
    seed_tickets(now=now, seed=seed, per_org=tickets_per_org, report=report, progress=progress)
    return report
