"""A month's statement figures per organisation, composed from the clock outcomes that
`tickets.outcomes` aggregates in SQL and the contracts in force (`docs/statements.md`).

Reads only: `contracts.statements.services` writes the rows.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from contracts.models import ComplianceStatement, Contract
from contracts.sla_names import CLOCKS, Priority
from contracts.statements.credits import (
    contract_credit,
    days_covered,
    month_last_day,
    percent_of,
)
from contracts.terms import signed_terms, terms_hash
from portal.models import Organisation, Region
from tickets.outcomes import ClockLine, ContractTally, Outcomes, PeriodBounds, clock_outcomes

PRIORITY_ORDER = {priority: index for index, priority in enumerate(Priority.values)}
CLOCK_ORDER = {clock: index for index, clock in enumerate(CLOCKS)}
SIGNED = (Contract.Status.ACTIVE, Contract.Status.ENDED)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_bounds(month: date, time_zone: str) -> tuple[datetime, datetime]:
    """The month as UTC instants [start, end) in `time_zone`: midnight to midnight local time,
    DST shifts included."""
    zone = ZoneInfo(time_zone)
    starts = datetime.combine(month, time(0), tzinfo=zone)
    ends = datetime.combine(next_month(month), time(0), tzinfo=zone)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


def _minutes(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return float((Decimal(str(seconds)) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(ZoneInfo("UTC")).isoformat()


@dataclass
class StatementFigures:
    """Everything a statement row holds but its identity and seal."""

    organisation_id: int
    month: date
    time_zone: str
    generated_at: datetime
    lines: list[dict[str, Any]] = field(default_factory=list)
    breaches: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    in_scope: int = 0
    met: int = 0
    objective: Decimal | None = None
    compliance_percent: Decimal | None = None
    credit_amount: Decimal = Decimal("0.00")
    currency: str = "EUR"

    @property
    def breached(self) -> int:
        return self.in_scope - self.met

    def fields(self) -> dict[str, Any]:
        """The model fields these figures fill."""
        return {
            "organisation_id": self.organisation_id,
            "month": self.month,
            "time_zone": self.time_zone,
            "generated_at": self.generated_at,
            "lines": self.lines,
            "breaches": self.breaches,
            "coverage": self.coverage,
            "in_scope": self.in_scope,
            "met": self.met,
            "breached": self.breached,
            "objective": self.objective,
            "compliance_percent": self.compliance_percent,
            "credit_amount": self.credit_amount,
            "currency": self.currency,
        }


def _line(line: ClockLine) -> dict[str, Any]:
    return {
        "priority": line.priority,
        "clock": line.clock,
        "in_scope": line.in_scope,
        "met": line.met,
        "breached": line.breached,
        "compliance_percent": _text(percent_of(met=line.met, in_scope=line.in_scope)),
        "median_minutes": _minutes(line.median_seconds),
        "p90_minutes": _minutes(line.p90_seconds),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _contracts_in_force(month: date, organisation_ids: Sequence[int] | None) -> list[Contract]:
    contracts = Contract.objects.filter(
        status__in=SIGNED, starts_on__lte=month_last_day(month)
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=month))
    if organisation_ids is not None:
        contracts = contracts.filter(organisation_id__in=organisation_ids)
    return list(contracts.select_related("tier").order_by("organisation_id", "starts_on"))


def _coverage(
    *,
    contracts: list[Contract],
    month: date,
    compliance: Decimal | None,
    tallies: dict[int | None, ContractTally],
) -> list[dict[str, Any]]:
    days_in_month = month_last_day(month).day
    rows = []
    for contract in contracts:
        terms = signed_terms(contract)
        days = days_covered(starts_on=contract.starts_on, ends_on=contract.ends_on, month=month)
        tally = tallies.get(contract.pk)
        p1_breaches = tally.p1_breached if tally else 0
        credit = contract_credit(
            terms=terms,
            days=days,
            days_in_month=days_in_month,
            compliance=compliance,
            p1_breaches=p1_breaches,
        )
        rows.append(
            {
                "reference": contract.reference,
                "tier": terms["tier"]["name"],
                "starts_on": contract.starts_on.isoformat(),
                "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
                "days": days,
                "days_in_month": days_in_month,
                "monthly_fee": terms["monthly_fee"],
                "currency": terms["currency"],
                "objective": terms["compliance_objective"],
                "prorated_fee": str(credit.prorated_fee),
                "band_below_percent": credit.band["below_percent"] if credit.band else None,
                "band_credit_percent": credit.band["credit_percent"] if credit.band else None,
                "band_credit": str(credit.band_credit),
                "p1_breaches": p1_breaches,
                "p1_credit": str(credit.p1_credit),
                "cap": str(credit.cap),
                "credit": str(credit.credit),
            }
        )
    return rows


def _compose(
    *,
    organisation: Organisation,
    month: date,
    now: datetime,
    lines: list[ClockLine],
    tallies: list[ContractTally],
    breaches: list[dict[str, Any]],
    contracts: list[Contract],
) -> StatementFigures:
    figures = StatementFigures(
        organisation_id=organisation.pk,
        month=month,
        time_zone=organisation.home_region.time_zone,
        generated_at=now,
        breaches=breaches,
    )
    ordered = sorted(lines, key=lambda x: (PRIORITY_ORDER[x.priority], CLOCK_ORDER[x.clock]))
    figures.lines = [_line(line) for line in ordered]
    figures.in_scope = sum(line.in_scope for line in lines)
    figures.met = sum(line.met for line in lines)
    figures.compliance_percent = percent_of(met=figures.met, in_scope=figures.in_scope)
    figures.coverage = _coverage(
        contracts=contracts,
        month=month,
        compliance=figures.compliance_percent,
        tallies={tally.contract_id: tally for tally in tallies},
    )
    if figures.coverage:
        # The contract that covered most of the month (the later one on a tie) sets the
        # objective and the currency shown.
        main = max(reversed(figures.coverage), key=lambda row: row["days"])
        figures.objective = Decimal(main["objective"])
        figures.currency = main["currency"]
    figures.credit_amount = sum(
        (Decimal(row["credit"]) for row in figures.coverage), Decimal("0.00")
    )
    return figures


def statement_figures(
    *,
    month: date,
    now: datetime,
    organisations: Sequence[Organisation] | None = None,
) -> dict[int, StatementFigures]:
    """The figures of `month` for `organisations` (None: every organisation with a contract in
    force in the month or a promise due in it), by organisation id.

    `now` is when they are read: a month still running counts only what is decided by then.
    A fixed number of queries, whatever the number of organisations and tickets.
    """
    month = month_start(month)
    ids = None if organisations is None else [org.pk for org in organisations]
    bounds = []
    for region in Region.objects.all():
        starts, ends = month_bounds(month, region.time_zone)
        bounds.append(PeriodBounds(region_id=region.pk, starts=starts, ends=ends))
    outcomes: Outcomes = clock_outcomes(bounds=bounds, cut=now, organisation_ids=ids)
    contracts = _contracts_in_force(month, ids)

    involved = {line.organisation_id for line in outcomes.lines}
    involved |= {contract.organisation_id for contract in contracts}
    if organisations is None:
        organisations = list(
            Organisation.objects.filter(pk__in=involved).select_related("home_region")
        )
    ends_by_region = {bound.region_id: bound.ends for bound in bounds}

    lines_by_org: dict[int, list[ClockLine]] = defaultdict(list)
    for line in outcomes.lines:
        lines_by_org[line.organisation_id].append(line)
    tallies_by_org: dict[int, list[ContractTally]] = defaultdict(list)
    for tally in outcomes.tallies:
        tallies_by_org[tally.organisation_id].append(tally)
    contracts_by_org: dict[int, list[Contract]] = defaultdict(list)
    for contract in contracts:
        contracts_by_org[contract.organisation_id].append(contract)
    breaches_by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    org_region = {org.pk: org.home_region_id for org in organisations}
    for breach in outcomes.breaches:
        # A clock never met is overdue until it stopped, else until the end of the month (or
        # now, in the running month).
        month_end = ends_by_region[org_region[breach.organisation_id]]
        until = breach.met_at or breach.stopped_at or min(month_end, now)
        breaches_by_org[breach.organisation_id].append(
            {
                "reference": breach.reference,
                "priority": breach.priority,
                "clock": breach.clock,
                "due_at": _iso(breach.due_at),
                "met_at": _iso(breach.met_at),
                "overrun_minutes": _minutes(max((until - breach.due_at).total_seconds(), 0)),
            }
        )

    return {
        org.pk: _compose(
            organisation=org,
            month=month,
            now=now,
            lines=lines_by_org[org.pk],
            tallies=tallies_by_org[org.pk],
            breaches=breaches_by_org[org.pk],
            contracts=contracts_by_org[org.pk],
        )
        for org in organisations
    }


def statement_content(statement: ComplianceStatement) -> dict[str, Any]:
    """What an issued statement's hash seals: its identity and every figure, as JSON data."""
    return {
        "organisation": statement.organisation.slug,
        "month": statement.month.isoformat(),
        "revision": statement.revision,
        "reason": statement.reason,
        "time_zone": statement.time_zone,
        "generated_at": _iso(statement.generated_at),
        "lines": statement.lines,
        "breaches": statement.breaches,
        "coverage": statement.coverage,
        "in_scope": statement.in_scope,
        "met": statement.met,
        "breached": statement.breached,
        "objective": _text(statement.objective),
        "compliance_percent": _text(statement.compliance_percent),
        "credit_amount": str(statement.credit_amount),
        "currency": statement.currency,
    }


def content_hash(statement: ComplianceStatement) -> str:
    """SHA-256 of the canonical JSON of `statement_content`, as the signed terms are hashed."""
    return terms_hash(statement_content(statement))
