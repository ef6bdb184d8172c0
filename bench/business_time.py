"""Benchmark contracts.business_time: WorkingSchedule.add and .elapsed.

Run from the project root:

    .venv/bin/python bench/business_time.py [--calls N] [--seed S]

A Berlin split-shift calendar (mon-fri 08:00-12:00 and 13:00-18:00, sat 09:00-13:00)
with Berlin's public holidays plus 24 and 31 December. Random starts are spread over
2025-2027, amounts run from 1 minute to 30 days; all inputs are generated before
timing. Target: under 20 microseconds per call.
"""

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import holidays as holiday_calendars

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.business_time import WorkingSchedule  # noqa: E402

YEARS = range(2025, 2029)  # starts in 2025-2027; 30-day budgets can run into 2028
WEEKLY = {
    **{
        day: [("08:00", "12:00"), ("13:00", "18:00")] for day in ("mon", "tue", "wed", "thu", "fri")
    },
    "sat": [("09:00", "13:00")],
}


def berlin_holidays() -> list[date]:
    public = holiday_calendars.country_holidays("DE", subdiv="BE", years=YEARS)
    closures = [date(year, 12, day) for year in YEARS for day in (24, 31)]
    return sorted(set(public) | set(closures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls per operation")
    parser.add_argument("--seed", type=int, default=20260101, help="random seed")
    args = parser.parse_args()

    days_off = berlin_holidays()
    schedule = WorkingSchedule("Europe/Berlin", WEEKLY, days_off)

    rng = random.Random(args.seed)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    span_us = int((datetime(2028, 1, 1, tzinfo=UTC) - first) / timedelta(microseconds=1))
    starts = [first + timedelta(microseconds=rng.randrange(span_us)) for _ in range(args.calls)]
    amounts = [timedelta(seconds=rng.randint(60, 30 * 86400)) for _ in range(args.calls)]
    ends = [start + timedelta(seconds=rng.randint(60, 30 * 86400)) for start in starts]

    print("calendar: Europe/Berlin, mon-fri 08:00-12:00 + 13:00-18:00, sat 09:00-13:00")
    print(
        f"holidays: {len(days_off)} in {YEARS.start}-{YEARS.stop - 1} "
        f"({len(days_off) / len(YEARS):.1f} a year)"
    )
    print(
        f"calls:    {args.calls:,} per operation; starts 2025-2027, "
        f"amounts 1 min .. 30 days, seed {args.seed}"
    )

    began = time.perf_counter()
    for year in YEARS:
        schedule.is_open(datetime(year, 6, 1, tzinfo=UTC))
    warm = time.perf_counter() - began
    print(
        f"cold cache: first use of {len(YEARS)} years (interval tables built) {warm * 1e3:.1f} ms"
    )

    add = schedule.add
    began = time.perf_counter()
    for start, amount in zip(starts, amounts, strict=True):
        add(start, amount)
    took = time.perf_counter() - began
    print(f"add:      {took:.3f} s total, {took / args.calls * 1e6:.2f} us/call")

    elapsed = schedule.elapsed
    began = time.perf_counter()
    for start, end in zip(starts, ends, strict=True):
        elapsed(start, end)
    took = time.perf_counter() - began
    print(f"elapsed:  {took:.3f} s total, {took / args.calls * 1e6:.2f} us/call")

    checked = min(args.calls, 1000)
    for start, amount in zip(starts[:checked], amounts[:checked], strict=True):
        if elapsed(start, add(start, amount)) != amount:
            raise SystemExit(f"inconsistent result for add({start}, {amount})")
    print(f"check:    elapsed(start, add(start, d)) == d for the first {checked:,} inputs")


if __name__ == "__main__":
    main()
