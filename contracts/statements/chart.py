"""The arithmetic of the statements' compliance chart: which months it spans, the percent axis
and its ticks, and where a value lands on the page. Pure: no database, no drawing (the PDF
export draws with these numbers, `contracts/statements/exports/pdf.py`)."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def months_ending(month: date, count: int) -> list[date]:
    """The first days of the `count` months that end with `month`'s, oldest first.

    >>> [f"{m:%Y-%m}" for m in months_ending(date(2026, 2, 1), 3)]
    ['2025-12', '2026-01', '2026-02']
    """
    if count < 1:
        raise ValueError("a chart spans at least one month")
    index = month.year * 12 + month.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


def percent(met: int, in_scope: int) -> Decimal | None:
    """Met over in scope as a percent, to two decimals, half up (`docs/statements.md`); None
    when nothing was in scope (no promise, no compliance to show).

    >>> percent(2, 3), percent(0, 0)
    (Decimal('66.67'), None)
    """
    if in_scope <= 0:
        return None
    return (HUNDRED * met / in_scope).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Axis:
    """A value axis: its two ends and the values that get a tick and a label."""

    low: float
    high: float
    ticks: tuple[float, ...]


def percent_axis(values: list[float], *, floor_step: float = 10.0) -> Axis:
    """The compliance axis: always up to 100 %, down to the lowest value (or objective) rounded
    down to a multiple of `floor_step`, so that a month at 99.5 % and one at 96 % are told
    apart rather than both drawn at the top of a 0-100 scale.

    >>> percent_axis([96.5, 99.0])
    Axis(low=90.0, high=100.0, ticks=(90.0, 92.0, 94.0, 96.0, 98.0, 100.0))
    >>> percent_axis([]).low, percent_axis([0.0]).low
    (0.0, 0.0)
    """
    if not values:
        return Axis(0.0, 100.0, nice_ticks(0.0, 100.0))
    lowest = min(max(0.0, min(values)), 100.0)
    low = (lowest // floor_step) * floor_step
    if low >= 100.0:
        low = 100.0 - floor_step
    return Axis(low, 100.0, nice_ticks(low, 100.0))


def nice_ticks(low: float, high: float, *, at_most: int = 6) -> tuple[float, ...]:
    """Ticks at a "nice" step (1, 2 or 5 times a power of ten) between `low` and `high`
    inclusive, at most `at_most` of them.

    >>> nice_ticks(0.0, 100.0)
    (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
    >>> nice_ticks(70.0, 100.0)
    (70.0, 80.0, 90.0, 100.0)
    """
    if high <= low:
        return (low,)
    span = high - low
    step = 0.0
    magnitude = 10.0 ** _floor_log10(span / max(1, at_most - 1))
    for factor in (1.0, 2.0, 5.0, 10.0):
        step = factor * magnitude
        if span / step + 1 <= at_most:
            break
    first = -(-low // step) * step  # the first multiple of step at or above low
    count = int((high - first) / step + 1e-9) + 1
    # Rounded so that 0.1 steps do not print as 0.30000000000000004.
    return tuple(round(first + i * step, 10) for i in range(count))


def _floor_log10(value: float) -> int:
    exponent = 0
    while value >= 10:
        value /= 10
        exponent += 1
    while value < 1:
        value *= 10
        exponent -= 1
    return exponent


def scale(value: float, *, domain: tuple[float, float], span: tuple[float, float]) -> float:
    """Where `value` of `domain` lands in `span` (linear; a value outside the domain is held
    at its nearer end so that a point never leaves the plot).

    >>> scale(95.0, domain=(90.0, 100.0), span=(100.0, 20.0))
    60.0
    """
    low, high = domain
    if high == low:
        return span[0]
    share = (min(max(value, low), high) - low) / (high - low)
    return span[0] + share * (span[1] - span[0])
