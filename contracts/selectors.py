"""Reads owned by the contracts app. Selectors only read: nothing here writes a row."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from contracts.models import BusinessCalendar, Contract, SLATier
from contracts.terms import SLATerms, signed_terms
from portal.models import Organisation, Region

# The always-open calendar of 24x7 tiers; created by migration `contracts.0002`.
ALWAYS_CALENDAR_CODE = "24x7"


def coverage_calendar(*, tier: SLATier, region: Region) -> BusinessCalendar:
    """The calendar a tier's clocks run in for a customer of `region` (one query)."""
    wanted = Q(region=region)
    if tier.coverage == SLATier.Coverage.ALWAYS:
        wanted = Q(code=ALWAYS_CALENDAR_CODE)
    calendars = list(BusinessCalendar.objects.filter(wanted))
    if tier.coverage == SLATier.Coverage.ALWAYS:
        if not calendars:
            raise LookupError(
                f"the {ALWAYS_CALENDAR_CODE} calendar is missing (migration contracts.0002 "
                "creates it)"
            )
        return calendars[0]
    by_hours = {calendar.hours: calendar for calendar in calendars}
    calendar = by_hours.get(tier.coverage) or by_hours.get(BusinessCalendar.Hours.BUSINESS)
    if calendar is None:
        raise LookupError(f"region {region.code} has no business-hours calendar")
    return calendar


def contract_active(*, organisation: Organisation, at: datetime) -> Contract | None:
    """The contract in force for `organisation` on the local day of `at` in its home region,
    with its tier (one query)."""
    day = at.astimezone(ZoneInfo(organisation.home_region.time_zone)).date()
    return (
        Contract.objects.active_on(day)
        .filter(organisation=organisation)
        .select_related("tier")
        # Not the model's ordering (by organisation name, a join): there is one per day.
        .order_by("-starts_on")
        .first()
    )


def sla_terms_for(*, organisation: Organisation, at: datetime) -> SLATerms | None:
    """The SLA a ticket of `organisation` created at `at` gets, or None without a contract.

    The promise is the contract's signed terms, verified against their hash
    (`ContractTermsMismatch` otherwise); a tier edited after signing does not change them.
    Two queries: the contract with its tier, and the coverage calendar.
    """
    contract = contract_active(organisation=organisation, at=at)
    if contract is None:
        return None
    terms = signed_terms(contract)
    calendar = coverage_calendar(tier=contract.tier, region=organisation.home_region)
    return SLATerms(
        contract=contract,
        tier=contract.tier,
        calendar=calendar,
        calendar_version=calendar.version,
        targets=terms["targets"],
        pause_statuses=terms["pause_statuses"],
        paused_clocks=terms["paused_clocks"],
        warning_thresholds=terms["warning_thresholds"],
        tier_name=terms["tier"]["name"],
        around_the_clock=terms.get("around_the_clock", {}),
    )
