"""A statement's stored figures (`lines`, `breaches`, `coverage`: JSON, documented in
`docs/statements.md`) as the portal and the email show them: labels for priorities and clocks,
instants as aware datetimes (the templates show them in the viewer's zone), amounts as
decimals. Pure: nothing here touches the database."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from contracts.models import ComplianceStatement
from contracts.sla_names import Clock, Priority


def _label(choices: type[Priority] | type[Clock], value: str) -> str:
    # A figure written by a later version may name a clock this one does not know: show it.
    return str(choices(value).label) if value in choices.values else value


def _decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _instant(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _day(value: Any) -> date | None:
    return parse_date(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class LineRow:
    priority: str
    priority_label: str
    clock: str
    clock_label: str
    in_scope: int
    met: int
    breached: int
    compliance_percent: Decimal | None
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class BreachRow:
    reference: str
    priority: str
    priority_label: str
    clock_label: str
    due_at: datetime | None
    met_at: datetime | None
    overrun_minutes: float


@dataclass(frozen=True)
class CoverageRow:
    reference: str
    tier: str
    starts_on: date | None
    ends_on: date | None
    days: int
    days_in_month: int
    monthly_fee: Decimal | None
    prorated_fee: Decimal | None
    band_below_percent: Decimal | None
    band_credit_percent: Decimal | None
    band_credit: Decimal | None
    p1_breaches: int
    p1_credit: Decimal | None
    cap: Decimal | None
    credit: Decimal | None


@dataclass(frozen=True)
class Breakdown:
    lines: list[LineRow]
    breaches: list[BreachRow]
    coverage: list[CoverageRow]


def statement_breakdown(statement: ComplianceStatement) -> Breakdown:
    """The statement's figures, ready for a page or an email."""
    lines = [
        LineRow(
            priority=line["priority"],
            priority_label=_label(Priority, line["priority"]),
            clock=line["clock"],
            clock_label=_label(Clock, line["clock"]),
            in_scope=line.get("in_scope", 0),
            met=line.get("met", 0),
            breached=line.get("breached", 0),
            compliance_percent=_decimal(line.get("compliance_percent")),
            median_minutes=line.get("median_minutes"),
            p90_minutes=line.get("p90_minutes"),
        )
        for line in statement.lines
    ]
    breaches = [
        BreachRow(
            reference=breach["reference"],
            priority=breach["priority"],
            priority_label=_label(Priority, breach["priority"]),
            clock_label=_label(Clock, breach["clock"]),
            due_at=_instant(breach.get("due_at")),
            met_at=_instant(breach.get("met_at")),
            overrun_minutes=breach.get("overrun_minutes", 0),
        )
        for breach in statement.breaches
    ]
    coverage = [
        CoverageRow(
            reference=row.get("reference", ""),
            tier=row.get("tier", ""),
            starts_on=_day(row.get("starts_on")),
            ends_on=_day(row.get("ends_on")),
            days=row.get("days", 0),
            days_in_month=row.get("days_in_month", 0),
            monthly_fee=_decimal(row.get("monthly_fee")),
            prorated_fee=_decimal(row.get("prorated_fee")),
            band_below_percent=_decimal(row.get("band_below_percent")),
            band_credit_percent=_decimal(row.get("band_credit_percent")),
            band_credit=_decimal(row.get("band_credit")),
            p1_breaches=row.get("p1_breaches", 0),
            p1_credit=_decimal(row.get("p1_credit")),
            cap=_decimal(row.get("cap")),
            credit=_decimal(row.get("credit")),
        )
        for row in statement.coverage
    ]
    return Breakdown(lines=lines, breaches=breaches, coverage=coverage)
