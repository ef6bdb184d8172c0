"""Reads owned by the contracts app."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.business_time import WEEKDAYS
from contracts.calendars import calendar_version_snapshot
from contracts.models import BusinessCalendar, Contract, SLATier
from contracts.services import tier_terms
from portal.models import Organisation, Region

ALWAYS_CALENDAR_CODE = "24x7"


@dataclass(frozen=True)
class SLATerms:
    """What a ticket created now is promised: the snapshot it keeps for life."""

    contract: Contract
    tier: SLATier
    calendar: BusinessCalendar
    calendar_version: int
    targets: dict[str, dict[str, int | None]]
    pause_statuses: list[str]
    paused_clocks: list[str]
    warning_thresholds: list[int]

    def allows(self, priority: str) -> bool:
        return priority in self.targets


def coverage_calendar(*, tier: SLATier, region: Region) -> BusinessCalendar:
    """The calendar a tier's clocks run in for a customer of `region`."""
    if tier.coverage == SLATier.Coverage.ALWAYS:
        # Created by migration; made again here should an operator have flushed the table.
        calendar, _ = BusinessCalendar.objects.get_or_create(
            code=ALWAYS_CALENDAR_CODE,
            defaults={
                "name": "24x7",
                "time_zone": "UTC",
                "weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS},
                "hours": BusinessCalendar.Hours.ALWAYS,
            },
        )
        return calendar
    calendars = {c.hours: c for c in BusinessCalendar.objects.filter(region=region)}
    calendar = calendars.get(tier.coverage) or calendars.get(BusinessCalendar.Hours.BUSINESS)
    if calendar is None:
        raise LookupError(f"region {region.code} has no business-hours calendar")
    return calendar


def contract_active(*, organisation: Organisation, at: datetime) -> Contract | None:
    """The contract in force for `organisation` on the local day of `at` in its home region."""
    day = at.astimezone(ZoneInfo(organisation.home_region.time_zone)).date()
    return (
        Contract.objects.active_on(day)
        .filter(organisation=organisation)
        .select_related("tier")
        .first()
    )


def sla_terms_for(*, organisation: Organisation, at: datetime) -> SLATerms | None:
    """The SLA a ticket of `organisation` created at `at` gets, or None without a contract."""
    contract = contract_active(organisation=organisation, at=at)
    if contract is None:
        return None
    # The signed terms are the promise; a tier edited after signing does not change them.
    terms = contract.terms or tier_terms(tier=contract.tier)
    calendar = coverage_calendar(tier=contract.tier, region=organisation.home_region)
    calendar_version_snapshot(calendar=calendar)
    return SLATerms(
        contract=contract,
        tier=contract.tier,
        calendar=calendar,
        calendar_version=calendar.version,
        targets=terms["targets"],
        pause_statuses=terms["pause_statuses"],
        paused_clocks=terms["paused_clocks"],
        warning_thresholds=terms.get("warning_thresholds", contract.tier.warning_thresholds),
    )
