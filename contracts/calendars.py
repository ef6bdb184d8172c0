"""From calendar rows to `WorkingSchedule`s: version snapshots and a per-process cache.

A calendar's hours and holidays are frozen in a `CalendarVersion` row the first time a ticket
uses that version; schedules are then built from the frozen row and cached per (calendar,
version), so a ticket's deadlines always come from the calendar it was created under.
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


def calendar_version_snapshot(*, calendar: BusinessCalendar) -> CalendarVersion:
    """The frozen copy of `calendar` at its current version, written on first use."""
    custom = [
        [day.isoformat(), closed]
        for day, closed in calendar.custom_dates.order_by("date").values_list("date", "closed")
    ]
    snapshot, _ = CalendarVersion.objects.get_or_create(
        calendar=calendar,
        version=calendar.version,
        defaults={
            "time_zone": calendar.time_zone,
            "weekly": calendar.weekly,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "custom_dates": custom,
        },
    )
    return snapshot


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


def schedule_from_snapshot(snapshot: CalendarVersion) -> WorkingSchedule:
    return WorkingSchedule(
        snapshot.time_zone,
        snapshot.weekly,
        holidays=closed_dates(
            country=snapshot.holiday_country,
            subdivision=snapshot.holiday_subdivision,
            custom_dates=snapshot.custom_dates,
        ),
    )


def schedule_for_version(*, calendar_id: int, version: int) -> WorkingSchedule:
    """The schedule of a calendar at a version; built once per process."""
    key = (calendar_id, version)
    schedule = _cache.get(key)
    if schedule is None:
        snapshot = CalendarVersion.objects.filter(calendar_id=calendar_id, version=version).first()
        if snapshot is None:
            calendar = BusinessCalendar.objects.get(pk=calendar_id)
            if calendar.version != version:
                raise LookupError(f"calendar {calendar_id} has no frozen version {version}")
            snapshot = calendar_version_snapshot(calendar=calendar)
        schedule = schedule_from_snapshot(snapshot)
        with _cache_lock:
            _cache[key] = schedule
    return schedule


def schedule_cache_clear() -> None:
    """Forget every built schedule (tests that reuse database ids call this)."""
    with _cache_lock:
        _cache.clear()
