"""Service-credit arithmetic, in `Decimal` to the cent: pure functions of the signed terms and
the month's figures (the rules are in `docs/statements.md`).

>>> percent_of(met=11, in_scope=12)
Decimal('91.67')
>>> contract_credit(
...     terms={"monthly_fee": "1000.00", "service_credits": [
...         {"below_percent": "99.00", "credit_percent": "5.00"},
...         {"below_percent": "95.00", "credit_percent": "10.00"}],
...         "p1_breach_credit_percent": "2.00", "credit_cap_percent": "15.00"},
...     days=15, days_in_month=30, compliance=Decimal("94.00"), p1_breaches=1,
... ).credit
Decimal('70.00')
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
# Terms signed before the per-P1 credit and the cap existed.
NO_P1_CREDIT = "0"
NO_CAP = "100"


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(*, met: int, in_scope: int) -> Decimal | None:
    """`met` in `in_scope` as a percentage to two decimals, half up; None when nothing counted."""
    if in_scope == 0:
        return None
    return cents(Decimal(met) * HUNDRED / Decimal(in_scope))


def month_last_day(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


def days_covered(*, starts_on: date, ends_on: date | None, month: date) -> int:
    """How many days of `month` a contract from `starts_on` to `ends_on` (inclusive) covers."""
    first, last = month, month_last_day(month)
    start = max(starts_on, first)
    end = min(ends_on or last, last)
    return max((end - start + timedelta(days=1)).days, 0)


def band_for(compliance: Decimal | None, bands: list[dict[str, str]]) -> dict[str, str] | None:
    """The credit band a month's compliance falls in: the band with the lowest `below_percent`
    the compliance is below; None when it is below none (or nothing was in scope)."""
    if compliance is None:
        return None
    below = [band for band in bands if compliance < Decimal(band["below_percent"])]
    return min(below, key=lambda band: Decimal(band["below_percent"]), default=None)


@dataclass(frozen=True)
class ContractCredit:
    prorated_fee: Decimal
    band: dict[str, str] | None
    band_credit: Decimal
    p1_credit: Decimal
    cap: Decimal
    credit: Decimal


def contract_credit(
    *,
    terms: dict[str, Any],
    days: int,
    days_in_month: int,
    compliance: Decimal | None,
    p1_breaches: int,
) -> ContractCredit:
    """What one contract in force pays back for the month, under its signed `terms`."""
    fee = Decimal(terms["monthly_fee"])
    prorated = cents(fee * days / days_in_month)
    band = band_for(compliance, terms.get("service_credits", []))
    band_credit = cents(prorated * Decimal(band["credit_percent"]) / HUNDRED) if band else CENT * 0
    per_breach = Decimal(terms.get("p1_breach_credit_percent", NO_P1_CREDIT))
    p1_credit = cents(fee * per_breach * p1_breaches / HUNDRED)
    cap = cents(prorated * Decimal(terms.get("credit_cap_percent", NO_CAP)) / HUNDRED)
    return ContractCredit(
        prorated_fee=prorated,
        band=band,
        band_credit=band_credit,
        p1_credit=p1_credit,
        cap=cap,
        credit=min(band_credit + p1_credit, cap),
    )
