"""Service credits: the bands at their edges, the per-P1 credit, the cap, pro-rating; and
properties that hold for any terms."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.statements.credits import (
    band_for,
    contract_credit,
    days_covered,
    percent_of,
)

BANDS = [
    {"below_percent": "99.00", "credit_percent": "5.00"},
    {"below_percent": "95.00", "credit_percent": "10.00"},
    {"below_percent": "90.00", "credit_percent": "25.00"},
]
TERMS = {
    "monthly_fee": "1000.00",
    "service_credits": BANDS,
    "p1_breach_credit_percent": "3.00",
    "credit_cap_percent": "30.00",
}


@pytest.mark.parametrize(
    ("compliance", "credit_percent"),
    [
        ("100.00", None),
        ("99.00", None),  # at the edge: not below it
        ("98.99", "5.00"),
        ("95.00", "5.00"),
        ("94.99", "10.00"),
        ("90.00", "10.00"),
        ("89.99", "25.00"),
        ("0.00", "25.00"),
    ],
)
def test_the_band_is_the_lowest_one_the_compliance_is_below(compliance, credit_percent):
    band = band_for(Decimal(compliance), BANDS)
    assert (band["credit_percent"] if band else None) == credit_percent


def test_nothing_in_scope_earns_no_band():
    assert band_for(None, BANDS) is None
    assert percent_of(met=0, in_scope=0) is None


@pytest.mark.parametrize(
    ("compliance", "p1_breaches", "band_credit", "p1_credit", "credit"),
    [
        ("99.50", 0, "0.00", "0.00", "0.00"),
        ("97.00", 1, "50.00", "30.00", "80.00"),
        ("92.00", 2, "100.00", "60.00", "160.00"),
        ("85.00", 1, "250.00", "30.00", "280.00"),
        ("85.00", 2, "250.00", "60.00", "300.00"),  # exactly the cap
        ("85.00", 9, "250.00", "270.00", "300.00"),  # capped at 30 % of 1,000
    ],
)
def test_a_full_month_at_each_band_and_at_the_cap(
    compliance, p1_breaches, band_credit, p1_credit, credit
):
    result = contract_credit(
        terms=TERMS,
        days=30,
        days_in_month=30,
        compliance=Decimal(compliance),
        p1_breaches=p1_breaches,
    )
    assert str(result.band_credit) == band_credit
    assert str(result.p1_credit) == p1_credit
    assert str(result.credit) == credit


def test_terms_signed_before_the_p1_credit_and_the_cap_read_as_none_and_no_cap():
    old = {"monthly_fee": "1000.00", "service_credits": BANDS}
    result = contract_credit(
        terms=old, days=31, days_in_month=31, compliance=Decimal("50"), p1_breaches=4
    )
    assert (result.p1_credit, result.cap, result.credit) == (
        Decimal("0.00"),
        Decimal("1000.00"),
        Decimal("250.00"),
    )


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "days"),
    [
        (date(2026, 1, 1), None, 31),
        (date(2026, 10, 15), None, 17),
        (date(2026, 1, 1), date(2026, 10, 14), 14),
        (date(2026, 10, 10), date(2026, 10, 10), 1),
        (date(2026, 11, 1), None, 0),
        (date(2026, 1, 1), date(2026, 9, 30), 0),
    ],
)
def test_days_covered_in_october(starts_on, ends_on, days):
    assert days_covered(starts_on=starts_on, ends_on=ends_on, month=date(2026, 10, 1)) == days


fees = st.decimals(min_value=0, max_value=100_000, places=2)
percents = st.decimals(min_value=0, max_value=100, places=2)


@given(
    fee=fees,
    cap=percents,
    per_breach=percents,
    compliance=st.none() | percents,
    breaches=st.integers(0, 50),
    days=st.integers(0, 31),
)
def test_a_credit_is_in_cents_never_negative_and_never_over_the_cap(
    fee, cap, per_breach, compliance, breaches, days
):
    terms = {
        "monthly_fee": str(fee),
        "service_credits": BANDS,
        "p1_breach_credit_percent": str(per_breach),
        "credit_cap_percent": str(cap),
    }
    result = contract_credit(
        terms=terms, days=days, days_in_month=31, compliance=compliance, p1_breaches=breaches
    )
    assert Decimal("0") <= result.credit <= result.cap <= result.prorated_fee <= fee
    assert result.credit == result.credit.quantize(Decimal("0.01"))
    assert result.credit == min(result.band_credit + result.p1_credit, result.cap)


@given(met=st.integers(0, 10_000), extra=st.integers(0, 10_000))
def test_compliance_is_a_percentage_rounded_to_the_cent(met, extra):
    percent = percent_of(met=met, in_scope=met + extra)
    if met + extra == 0:
        assert percent is None
    else:
        assert Decimal("0") <= percent <= Decimal("100")
        assert abs(percent - Decimal(met * 100) / (met + extra)) <= Decimal("0.005")
