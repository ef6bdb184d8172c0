"""Property tests for contracts.business_time.

The comparisons run against ``MinuteReference``, a deliberately slow and simple
model written here from the documented rules alone: it walks UTC minute by
minute, reads the local wall clock, and decides "open" from the weekly table.

The DST rule is modelled through the clock's *high-water mark*: a wall-clock
boundary ``w`` is reached at the first instant at which the local clock has shown
``w`` or later. That gives "nonexistent times open when the clock jumps" and
"ambiguous times mean the first occurrence" without any offset arithmetic.
All inputs of the reference comparisons are minute-aligned; every zone used has
whole-minute offsets in the years tested, so the status is constant within a minute.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.business_time import WorkingSchedule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE = timedelta(minutes=1)
US = timedelta(microseconds=1)

ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",  # "negative" DST in tzdata
    "America/New_York",
    "America/St_Johns",  # -03:30 with DST
    "America/Sao_Paulo",  # no DST since 2019
    "America/Santiago",  # transitions at 24:00
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kathmandu",  # +05:45
    "Asia/Singapore",
    "Asia/Riyadh",
)

# Local dates of DST transitions per zone (São Paulo's last ones were in 2018).
TRANSITION_DAYS = {
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
    "Europe/Dublin": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "America/St_Johns": (date(2026, 3, 8), date(2026, 11, 1)),
    "America/Sao_Paulo": (date(2018, 2, 17), date(2018, 11, 4)),
    "America/Santiago": (date(2026, 4, 4), date(2026, 9, 6)),
    "Australia/Lord_Howe": (date(2026, 4, 5), date(2026, 10, 4)),
    "Pacific/Chatham": (date(2026, 4, 5), date(2026, 9, 27)),
}
# Ordinary days, a year end, and the days above for zones that do not change then.
OTHER_DAYS = (
    date(2026, 1, 14),
    date(2026, 3, 29),
    date(2026, 6, 17),
    date(2026, 11, 1),
    date(2026, 12, 18),
    date(2026, 12, 31),
)
# Wall-clock times at which the zones above jump, plus a fine grid around them.
HOT_MINUTES = (0, 30, 60, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240, 1380, 1410, 1440)

SLOW = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- strategies -------------------------------------------------------------------------------


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_intervals(draw) -> list:
    """0-3 non-overlapping intervals on a 15-minute grid; the last may run overnight."""
    count = draw(st.integers(0, 3))
    point = st.one_of(st.sampled_from(HOT_MINUTES), st.integers(0, 96).map(lambda q: q * 15))
    points = sorted(draw(st.sets(point, min_size=2 * count, max_size=2 * count)))
    pairs = [(points[2 * i], points[2 * i + 1]) for i in range(count)]
    if pairs and pairs[-1][0] > 0 and draw(st.booleans()):
        start = pairs[-1][0]
        pairs[-1] = (start, draw(st.integers(0, start - 1)))  # ends on the next day
    as_list = draw(st.booleans())  # JSON gives lists, Python callers tuples
    return [[_hhmm(s), _hhmm(e)] if as_list else (_hhmm(s), _hhmm(e)) for s, e in pairs]


@st.composite
def calendars(draw, zones=ZONES) -> dict:
    tz = draw(st.sampled_from(zones))
    weekly = {}
    for day in WEEKDAYS:
        intervals = draw(day_intervals())
        if intervals or draw(st.booleans()):
            weekly[day] = intervals
    transitions = TRANSITION_DAYS.get(tz, ())
    if transitions and draw(st.integers(0, 3)):
        base = draw(st.sampled_from(transitions))
    else:
        base = draw(st.sampled_from(OTHER_DAYS))
    offsets = draw(st.sets(st.integers(-3, 14), max_size=4))
    holidays = sorted(base + timedelta(days=o) for o in offsets)
    return {"tz": tz, "weekly": weekly, "holidays": holidays, "base": base}


def _base_instant(calendar: dict) -> datetime:
    base = calendar["base"]
    return datetime(base.year, base.month, base.day, tzinfo=UTC) - timedelta(days=1)


@st.composite
def minute_pauses(draw, start: datetime, open_ended: bool = True) -> list:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + draw(st.integers(-6 * 60, 3 * 1440)) * MINUTE
        if open_ended and draw(st.integers(0, 9)) == 0:
            pauses.append((begin, None))
        else:
            pauses.append((begin, begin + draw(st.integers(-60, 2 * 1440)) * MINUTE))
    return pauses


@st.composite
def micro_pauses(draw, start: datetime) -> list:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + draw(st.integers(-6 * 3600, 3 * 86400)) * timedelta(seconds=1)
        begin += draw(st.integers(0, 999_999)) * US
        length = draw(st.integers(-3600 * 10**6, 2 * 86400 * 10**6)) * US
        pauses.append((begin, begin + length))
    return pauses


# -- the slow reference ------------------------------------------------------------------------


def _parse(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class MinuteReference:
    """Open/closed for each UTC minute from ``origin`` on, found by stepping minutes."""

    def __init__(self, tz: str, weekly: dict, holidays, origin: datetime) -> None:
        self.zone = ZoneInfo(tz)
        self.table = {WEEKDAYS.index(day): [] for day in WEEKDAYS}
        for day, intervals in weekly.items():
            for start_text, end_text in intervals:
                start, end = _parse(start_text), _parse(end_text)
                if end <= start:
                    end += 1440  # overnight: ends on the next day
                self.table[WEEKDAYS.index(day)].append((start, end))
        self.holidays = set(holidays)
        self.origin = origin
        self.flags: list[bool] = []
        # High-water mark of the wall clock: the latest local time shown so far.
        self.mark = max(self._wall(origin - k * MINUTE) for k in range(1, 241))

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def _open_at_mark(self, mark: datetime) -> bool:
        for day in (mark.date() - timedelta(days=1), mark.date()):
            if day in self.holidays:
                continue
            midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - wall time
            for start, end in self.table[day.weekday()]:
                if midnight + start * MINUTE <= mark < midnight + end * MINUTE:
                    return True
        return False

    def is_open(self, instant: datetime) -> bool:
        index = (instant - self.origin) // MINUTE
        assert index >= 0
        while len(self.flags) <= index:
            minute = self.origin + len(self.flags) * MINUTE
            self.mark = max(self.mark, self._wall(minute))
            self.flags.append(self._open_at_mark(self.mark))
        return self.flags[index]

    @staticmethod
    def paused(instant: datetime, pauses) -> bool:
        return any(begin <= instant and (end is None or instant < end) for begin, end in pauses)

    def counts(self, minute: datetime, pauses) -> bool:
        return self.is_open(minute) and not self.paused(minute, pauses)

    def elapsed(self, start: datetime, end: datetime, pauses=()) -> timedelta:
        total = timedelta(0)
        minute = start
        while minute < end:
            if self.counts(minute, pauses):
                total += MINUTE
            minute += MINUTE
        return total

    def next_open(self, at: datetime, limit: datetime) -> datetime | None:
        minute = at
        while minute < limit:
            if self.is_open(minute):
                return minute
            minute += MINUTE
        return None

    def add(self, start: datetime, amount: timedelta, limit: datetime, pauses=()):
        if amount == timedelta(0):
            return self.next_open(start, limit)
        remaining = amount
        minute = start
        while minute < limit:
            if self.counts(minute, pauses):
                remaining -= MINUTE
                if remaining == timedelta(0):
                    return minute + MINUTE
            minute += MINUTE
        return None


def _schedule(calendar: dict) -> WorkingSchedule:
    return WorkingSchedule(calendar["tz"], calendar["weekly"], calendar["holidays"])


def _reference(calendar: dict, origin: datetime) -> MinuteReference:
    return MinuteReference(calendar["tz"], calendar["weekly"], calendar["holidays"], origin)


# -- agreement with the reference ---------------------------------------------------------------


@SLOW
@given(data=st.data(), calendar=calendars())
def test_add_agrees_with_the_minute_stepping_reference(data, calendar):
    schedule = _schedule(calendar)
    origin = _base_instant(calendar)
    start = origin + data.draw(st.integers(0, 3 * 1440)) * MINUTE
    amount = data.draw(st.integers(0, 36 * 60)) * MINUTE
    pauses = data.draw(minute_pauses(start))
    limit = start + timedelta(days=10)
    expected = _reference(calendar, origin).add(start, amount, limit, pauses)

    if not schedule.has_open_hours:
        assert expected is None
        with pytest.raises(ValueError, match="no open hours"):
            schedule.add(start, amount, pauses)
        return
    try:
        due = schedule.add(start, amount, pauses)
    except ValueError as error:
        assert "paused indefinitely" in str(error)
        assert expected is None
        assert any(end is None for _, end in pauses)
        return
    if expected is None:  # the reference gave up at its horizon
        assert due >= limit
    else:
        assert due == expected
    assert due.tzinfo is UTC


@SLOW
@given(data=st.data(), calendar=calendars())
def test_elapsed_agrees_with_the_minute_stepping_reference(data, calendar):
    schedule = _schedule(calendar)
    origin = _base_instant(calendar)
    start = origin + data.draw(st.integers(0, 3 * 1440)) * MINUTE
    end = origin + data.draw(st.integers(0, 4 * 1440)) * MINUTE
    pauses = data.draw(minute_pauses(start))
    expected = _reference(calendar, origin).elapsed(start, end, pauses)
    assert schedule.elapsed(start, end, pauses) == expected


@SLOW
@given(data=st.data(), calendar=calendars())
def test_is_open_and_next_open_agree_with_the_minute_stepping_reference(data, calendar):
    schedule = _schedule(calendar)
    origin = _base_instant(calendar)
    reference = _reference(calendar, origin)
    for _ in range(5):
        at = origin + data.draw(st.integers(0, 3 * 1440)) * MINUTE
        assert schedule.is_open(at) == reference.is_open(at)
        if not schedule.has_open_hours:
            continue
        limit = at + timedelta(days=8)
        expected = reference.next_open(at, limit)
        found = schedule.next_open(at)
        assert found == expected if expected is not None else found >= limit


@SLOW
@given(data=st.data(), calendar=calendars())
def test_open_intervals_agree_with_is_open_and_elapsed(data, calendar):
    schedule = _schedule(calendar)
    origin = _base_instant(calendar)
    start = origin + data.draw(st.integers(0, 3 * 1440)) * MINUTE
    end = start + data.draw(st.integers(0, 4 * 1440)) * MINUTE
    intervals = schedule.open_intervals(start, end)
    # Together they hold exactly the open time, in order, apart and inside the window...
    assert sum((b - a for a, b in intervals), timedelta(0)) == schedule.elapsed(start, end)
    for (a, b), (c, _d) in zip(intervals, intervals[1:], strict=False):
        assert a < b < c
    assert all(start <= a and b <= end for a, b in intervals)
    # ...and every interval is open from its first minute to its last.
    for a, b in intervals:
        assert schedule.is_open(a) and schedule.is_open(b - MINUTE)
        assert b == end or not schedule.is_open(b)


# -- algebraic properties (any microsecond) ------------------------------------------------------


def _micro_instant(data, calendar: dict, days: int = 3) -> datetime:
    seconds = data.draw(st.integers(0, days * 86400))
    return _base_instant(calendar) + timedelta(
        seconds=seconds, microseconds=data.draw(st.integers(0, 999_999))
    )


def _micro_amount(data, max_days: int = 10) -> timedelta:
    return data.draw(st.integers(0, max_days * 86400 * 10**6)) * US


@FAST
@given(data=st.data(), calendar=calendars())
def test_elapsed_until_add_gives_back_the_amount(data, calendar):
    schedule = _schedule(calendar)
    if not schedule.has_open_hours:
        return
    start = _micro_instant(data, calendar)
    amount = _micro_amount(data)
    pauses = data.draw(micro_pauses(start))
    assert schedule.elapsed(start, schedule.add(start, amount)) == amount
    assert schedule.elapsed(start, schedule.add(start, amount, pauses), pauses) == amount
    opened = schedule.next_open(start)
    assert schedule.elapsed(opened, schedule.add(opened, amount)) == amount


@FAST
@given(data=st.data(), calendar=calendars())
def test_add_never_decreases_when_start_or_amount_grows(data, calendar):
    schedule = _schedule(calendar)
    if not schedule.has_open_hours:
        return
    early, late = sorted((_micro_instant(data, calendar), _micro_instant(data, calendar)))
    small, large = sorted((_micro_amount(data), _micro_amount(data)))
    assert schedule.add(early, small) <= schedule.add(late, small)
    assert schedule.add(early, small) <= schedule.add(early, large)
    pauses = data.draw(micro_pauses(early))
    assert schedule.add(early, small, pauses) <= schedule.add(late, small, pauses)
    assert schedule.add(early, small, pauses) <= schedule.add(early, large, pauses)


@FAST
@given(data=st.data(), calendar=calendars())
def test_elapsed_never_decreases_when_end_grows(data, calendar):
    schedule = _schedule(calendar)
    start = _micro_instant(data, calendar)
    near, far = sorted((_micro_instant(data, calendar, 6), _micro_instant(data, calendar, 6)))
    assert schedule.elapsed(start, near) <= schedule.elapsed(start, far)
    assert schedule.elapsed(start, far) <= max(far - start, timedelta(0))
    pauses = data.draw(micro_pauses(start))
    assert schedule.elapsed(start, near, pauses) <= schedule.elapsed(start, far, pauses)
    assert schedule.elapsed(start, far, pauses) <= schedule.elapsed(start, far)


@FAST
@given(data=st.data(), calendar=calendars())
def test_pauses_only_ever_delay(data, calendar):
    schedule = _schedule(calendar)
    if not schedule.has_open_hours:
        return
    start = _micro_instant(data, calendar)
    amount = _micro_amount(data)
    pauses = data.draw(micro_pauses(start))
    assert schedule.add(start, amount, pauses) >= schedule.add(start, amount)


ALWAYS_UTC = WorkingSchedule("UTC", {day: [("00:00", "24:00")] for day in WEEKDAYS})


@FAST
@given(
    start=st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - bounds of a UTC strategy
        max_value=datetime(2200, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    amount=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
)
def test_24x7_utc_add_is_plain_addition(start, amount):
    assert ALWAYS_UTC.add(start, amount) == start + amount
    assert ALWAYS_UTC.elapsed(start, start + amount) == amount
    assert ALWAYS_UTC.is_open(start)
    assert ALWAYS_UTC.next_open(start) == start


@FAST
@given(data=st.data(), calendar=calendars())
def test_add_lands_on_an_open_instant_or_a_closing_instant(data, calendar):
    schedule = _schedule(calendar)
    if not schedule.has_open_hours:
        return
    start = _micro_instant(data, calendar)
    amount = _micro_amount(data) + US
    due = schedule.add(start, amount)
    assert schedule.is_open(due) or schedule.is_open(due - US)
    assert due > start


@FAST
@given(data=st.data(), calendar=calendars())
def test_next_open_is_open_and_not_before_the_instant(data, calendar):
    schedule = _schedule(calendar)
    at = _micro_instant(data, calendar)
    if not schedule.has_open_hours:
        assert not schedule.is_open(at)
        return
    found = schedule.next_open(at)
    assert found >= at
    assert schedule.is_open(found)
    assert (found == at) == schedule.is_open(at)
    assert schedule.elapsed(at, found) == timedelta(0)
