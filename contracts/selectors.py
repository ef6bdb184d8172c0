"""Reads owned by the contracts app. Selectors only read: nothing here writes a row."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from contracts.models import BusinessCalendar, Contract, ContractEvent, SLATier
from contracts.sla_names import CLOCKS, Clock, Priority
from contracts.terms import SLATerms, signed_terms, terms_hash, tier_terms
from portal.models import Member, Organisation, Region
from portal.selectors import member_of

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


# --- Signing: who may, what they see ------------------------------------------------------------


def signing_member_for_user(user: User | AnonymousUser) -> Member:
    """The customer admin who may see and sign their organisation's contracts: 404 for anyone
    who is not a customer (agents work in the support desk), 403 for a requester."""
    member = member_of(user) if user.is_authenticated and not user.is_staff else None
    if member is None:
        raise Http404("Only customers use this page.")
    if member.role != Member.Role.ADMIN:
        raise PermissionDenied(_("Only your organisation's admins can see and sign contracts."))
    return member


def contracts_of(member: Member) -> QuerySet[Contract]:
    """The member's organisation's contracts, newest first, with what the list shows."""
    return (
        Contract.objects.for_org(member.organisation)
        .select_related("tier", "signed_by")
        .order_by("-starts_on", "-pk")
    )


def contract_for_user(user: User | AnonymousUser, reference: str) -> Contract:
    """One of the viewer's organisation's contracts by reference; 404 for another
    organisation's (never 403, which would confirm it exists), 403 for a requester."""
    member = signing_member_for_user(user)
    contract = (
        contracts_of(member)
        .select_related("organisation__home_region")
        .filter(reference=reference)
        .order_by()
        .first()
    )
    if contract is None:
        raise Http404("No such contract.")
    return contract


def contract_history(contract: Contract) -> QuerySet[ContractEvent]:
    return contract.events.select_related("actor").order_by("at", "pk")


def minutes_text(minutes: int | None) -> str:
    """A target in words: "45 min", "4 h", "2 h 30 min"."""
    if minutes is None:
        return _("not promised")
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if not rest:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest}


@dataclass(frozen=True)
class PromiseText:
    clock: str
    label: str
    text: str
    promised: bool
    around_the_clock: bool


@dataclass(frozen=True)
class PriorityPromises:
    priority: str
    label: str
    promises: tuple[PromiseText, ...]


@dataclass(frozen=True)
class TermsView:
    """A tier's (or a contract's) terms as a customer reads them before signing, from the
    terms' JSON itself: what is shown is exactly what is hashed and signed."""

    code: str
    name: str
    monthly_fee: str
    currency: str
    coverage: str
    compliance_objective: str
    warning_thresholds: list[int]
    priorities: list[PriorityPromises]
    service_credits: list[dict[str, str]]
    p1_breach_credit_percent: str
    credit_cap_percent: str
    terms_hash: str
    terms: dict[str, Any]


def terms_view(terms: dict[str, Any]) -> TermsView:
    """The presentation of `terms` (`contracts.terms.tier_terms` JSON); pure, no query."""
    coverage = terms.get("coverage", "")
    everything = coverage == SLATier.Coverage.ALWAYS
    priorities = []
    for priority in Priority.values:
        minutes = terms.get("targets", {}).get(priority)
        if minutes is None:
            continue
        around = set(terms.get("around_the_clock", {}).get(priority, ()))
        priorities.append(
            PriorityPromises(
                priority=priority,
                label=str(Priority(priority).label),
                promises=tuple(
                    PromiseText(
                        clock=clock,
                        label=str(Clock(clock).label),
                        text=minutes_text(minutes.get(clock)),
                        promised=minutes.get(clock) is not None,
                        around_the_clock=everything or clock in around,
                    )
                    for clock in CLOCKS
                ),
            )
        )
    try:
        coverage_label = str(SLATier.Coverage(coverage).label)
    except ValueError:
        coverage_label = coverage
    return TermsView(
        code=terms.get("tier", {}).get("code", ""),
        name=terms.get("tier", {}).get("name", ""),
        monthly_fee=terms.get("monthly_fee", ""),
        currency=terms.get("currency", ""),
        coverage=coverage_label,
        compliance_objective=terms.get("compliance_objective", ""),
        warning_thresholds=list(terms.get("warning_thresholds", [])),
        priorities=priorities,
        service_credits=list(terms.get("service_credits", [])),
        p1_breach_credit_percent=terms.get("p1_breach_credit_percent", "0"),
        credit_cap_percent=terms.get("credit_cap_percent", "100"),
        terms_hash=terms_hash(terms),
        terms=terms,
    )


def offer_of(tier: SLATier) -> TermsView:
    """What signing for `tier` today means: its current terms (`tier_terms`), as the service
    will record them as the tier's current version, and their hash."""
    return terms_view(tier_terms(tier=tier))


def tiers_on_offer() -> list[TermsView]:
    """Every tier's current terms, cheapest first: one query for the tiers, two per tier for
    its targets and bands (as `tier_terms` reads them, so the hash shown is the one signed)."""
    return [offer_of(tier) for tier in SLATier.objects.order_by("monthly_fee", "code")]


def tier_on_offer(code: str) -> SLATier:
    tier = SLATier.objects.filter(code=code).first()
    if tier is None:
        raise Http404("No such tier.")
    return tier


def member_today(member: Member, *, now: datetime) -> date:
    """Today in the organisation's home zone: the day start dates are checked against."""
    return now.astimezone(ZoneInfo(member.organisation.home_region.time_zone)).date()


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the tiers side by side: what it is about, then one cell per tier."""

    group: str
    label: str
    cells: list[str]


def credits_text(view: TermsView) -> str:
    bands = [
        _("below %(below)s%%: %(credit)s%%")
        % {"below": band["below_percent"], "credit": band["credit_percent"]}
        for band in view.service_credits
    ]
    return "; ".join(bands) or _("none")


def promise_text(promise: PromiseText | None) -> str:
    if promise is None or not promise.promised:
        return "—"
    if promise.around_the_clock:
        return _("%(target)s (around the clock)") % {"target": promise.text}
    return promise.text


def offers_compared(offers: list[TermsView]) -> list[ComparisonRow]:
    """The tiers' terms side by side, a row per promise and per commercial term; pure."""
    rows = [
        ComparisonRow("", _("Monthly fee"), [f"{o.monthly_fee} {o.currency}" for o in offers]),
        ComparisonRow("", _("Coverage calendar"), [o.coverage for o in offers]),
    ]
    for priority in Priority.values:
        if not any(p.priority == priority for o in offers for p in o.priorities):
            continue
        group = str(Priority(priority).label)
        for index, clock in enumerate(CLOCKS):
            cells = []
            for offer in offers:
                found = next((p for p in offer.priorities if p.priority == priority), None)
                cells.append(promise_text(found.promises[index] if found else None))
            rows.append(ComparisonRow(group, str(Clock(clock).label), cells))
    rows += [
        ComparisonRow(
            "",
            _("Warnings at"),
            [", ".join(f"{t}%" for t in o.warning_thresholds) or "—" for o in offers],
        ),
        ComparisonRow(
            "", _("Compliance objective"), [f"{o.compliance_objective}%" for o in offers]
        ),
        ComparisonRow("", _("Service credits (monthly)"), [credits_text(o) for o in offers]),
        ComparisonRow(
            "",
            _("Credit per P1 breach"),
            [f"{o.p1_breach_credit_percent}%" for o in offers],
        ),
        ComparisonRow("", _("Credit cap"), [f"{o.credit_cap_percent}%" for o in offers]),
    ]
    return rows
