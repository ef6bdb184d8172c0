"""From calendar rows to `WorkingSchedule`s, cached per process and calendar version.

A calendar's hours and holidays are frozen in a `CalendarVersion` row by the first ticket that
uses that version (`contracts.services.calendar_version_snapshot`); a ticket's deadlines always
come from the version it was created under. Reading a schedule never writes: a version nobody
froze yet is read from the live calendar, which is that version.
"""

import threading
from datetime import date

import holidays as holiday_data

from contracts.business_time import WorkingSchedule
from contracts.models import BusinessCalendar, CalendarVersion

# Public holidays are taken from the `holidays` package for these years; SLA clocks outside
# them would simply see no public holidays.
HOLIDAY_YEARS = range(2000, 2076)

_cache: dict[tuple[int, int], WorkingSchedule] = {}
_cache_lock = threading.Lock()
# (calendar id, version) pairs known to have their frozen copy in the database.
_frozen: set[tuple[int, int]] = set()


def custom_dates_of(calendar: BusinessCalendar) -> list[list]:
    """The calendar's custom dates as frozen in a version: `[["2026-12-24", true], ...]`."""
    return [
        [day.isoformat(), closed]
        for day, closed in calendar.custom_dates.order_by("date").values_list("date", "closed")
    ]


def closed_dates(*, country: str, subdivision: str, custom_dates: list[list]) -> set[date]:
    """Public holidays of the country (and subdivision) plus custom closures, minus the custom
    dates that stay open."""
    closed: set[date] = set()
    if country:
        closed.update(
            holiday_data.country_holidays(country, subdiv=subdivision or None, years=HOLIDAY_YEARS)
        )
    for day, is_closed in custom_dates:
        (closed.add if is_closed else closed.discard)(date.fromisoformat(day))
    return closed


def _schedule(
    *, time_zone: str, weekly: dict, country: str, subdivision: str, custom_dates: list[list]
) -> WorkingSchedule:
    return WorkingSchedule(
        time_zone,
        weekly,
        holidays=closed_dates(country=country, subdivision=subdivision, custom_dates=custom_dates),
    )


def schedule_for_version(*, calendar_id: int, version: int) -> WorkingSchedule:
    """The schedule of a calendar at a version; built once per process."""
    key = (calendar_id, version)
    schedule = _cache.get(key)
    if schedule is not None:
        return schedule
    snapshot = CalendarVersion.objects.filter(calendar_id=calendar_id, version=version).first()
    if snapshot is not None:
        schedule = _schedule(
            time_zone=snapshot.time_zone,
            weekly=snapshot.weekly,
            country=snapshot.holiday_country,
            subdivision=snapshot.holiday_subdivision,
            custom_dates=snapshot.custom_dates,
        )
    else:
        calendar = BusinessCalendar.objects.get(pk=calendar_id)
        if calendar.version != version:
            raise LookupError(f"calendar {calendar_id} has no frozen version {version}")
        schedule = _schedule(
            time_zone=calendar.time_zone,
            weekly=calendar.weekly,
            country=calendar.holiday_country,
            subdivision=calendar.holiday_subdivision,
            custom_dates=custom_dates_of(calendar),
        )
    with _cache_lock:
        _cache[key] = schedule
    return schedule


def schedule_of(calendar: BusinessCalendar) -> WorkingSchedule:
    """A calendar's current hours as a schedule."""
    return schedule_for_version(calendar_id=calendar.pk, version=calendar.version)


def version_frozen(*, calendar_id: int, version: int) -> bool:
    """Whether this process has seen the frozen copy of the version committed."""
    return (calendar_id, version) in _frozen


def version_frozen_note(*, calendar_id: int, version: int) -> None:
    with _cache_lock:
        _frozen.add((calendar_id, version))


def schedule_cache_clear() -> None:
    """Forget every built schedule and known frozen version (tests that reuse database ids
    call this)."""
    with _cache_lock:
        _cache.clear()
        _frozen.clear()
