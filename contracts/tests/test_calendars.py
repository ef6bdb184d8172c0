from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from contracts.calendars import schedule_for_version, schedule_of
from contracts.models import BusinessCalendar, CalendarHoliday, CalendarVersion
from contracts.selectors import coverage_calendar
from contracts.services import calendar_holiday_save, calendar_save, calendar_version_snapshot


@pytest.fixture
def berlin(region_ber) -> BusinessCalendar:
    return region_ber.calendars.get(hours="business")


def test_schedule_closes_on_public_holidays_of_its_country_and_subdivision(berlin):
    schedule = schedule_of(berlin)
    # 2026-03-08, International Women's Day, is a holiday in Berlin only; in 2027 it is a
    # Monday. Christmas Day 2026 is a Friday.
    assert not schedule.is_open(datetime(2027, 3, 8, 10, 0, tzinfo=UTC))
    assert not schedule.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))
    assert schedule.is_open(datetime(2026, 12, 23, 10, 0, tzinfo=UTC))


def test_custom_dates_close_or_keep_open(berlin):
    calendar_holiday_save(
        holiday=CalendarHoliday(calendar=berlin, date=date(2026, 12, 23), name="Party")
    )
    calendar_holiday_save(
        holiday=CalendarHoliday(
            calendar=berlin, date=date(2026, 12, 25), name="On duty", closed=False
        )
    )
    schedule = schedule_of(berlin)
    assert not schedule.is_open(datetime(2026, 12, 23, 10, 0, tzinfo=UTC))
    assert schedule.is_open(datetime(2026, 12, 25, 10, 0, tzinfo=UTC))


def test_schedules_are_cached_per_version_and_old_versions_stay_frozen(berlin):
    berlin_weekly_v1 = berlin.weekly
    first = schedule_of(berlin)
    assert schedule_of(berlin) is first
    calendar_version_snapshot(calendar=berlin)
    berlin.weekly = {"mon": [["10:00", "11:00"]]}
    calendar_save(calendar=berlin)
    second = schedule_of(berlin)
    assert berlin.version == 2
    assert second is not first
    monday_9_30 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert not second.is_open(monday_9_30)
    assert schedule_for_version(calendar_id=berlin.pk, version=1).is_open(monday_9_30)
    # Reading a schedule writes nothing; the first ticket under version 2 freezes it.
    assert CalendarVersion.objects.filter(calendar=berlin).count() == 1
    calendar_version_snapshot(calendar=berlin)
    calendar_version_snapshot(calendar=berlin)
    assert list(
        CalendarVersion.objects.filter(calendar=berlin).values_list("version", "weekly")
    ) == [(2, {"mon": [["10:00", "11:00"]]}), (1, berlin_weekly_v1)]


def test_calendar_rejects_malformed_hours_with_the_reason(berlin):
    berlin.weekly = {"mon": [["09:00", "25:00"]]}
    with pytest.raises(ValidationError) as excinfo:
        berlin.full_clean()
    assert "malformed time '25:00'" in excinfo.value.message_dict["weekly"][0]
    berlin.weekly = {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}
    with pytest.raises(ValidationError, match="overlaps"):
        berlin.full_clean()


def test_calendar_rejects_unknown_holiday_countries(berlin):
    berlin.holiday_country = "XX"
    with pytest.raises(ValidationError) as excinfo:
        berlin.full_clean()
    assert "holiday_country" in excinfo.value.message_dict


def test_coverage_picks_the_region_calendar_or_24x7(region_ber, tier_standard, tier_enterprise):
    assert coverage_calendar(tier=tier_standard, region=region_ber).code == "ber-business"
    always = coverage_calendar(tier=tier_enterprise, region=region_ber)
    assert always.code == "24x7"
    start = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # a Sunday night
    assert schedule_of(always).add(start, timedelta(hours=5)) == start + timedelta(hours=5)
