"""Business-time arithmetic for SLA clocks: open hours, holidays, DST and pauses.

A :class:`WorkingSchedule` describes when a support calendar is *open*, in the
calendar's own IANA time zone, and answers four questions exactly (to the
microsecond) and quickly (a few bisects per call, no minute stepping)::

    schedule.add(start, amount, pauses=())      -> datetime   # when is the budget used up?
    schedule.elapsed(start, end, pauses=())     -> timedelta  # how much open time has run?
    schedule.is_open(at)                        -> bool
    schedule.next_open(at)                      -> datetime

Defining a schedule
-------------------
``WorkingSchedule(tz, weekly, holidays=())``

* ``tz`` is an IANA zone name such as ``"Europe/Berlin"``.
* ``weekly`` maps ``"mon"`` ... ``"sun"`` to a list of local ``("HH:MM", "HH:MM")``
  intervals; two-element lists are accepted too (the data usually comes from
  JSON). A day may have several intervals (split shifts); a missing key or an
  empty list is a closed day. ``"24:00"`` is allowed as an end (never as a
  start). An interval whose end is earlier than its start runs overnight and
  belongs to the day it *starts* on (``("22:00", "06:00")`` on ``"fri"`` runs
  from Friday 22:00 to Saturday 06:00). ``00:00-24:00`` on every day is 24x7.
  Intervals of one day must not overlap each other (touching is fine).
* ``holidays`` are local dates. On a holiday the intervals that *start* on that
  date do not open; an overnight shift that started the evening before still
  runs into the holiday morning. Dates may also be given as ISO strings.

Anything malformed raises :class:`ValueError` naming the problem:

>>> WorkingSchedule("Mars/Base", {})
Traceback (most recent call last):
...
ValueError: unknown time zone 'Mars/Base'
>>> WorkingSchedule("UTC", {"mon": [("09:00", "12:30"), ("12:00", "13:00")]})
Traceback (most recent call last):
...
ValueError: weekly['mon'][1] '12:00-13:00' overlaps '09:00-12:30'

Datetimes
---------
Every datetime argument must be *aware* (any tzinfo; a naive one raises
``ValueError("naive datetime for start")`` and so on). Every datetime returned is
an aware UTC datetime (``tzinfo is datetime.UTC``). Supported instants run from
the year 2 to the year 9997; results beyond that raise ``ValueError``.

Conventions
-----------
The examples use this calendar (Berlin, weekdays 09:00-17:00, 2026-01-01 a holiday):

>>> from datetime import UTC, date, datetime, timedelta
>>> from zoneinfo import ZoneInfo
>>> berlin = ZoneInfo("Europe/Berlin")
>>> office = WorkingSchedule(
...     "Europe/Berlin",
...     {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
...     holidays=[date(2026, 1, 1)],
... )

1. Time outside open hours does not count; a clock started while closed starts
   counting at the next opening (Friday 16:00 + 2h is Monday 10:00 local, 09:00 UTC):

   >>> office.add(datetime(2026, 1, 9, 16, 0, tzinfo=berlin), timedelta(hours=2))
   datetime.datetime(2026, 1, 12, 9, 0, tzinfo=datetime.timezone.utc)
   >>> office.add(datetime(2026, 1, 10, 12, 0, tzinfo=berlin), timedelta(hours=1))
   datetime.datetime(2026, 1, 12, 9, 0, tzinfo=datetime.timezone.utc)

2. A budget that runs out exactly at a closing instant is due at that closing
   instant, not at the next opening (Friday 16:00 + 1h is Friday 17:00 local):

   >>> office.add(datetime(2026, 1, 9, 16, 0, tzinfo=berlin), timedelta(hours=1))
   datetime.datetime(2026, 1, 9, 16, 0, tzinfo=datetime.timezone.utc)

3. A zero amount returns the first open instant at or after ``start``, i.e.
   ``next_open(start)`` (pauses are not consulted for a zero amount):

   >>> office.add(datetime(2026, 1, 10, 12, 0, tzinfo=berlin), timedelta(0))
   datetime.datetime(2026, 1, 12, 8, 0, tzinfo=datetime.timezone.utc)

4. ``elapsed`` counts open time in ``[start, end)``; it is zero when ``end <= start``:

   >>> office.elapsed(
   ...     datetime(2026, 1, 9, 16, 0, tzinfo=berlin), datetime(2026, 1, 12, 10, 0, tzinfo=berlin)
   ... )
   datetime.timedelta(seconds=7200)
   >>> office.elapsed(datetime(2026, 1, 12, 10, 0, tzinfo=UTC), datetime(2026, 1, 9, tzinfo=UTC))
   datetime.timedelta(0)

5. ``is_open(at)`` is true for ``start <= at < end`` of an open interval;
   ``next_open(at)`` returns ``at`` (in UTC) when open, else the next opening:

   >>> office.is_open(datetime(2026, 1, 9, 17, 0, tzinfo=berlin))
   False
   >>> office.next_open(datetime(2026, 1, 9, 17, 0, tzinfo=berlin))
   datetime.datetime(2026, 1, 12, 8, 0, tzinfo=datetime.timezone.utc)

6. Wall-clock intervals are converted with the zone's rules on each date, so a
   09:00-17:00 day is always 8 hours while a 00:00-24:00 day lasts 23 hours on the
   spring-forward day and 25 hours on the fall-back day.

   *DST gap* (a nonexistent local time): a boundary falling into the gap maps to
   the transition instant, the instant the wall clock jumps to; a ``02:30``
   opening on the Berlin spring-forward night opens at 03:00 CEST (01:00 UTC).

   *DST fold* (an ambiguous local time): a boundary maps to its first occurrence
   (``fold=0``); ``02:30`` on the Berlin fall-back night is 02:30 CEST (00:30 UTC).

   Equivalently: a wall-clock boundary ``w`` is the first instant at which the
   local clock has shown ``w`` or later. This mapping is monotonic, so adjacent
   wall-clock intervals stay adjacent and intervals never turn negative (an
   interval lying wholly inside a gap is simply empty).

7. Open intervals that touch or overlap after conversion -- for instance an
   overnight shift running into the next day's morning shift -- merge into one
   continuous open period.

8. Pauses are ``(start, end)`` pairs of aware datetimes during which the clock
   does not run even if the calendar is open (a ticket waiting on the
   customer). They may overlap each other and closed hours; a pause with
   ``end <= start`` is empty. **An end of ``None`` means "still paused"**: the
   pause is open-ended and lasts forever. ``add`` returns the instant at which the
   un-paused open time since ``start`` reaches ``amount`` (a budget that runs out
   exactly when a pause begins is due at the pause's start); if an open-ended
   pause begins before that, the budget is never used up and ``add`` raises
   ``ValueError``. ``elapsed`` simply stops counting at the start of an
   open-ended pause.

   >>> monday_9 = datetime(2026, 1, 12, 9, 0, tzinfo=berlin)
   >>> lunch = (monday_9.replace(hour=12), monday_9.replace(hour=13))
   >>> office.add(monday_9, timedelta(hours=4), pauses=[lunch])
   datetime.datetime(2026, 1, 12, 13, 0, tzinfo=datetime.timezone.utc)
   >>> office.elapsed(monday_9, datetime(2026, 1, 13, tzinfo=berlin), pauses=[(lunch[0], None)])
   datetime.timedelta(seconds=10800)

9. A schedule without any open interval can be built; ``is_open`` is always
   false and ``elapsed`` always zero, but ``add`` and ``next_open`` raise
   ``ValueError("schedule has no open hours")``. A negative amount raises
   ``ValueError`` as well.

Implementation
--------------
Instants are handled as integer microseconds since the Unix epoch, so all
arithmetic is exact. Time is cut into fixed chunks of 365 days (aligned to the
epoch). The first time a chunk is needed, every local interval whose date could
reach into it is converted to UTC (with the DST rules above), clipped to the
chunk, sorted and merged, and stored with prefix sums of open time. ``add`` and
``elapsed`` are then a couple of bisects per chunk touched, and whole chunks are
skipped by their totals for long amounts. Chunks are cached on the instance
(filled lazily under a lock, read without one).

:class:`WorkingSchedule` is immutable, hashable, comparable by value (time zone,
normalised weekly intervals, holidays) and picklable, so callers may cache one
instance per calendar version and share it between threads.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["WEEKDAYS", "WorkingSchedule"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_US_PER_S = 1_000_000
_DAY_US = 86_400 * _US_PER_S
_CHUNK_US = 365 * _DAY_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: UTC wall time
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_TIME_RE = re.compile(r"(\d\d):(\d\d)")


def _td_us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US_PER_S + delta.microseconds


# Chunks that are safe to build: their local dates (a few days either side)
# stay well inside datetime's range.
_MIN_CHUNK = -(-_td_us(datetime(2, 1, 1, tzinfo=UTC) - _EPOCH) // _CHUNK_US)
_MAX_CHUNK = _td_us(datetime(9998, 1, 1, tzinfo=UTC) - _EPOCH) // _CHUNK_US - 1
_MIN_US = _MIN_CHUNK * _CHUNK_US
_MAX_US = (_MAX_CHUNK + 1) * _CHUNK_US  # exclusive
_INFINITY = 1 << 80  # end of an open-ended pause; larger than any supported instant


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _instant(value: object, name: str) -> int:
    """Return an aware datetime as integer microseconds since the epoch."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    tzinfo = value.tzinfo
    if tzinfo is None or (tzinfo is not UTC and value.utcoffset() is None):
        raise ValueError(f"naive datetime for {name}")
    delta = value - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * _US_PER_S + delta.microseconds
    if not _MIN_US <= us < _MAX_US:
        raise ValueError(
            f"{name} {value.isoformat()} is outside the supported range "
            f"({_from_us(_MIN_US).isoformat()} to {_from_us(_MAX_US).isoformat()})"
        )
    return us


def _parse_time(text: object, where: str, *, is_end: bool) -> int:
    """Minutes after midnight for 'HH:MM' (00:00-23:59, or 24:00 as an end)."""
    match = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours == 24 and minutes == 0:
            if is_end:
                return 1440
            raise ValueError(f"{where} starts at '24:00'; '24:00' is only allowed as an end")
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
    raise ValueError(f"{where} has a malformed time {text!r} (expected 'HH:MM', 00:00 to 24:00)")


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _normalise_weekly(weekly: Mapping[str, Sequence[Sequence[str]]]) -> tuple:
    """Validate ``weekly``; return 7 tuples of (start_min, end_min), end > start.

    An overnight interval has ``end_min > 1440`` (it ends on the next day).
    """
    if not isinstance(weekly, Mapping):
        raise ValueError(f"weekly must be a mapping of weekday to intervals, got {weekly!r}")
    days: list[tuple[tuple[int, int], ...]] = [()] * 7
    for key, intervals in weekly.items():
        if key not in WEEKDAYS:
            raise ValueError(
                f"unknown weekday key {key!r} in weekly (expected one of {', '.join(WEEKDAYS)})"
            )
        if intervals is None:
            intervals = ()
        if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
            raise ValueError(f"weekly[{key!r}] must be a list of ('HH:MM', 'HH:MM') intervals")
        parsed: list[tuple[int, int, int, str]] = []
        for index, interval in enumerate(intervals):
            where = f"weekly[{key!r}][{index}]"
            if isinstance(interval, str | bytes) or not isinstance(interval, Sequence):
                raise ValueError(f"{where} must be a ('HH:MM', 'HH:MM') pair, got {interval!r}")
            if len(interval) != 2:
                raise ValueError(f"{where} must be a ('HH:MM', 'HH:MM') pair, got {interval!r}")
            start_text, end_text = interval
            start = _parse_time(start_text, where, is_end=False)
            end = _parse_time(end_text, where, is_end=True)
            label = f"'{start_text}-{end_text}'"
            if end == start:
                raise ValueError(f"{where} {label} is empty (start equals end)")
            if end < start:  # overnight: ends on the next day
                end += 1440
            parsed.append((start, end, index, label))
        parsed.sort()
        previous: tuple[int, int, int, str] | None = None
        for item in parsed:
            if previous is not None and item[0] < previous[1]:
                raise ValueError(f"weekly[{key!r}][{item[2]}] {item[3]} overlaps {previous[3]}")
            if previous is None or item[1] > previous[1]:
                previous = item
        days[WEEKDAYS.index(key)] = tuple((start, end) for start, end, _, _ in parsed)
    return tuple(days)


def _normalise_holidays(holidays: Iterable[date]) -> frozenset[date]:
    if isinstance(holidays, str | bytes) or not isinstance(holidays, Iterable):
        raise ValueError(f"holidays must be an iterable of dates, got {holidays!r}")
    result = set()
    for index, day in enumerate(holidays):
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"holidays[{index}] {day!r} is not an ISO date") from None
        elif isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"holidays[{index}] must be a date, got {day!r}")
        result.add(day)
    return frozenset(result)


def _load_zone(tz: object) -> ZoneInfo:
    if not isinstance(tz, str) or not tz:
        raise ValueError(f"unknown time zone {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {tz!r}") from None


class WorkingSchedule:
    """Open hours of a calendar in one time zone; see the module docstring."""

    __slots__ = (
        "_tz",
        "_zone",
        "_weekly",
        "_holidays",
        "_key",
        "_hash",
        "_has_open",
        "_chunks",
        "_lock",
    )

    _tz: str
    _zone: ZoneInfo
    _weekly: tuple[tuple[tuple[int, int], ...], ...]
    _holidays: frozenset[date]
    _key: tuple
    _hash: int
    _has_open: bool
    _chunks: dict[int, tuple[list[int], list[int], list[int]]]
    _lock: threading.Lock

    def __init__(
        self,
        tz: str,
        weekly: Mapping[str, Sequence[tuple[str, str]]],
        holidays: Iterable[date] = (),
    ) -> None:
        zone = _load_zone(tz)
        normalised = _normalise_weekly(weekly)
        holiday_set = _normalise_holidays(holidays)
        key = (tz, normalised, holiday_set)
        init = object.__setattr__
        init(self, "_tz", tz)
        init(self, "_zone", zone)
        init(self, "_weekly", normalised)
        init(self, "_holidays", holiday_set)
        init(self, "_key", key)
        init(self, "_hash", hash(key))
        init(self, "_has_open", any(normalised))
        init(self, "_chunks", {})
        init(self, "_lock", threading.Lock())

    # -- value semantics -------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingSchedule):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple:
        return (type(self), (self._tz, self.weekly, tuple(sorted(self._holidays))))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._tz!r}, {self.weekly!r}, "
            f"holidays=<{len(self._holidays)} dates>)"
        )

    @property
    def tz(self) -> str:
        """The IANA zone name."""
        return self._tz

    @property
    def weekly(self) -> dict[str, list[tuple[str, str]]]:
        """The weekly intervals in canonical form (a fresh dict each time)."""
        return {
            name: [(_fmt_minutes(start), _fmt_minutes(end % 1440 or 1440)) for start, end in day]
            for name, day in zip(WEEKDAYS, self._weekly, strict=True)
            if day
        }

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def has_open_hours(self) -> bool:
        """False for a schedule without a single weekly interval."""
        return self._has_open

    # -- public queries ---------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` lies in an open interval (``start <= at < end``)."""
        t = _instant(at, "at")
        if not self._has_open:
            return False
        starts, ends, _ = self._chunk(t // _CHUNK_US)
        i = bisect_right(starts, t)
        return i > 0 and ends[i - 1] > t

    def next_open(self, at: datetime) -> datetime:
        """``at`` in UTC when open, else the start of the next open interval."""
        t = _instant(at, "at")
        self._require_open_hours()
        return _from_us(self._next_open_us(t))

    def add(
        self,
        start: datetime,
        amount: timedelta,
        pauses: Sequence[tuple[datetime, datetime | None]] = (),
    ) -> datetime:
        """The instant at which the open, un-paused time since ``start`` reaches ``amount``."""
        t = _instant(start, "start")
        if not isinstance(amount, timedelta):
            raise TypeError(f"amount must be a timedelta, got {type(amount).__name__}")
        if amount < _ZERO:
            raise ValueError(f"negative amount {amount!r}; amount must be >= 0")
        merged = self._merge_pauses(pauses)
        self._require_open_hours()
        a = (amount.days * 86_400 + amount.seconds) * _US_PER_S + amount.microseconds
        if a == 0:
            return _from_us(self._next_open_us(t))
        if not merged:
            return _from_us(self._add_us(t, a))
        current = t
        for pause_start, pause_end in merged:
            if pause_end <= current:
                continue
            if pause_start > current:
                due = self._add_us(current, a)
                if due <= pause_start:
                    return _from_us(due)
                a -= self._elapsed_us(current, pause_start)
            if pause_end >= _INFINITY:
                raise ValueError(
                    "the clock is paused indefinitely (open-ended pause from "
                    f"{_from_us(pause_start).isoformat()}) before the amount is reached"
                )
            current = pause_end
        return _from_us(self._add_us(current, a))

    def elapsed(
        self,
        start: datetime,
        end: datetime,
        pauses: Sequence[tuple[datetime, datetime | None]] = (),
    ) -> timedelta:
        """Open, un-paused time in ``[start, end)``; zero when ``end <= start``."""
        a = _instant(start, "start")
        b = _instant(end, "end")
        merged = self._merge_pauses(pauses)
        if b <= a or not self._has_open:
            return _ZERO
        total = self._elapsed_us(a, b)
        for pause_start, pause_end in merged:
            if pause_start >= b:
                break
            lo = pause_start if pause_start > a else a
            hi = pause_end if pause_end < b else b
            if hi > lo:
                total -= self._elapsed_us(lo, hi)
        return timedelta(microseconds=total)

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open intervals within ``[start, end)``, merged and clipped, in UTC.

        >>> from datetime import UTC, datetime
        >>> office = WorkingSchedule("Europe/Berlin", {"fri": [("09:00", "17:00")],
        ...                                            "mon": [("09:00", "17:00")]})
        >>> [f"{a:%a %H:%M}-{b:%a %H:%M}" for a, b in office.open_intervals(
        ...     datetime(2026, 1, 2, 12, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))]
        ['Fri 12:00-Fri 16:00', 'Mon 08:00-Mon 16:00']
        """
        a = _instant(start, "start")
        b = _instant(end, "end")
        if b <= a or not self._has_open:
            return []
        merged: list[list[int]] = []
        for k in range(a // _CHUNK_US, (b - 1) // _CHUNK_US + 1):
            starts, ends, _ = self._chunk(k)
            for lo, hi in zip(starts, ends, strict=True):
                lo, hi = max(lo, a), min(hi, b)
                if hi <= lo:
                    continue
                # Chunks cut intervals at their edges: glue the pieces back together.
                if merged and lo <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
        return [(_from_us(lo), _from_us(hi)) for lo, hi in merged]

    # -- internals: pauses ------------------------------------------------------------

    @staticmethod
    def _merge_pauses(pauses: Sequence[tuple[datetime, datetime | None]]) -> list[list[int]]:
        if not pauses:
            return []
        spans: list[tuple[int, int]] = []
        for index, pause in enumerate(pauses):
            if isinstance(pause, str | bytes) or not isinstance(pause, Sequence) or len(pause) != 2:
                raise ValueError(f"pauses[{index}] must be a (start, end) pair, got {pause!r}")
            start = _instant(pause[0], f"pauses[{index}] start")
            end = _INFINITY if pause[1] is None else _instant(pause[1], f"pauses[{index}] end")
            if end > start:
                spans.append((start, end))
        spans.sort()
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        return merged

    # -- internals: integer-microsecond arithmetic over cached chunks -----------------

    def _require_open_hours(self) -> None:
        if not self._has_open:
            raise ValueError("schedule has no open hours")

    def _add_us(self, t: int, a: int) -> int:
        """Smallest instant x with open time in [t, x) == a (a > 0)."""
        chunks = self._chunks
        k = t // _CHUNK_US
        starts, ends, cum = chunks.get(k) or self._chunk(k)
        i = bisect_right(starts, t)
        if i:
            over = ends[i - 1] - t
            target = cum[i] - over + a if over > 0 else cum[i] + a
        else:
            target = a
        while target > cum[-1]:
            target -= cum[-1]
            k += 1
            if k > _MAX_CHUNK:
                raise ValueError("the amount runs beyond the supported range")
            starts, ends, cum = chunks.get(k) or self._chunk(k)
        j = bisect_left(cum, target)
        return ends[j - 1] - (cum[j] - target)

    def _open_before(self, chunk: tuple[list[int], list[int], list[int]], t: int) -> int:
        """Open time between the chunk's start and ``t`` (``t`` inside the chunk)."""
        starts, ends, cum = chunk
        i = bisect_right(starts, t)
        if not i:
            return 0
        over = ends[i - 1] - t
        return cum[i] - over if over > 0 else cum[i]

    def _elapsed_us(self, a: int, b: int) -> int:
        """Open time in [a, b) for a < b."""
        ka, kb = a // _CHUNK_US, b // _CHUNK_US
        first = self._chunk(ka)
        if ka == kb:
            return self._open_before(first, b) - self._open_before(first, a)
        total = first[2][-1] - self._open_before(first, a)
        for k in range(ka + 1, kb):
            total += self._chunk(k)[2][-1]
        if b % _CHUNK_US:
            total += self._open_before(self._chunk(kb), b)
        return total

    def _next_open_us(self, t: int) -> int:
        k = t // _CHUNK_US
        starts, ends, _ = self._chunk(k)
        i = bisect_right(starts, t)
        if i and ends[i - 1] > t:
            return t
        if i < len(starts):
            return starts[i]
        while True:
            k += 1
            if k > _MAX_CHUNK:
                raise ValueError("no open hours before the end of the supported range")
            starts = self._chunk(k)[0]
            if starts:
                return starts[0]

    # -- internals: building chunks ----------------------------------------------------

    def _chunk(self, k: int) -> tuple[list[int], list[int], list[int]]:
        chunk = self._chunks.get(k)
        if chunk is None:
            if not _MIN_CHUNK <= k <= _MAX_CHUNK:
                raise ValueError("instant outside the supported range")
            with self._lock:
                chunk = self._chunks.get(k)
                if chunk is None:
                    chunk = self._build_chunk(k)
                    self._chunks[k] = chunk
        return chunk

    def _build_chunk(self, k: int) -> tuple[list[int], list[int], list[int]]:
        """Merged UTC open intervals clipped to chunk ``k``, with prefix sums."""
        lo = k * _CHUNK_US
        hi = lo + _CHUNK_US
        # An interval starting on local date D lies within [D 00:00, D+2 00:00) local
        # time, and UTC offsets stay within +-1 day, so these dates cover the chunk.
        day = (_EPOCH_NAIVE + timedelta(microseconds=lo)).date() - timedelta(days=3)
        last = (_EPOCH_NAIVE + timedelta(microseconds=hi)).date() + timedelta(days=1)
        weekly = [
            [(timedelta(minutes=start), timedelta(minutes=end)) for start, end in intervals]
            for intervals in self._weekly
        ]
        holidays = self._holidays
        to_utc = self._wall_to_us
        raw: list[tuple[int, int]] = []
        while day <= last:
            intervals = weekly[day.weekday()]
            if intervals and day not in holidays:
                midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - local wall
                for start_offset, end_offset in intervals:
                    start = to_utc(midnight + start_offset)
                    end = to_utc(midnight + end_offset)
                    if start < lo:
                        start = lo
                    if end > hi:
                        end = hi
                    if end > start:
                        raw.append((start, end))
            day += _ONE_DAY
        raw.sort()
        starts: list[int] = []
        ends: list[int] = []
        for start, end in raw:
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        cum = [0]
        total = 0
        for start, end in zip(starts, ends, strict=True):
            total += end - start
            cum.append(total)
        return starts, ends, cum

    def _wall_to_us(self, wall: datetime) -> int:
        """UTC microseconds for a local wall time (fold=0; a gap maps to its transition)."""
        zone = self._zone
        before = wall.replace(tzinfo=zone).utcoffset()
        after = wall.replace(tzinfo=zone, fold=1).utcoffset()
        if before is None or after is None:  # pragma: no cover - ZoneInfo always answers
            raise ValueError(f"time zone {self._tz!r} gives no UTC offset for {wall}")
        if after <= before:
            # Unambiguous (equal offsets) or a fold: fold=0 is the first occurrence.
            return _td_us(wall - before - _EPOCH_NAIVE)
        # A gap: the clock jumped from `before` to `after`. The transition lies in
        # (wall - after, wall - before]; find it to the second.
        low = _td_us(wall - after - _EPOCH_NAIVE) // _US_PER_S
        high = -(-_td_us(wall - before - _EPOCH_NAIVE) // _US_PER_S)
        while high - low > 1:
            middle = (low + high) // 2
            offset = (_EPOCH + timedelta(seconds=middle)).astimezone(zone).utcoffset()
            if offset == before:
                low = middle
            else:
                high = middle
        return high * _US_PER_S
