"""Hand-worked examples for contracts.business_time.

Every expected value was computed by hand and is written as a literal aware
datetime; fixed-offset zones name the local offset the calculation used.
No database access: run with ``-p no:django``.
"""

import doctest
import pickle
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from contracts import business_time
from contracts.business_time import WorkingSchedule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SGT = timezone(timedelta(hours=8))  # Asia/Singapore
GST = timezone(timedelta(hours=4))  # Asia/Dubai
AST = timezone(timedelta(hours=3))  # Asia/Riyadh
BRT = timezone(timedelta(hours=-3))  # America/Sao_Paulo today
BRST = timezone(timedelta(hours=-2))  # America/Sao_Paulo summer time until 2019
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))
EST = timezone(timedelta(hours=-5))
EDT = timezone(timedelta(hours=-4))

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SINGAPORE = ZoneInfo("Asia/Singapore")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def weekdays(*intervals: tuple[str, str], days=WEEKDAYS) -> dict:
    return {day: list(intervals) for day in days}


@pytest.fixture
def singapore_office() -> WorkingSchedule:
    return WorkingSchedule("Asia/Singapore", weekdays(("09:00", "18:00")))


@pytest.fixture
def berlin_split_shift() -> WorkingSchedule:
    return WorkingSchedule("Europe/Berlin", weekdays(("08:00", "12:00"), ("13:00", "18:00")))


@pytest.fixture
def singapore_nights() -> WorkingSchedule:
    # Overnight shifts Monday to Friday; Wednesday 2026-01-14 is a holiday.
    return WorkingSchedule(
        "Asia/Singapore", weekdays(("22:00", "06:00")), holidays=[date(2026, 1, 14)]
    )


# -- Singapore: no DST -----------------------------------------------------------------


def test_singapore_budget_carries_over_to_the_next_morning(singapore_office):
    due = singapore_office.add(datetime(2026, 1, 5, 17, 0, tzinfo=SINGAPORE), hours(2))
    assert due == datetime(2026, 1, 6, 10, 0, tzinfo=SGT)
    assert due == datetime(2026, 1, 6, 2, 0, tzinfo=UTC)


def test_results_are_aware_utc_datetimes(singapore_office):
    due = singapore_office.add(datetime(2026, 1, 5, 17, 0, tzinfo=SGT), hours(2))
    assert due.tzinfo is UTC
    assert singapore_office.next_open(datetime(2026, 1, 10, tzinfo=SGT)).tzinfo is UTC
    assert singapore_office.next_open(datetime(2026, 1, 5, 12, tzinfo=SGT)).tzinfo is UTC


def test_singapore_friday_budget_skips_the_weekend(singapore_office):
    friday_5pm = datetime(2026, 1, 9, 17, 0, tzinfo=SGT)
    assert singapore_office.add(friday_5pm, hours(2)) == datetime(2026, 1, 12, 10, 0, tzinfo=SGT)
    assert singapore_office.elapsed(friday_5pm, datetime(2026, 1, 12, 10, 0, tzinfo=SGT)) == hours(
        2
    )


def test_weekday_holiday_does_not_open():
    schedule = WorkingSchedule(
        "Asia/Singapore", weekdays(("09:00", "18:00")), holidays=[date(2026, 1, 7)]
    )
    tuesday_5pm = datetime(2026, 1, 6, 17, 0, tzinfo=SGT)
    assert schedule.add(tuesday_5pm, hours(2)) == datetime(2026, 1, 8, 10, 0, tzinfo=SGT)
    assert not schedule.is_open(datetime(2026, 1, 7, 12, 0, tzinfo=SGT))
    tuesday_9am = datetime(2026, 1, 6, 9, 0, tzinfo=SGT)
    friday_9am = datetime(2026, 1, 9, 9, 0, tzinfo=SGT)
    assert schedule.elapsed(tuesday_9am, friday_9am) == hours(18)


def test_holidays_may_be_given_as_iso_strings():
    schedule = WorkingSchedule("Asia/Singapore", weekdays(("09:00", "18:00")), ["2026-01-07"])
    assert schedule.holidays == frozenset({date(2026, 1, 7)})
    assert not schedule.is_open(datetime(2026, 1, 7, 12, 0, tzinfo=SGT))


def test_budget_of_exactly_three_weeks_ends_on_the_third_friday_at_closing(singapore_office):
    monday_9am = datetime(2026, 1, 5, 9, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(135)) == datetime(2026, 1, 23, 18, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(136)) == datetime(2026, 1, 26, 10, 0, tzinfo=SGT)


def test_budget_spanning_weeks_skips_a_holiday():
    schedule = WorkingSchedule(
        "Asia/Singapore", weekdays(("09:00", "18:00")), holidays=[date(2026, 1, 7)]
    )
    monday_9am = datetime(2026, 1, 5, 9, 0, tzinfo=SGT)
    assert schedule.add(monday_9am, hours(135)) == datetime(2026, 1, 26, 18, 0, tzinfo=SGT)


def test_budget_of_a_working_year_crosses_the_new_year(singapore_office):
    # 52 weeks of 45 hours: the 52nd week is Mon 2026-12-28 .. Fri 2027-01-01.
    monday_9am = datetime(2026, 1, 5, 9, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(52 * 45)) == datetime(
        2027, 1, 1, 18, 0, tzinfo=SGT
    )
    assert singapore_office.elapsed(monday_9am, datetime(2027, 1, 4, tzinfo=SGT)) == hours(2340)


def test_zero_amount_returns_the_next_opening(singapore_office):
    saturday_noon = datetime(2026, 1, 10, 12, 0, tzinfo=SGT)
    assert singapore_office.add(saturday_noon, timedelta(0)) == datetime(
        2026, 1, 12, 9, 0, tzinfo=SGT
    )


def test_zero_amount_while_open_returns_the_start_itself(singapore_office):
    start = datetime(2026, 1, 12, 10, 30, 15, 500_000, tzinfo=SGT)
    assert singapore_office.add(start, timedelta(0)) == start


def test_clock_created_while_closed_starts_counting_at_the_next_opening(singapore_office):
    sunday_evening = datetime(2026, 1, 11, 20, 0, tzinfo=SGT)
    assert singapore_office.add(sunday_evening, hours(1)) == datetime(
        2026, 1, 12, 10, 0, tzinfo=SGT
    )
    monday_early = datetime(2026, 1, 12, 7, 0, tzinfo=SGT)
    assert singapore_office.add(monday_early, timedelta(minutes=30)) == datetime(
        2026, 1, 12, 9, 30, tzinfo=SGT
    )


def test_arithmetic_is_exact_to_the_microsecond(singapore_office):
    start = datetime(2026, 1, 12, 9, 0, 0, 1, tzinfo=SGT)
    to_closing = timedelta(hours=8, minutes=59, seconds=59, microseconds=999_999)
    assert singapore_office.add(start, to_closing) == datetime(2026, 1, 12, 18, 0, tzinfo=SGT)
    assert singapore_office.add(start, to_closing + timedelta(microseconds=1)) == datetime(
        2026, 1, 13, 9, 0, 0, 1, tzinfo=SGT
    )
    assert singapore_office.elapsed(
        start, datetime(2026, 1, 13, 9, 0, 0, 2, tzinfo=SGT)
    ) == to_closing + timedelta(microseconds=2)


def test_elapsed_is_zero_when_end_is_not_after_start(singapore_office):
    ten = datetime(2026, 1, 12, 10, 0, tzinfo=SGT)
    noon = datetime(2026, 1, 12, 12, 0, tzinfo=SGT)
    assert singapore_office.elapsed(noon, ten) == timedelta(0)
    assert singapore_office.elapsed(noon, noon) == timedelta(0)


def test_is_open_includes_the_opening_and_excludes_the_closing_instant(singapore_office):
    assert singapore_office.is_open(datetime(2026, 1, 12, 9, 0, tzinfo=SGT))
    assert singapore_office.is_open(datetime(2026, 1, 12, 17, 59, 59, 999_999, tzinfo=SGT))
    assert not singapore_office.is_open(datetime(2026, 1, 12, 18, 0, tzinfo=SGT))
    assert not singapore_office.is_open(datetime(2026, 1, 12, 8, 59, 59, 999_999, tzinfo=SGT))


def test_next_open_returns_the_instant_itself_when_open(singapore_office):
    at = datetime(2026, 1, 12, 11, 0, tzinfo=SGT)
    assert singapore_office.next_open(at) == at
    assert singapore_office.next_open(datetime(2026, 1, 12, 18, 0, tzinfo=SGT)) == datetime(
        2026, 1, 13, 9, 0, tzinfo=SGT
    )


# -- Dubai and Riyadh ---------------------------------------------------------------------


def test_dubai_budget_ending_exactly_at_closing_is_due_at_closing():
    dubai = WorkingSchedule("Asia/Dubai", weekdays(("08:00", "17:00")))
    thursday_4pm = datetime(2026, 2, 5, 16, 0, tzinfo=GST)
    assert dubai.add(thursday_4pm, hours(10)) == datetime(2026, 2, 6, 17, 0, tzinfo=GST)
    assert dubai.add(thursday_4pm, hours(10) + timedelta(seconds=1)) == datetime(
        2026, 2, 9, 8, 0, 1, tzinfo=GST
    )


def test_dubai_weekend_is_saturday_and_sunday():
    dubai = WorkingSchedule("Asia/Dubai", weekdays(("08:00", "17:00")))
    saturday = datetime(2026, 2, 7, 10, 0, tzinfo=GST)
    assert dubai.add(saturday, hours(1)) == datetime(2026, 2, 9, 9, 0, tzinfo=GST)


def test_riyadh_sunday_to_thursday_week_skips_friday_and_saturday():
    riyadh = WorkingSchedule(
        "Asia/Riyadh", weekdays(("08:00", "16:00"), days=("sun", "mon", "tue", "wed", "thu"))
    )
    thursday_3pm = datetime(2026, 2, 5, 15, 0, tzinfo=AST)
    assert riyadh.add(thursday_3pm, hours(3)) == datetime(2026, 2, 8, 10, 0, tzinfo=AST)
    assert not riyadh.is_open(datetime(2026, 2, 6, 10, 0, tzinfo=AST))
    assert riyadh.is_open(datetime(2026, 2, 8, 8, 0, tzinfo=AST))
    assert riyadh.next_open(datetime(2026, 2, 6, 10, 0, tzinfo=AST)) == datetime(
        2026, 2, 8, 8, 0, tzinfo=AST
    )
    week = riyadh.elapsed(datetime(2026, 2, 8, tzinfo=AST), datetime(2026, 2, 15, tzinfo=AST))
    assert week == hours(40)


# -- São Paulo: DST abolished in 2019 ------------------------------------------------------


def test_sao_paulo_keeps_utc_minus_three_all_year_since_2019():
    office = WorkingSchedule("America/Sao_Paulo", weekdays(("09:00", "18:00")))
    # January used to be summer time (UTC-2); since 2019 it is UTC-3.
    assert office.next_open(datetime(2018, 1, 15, 3, 0, tzinfo=UTC)) == datetime(
        2018, 1, 15, 9, 0, tzinfo=BRST
    )
    assert office.next_open(datetime(2026, 1, 12, 3, 0, tzinfo=UTC)) == datetime(
        2026, 1, 12, 9, 0, tzinfo=BRT
    )
    # Early November would have been summer time under the old rules.
    friday_5pm = datetime(2026, 11, 6, 17, 0, tzinfo=BRT)
    assert office.add(friday_5pm, hours(2)) == datetime(2026, 11, 9, 13, 0, tzinfo=UTC)


def test_sao_paulo_midnight_that_never_happened_in_2018_opens_nothing():
    # On 2018-11-04 the clocks jumped from 00:00 to 01:00: a 00:00-01:00 slot was empty.
    early_sunday = WorkingSchedule("America/Sao_Paulo", {"sun": [("00:00", "01:00")]})
    saturday_11pm_2018 = datetime(2018, 11, 3, 23, 0, tzinfo=BRT)
    assert early_sunday.next_open(saturday_11pm_2018) == datetime(2018, 11, 11, 0, 0, tzinfo=BRST)
    saturday_11pm_2026 = datetime(2026, 10, 31, 23, 0, tzinfo=BRT)
    assert early_sunday.next_open(saturday_11pm_2026) == datetime(2026, 11, 1, 0, 0, tzinfo=BRT)


# -- Berlin: DST on 2026-03-29 and 2026-10-25 ------------------------------------------------


def test_berlin_budget_across_spring_forward_weekend():
    office = WorkingSchedule("Europe/Berlin", weekdays(("09:00", "17:00")))
    friday_4pm = datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 3, 30, 10, 0, tzinfo=CEST)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_berlin_budget_across_fall_back_weekend():
    office = WorkingSchedule("Europe/Berlin", weekdays(("09:00", "17:00")))
    friday_4pm = datetime(2026, 10, 23, 16, 0, tzinfo=CEST)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 10, 26, 10, 0, tzinfo=CET)


def test_berlin_24x7_days_are_23_and_25_hours_long_on_dst_changes():
    always = WorkingSchedule("Europe/Berlin", weekdays(("00:00", "24:00"), days=ALL_DAYS))
    assert always.elapsed(
        datetime(2026, 3, 29, 0, 0, tzinfo=CET), datetime(2026, 3, 30, 0, 0, tzinfo=CEST)
    ) == hours(23)
    assert always.elapsed(
        datetime(2026, 10, 25, 0, 0, tzinfo=CEST), datetime(2026, 10, 26, 0, 0, tzinfo=CET)
    ) == hours(25)
    assert always.add(datetime(2026, 10, 25, 0, 0, tzinfo=CEST), hours(24)) == datetime(
        2026, 10, 25, 23, 0, tzinfo=CET
    )


def test_a_whole_sunday_lasts_23_hours_on_the_spring_forward_day():
    sundays = WorkingSchedule("Europe/Berlin", {"sun": [("00:00", "24:00")]})
    saturday_noon = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert sundays.elapsed(saturday_noon, datetime(2026, 3, 30, 12, 0, tzinfo=UTC)) == hours(23)
    assert sundays.add(saturday_noon, hours(23)) == datetime(2026, 3, 30, 0, 0, tzinfo=CEST)
    assert sundays.add(saturday_noon, hours(23) + timedelta(minutes=1)) == datetime(
        2026, 4, 5, 0, 1, tzinfo=CEST
    )


def test_a_whole_sunday_lasts_25_hours_on_the_fall_back_day():
    sundays = WorkingSchedule("Europe/Berlin", {"sun": [("00:00", "24:00")]})
    saturday_noon = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert sundays.elapsed(saturday_noon, datetime(2026, 10, 26, 12, 0, tzinfo=UTC)) == hours(25)


def test_nine_to_five_is_still_eight_hours_on_dst_days():
    sundays = WorkingSchedule("Europe/Berlin", {"sun": [("09:00", "17:00")]})
    assert sundays.elapsed(
        datetime(2026, 3, 28, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    ) == hours(8)
    assert sundays.elapsed(
        datetime(2026, 10, 24, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    ) == hours(8)
    assert sundays.next_open(datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 9, 0, tzinfo=CEST
    )
    assert sundays.next_open(datetime(2026, 10, 25, 0, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 9, 0, tzinfo=CET
    )


def test_opening_inside_the_spring_forward_gap_opens_when_the_clock_jumps():
    # 02:30 does not exist on 2026-03-29; the clock jumps from 02:00 CET to 03:00 CEST.
    night = WorkingSchedule("Europe/Berlin", {"sun": [("02:30", "05:00")]})
    assert night.next_open(datetime(2026, 3, 29, 0, 0, tzinfo=CET)) == datetime(
        2026, 3, 29, 3, 0, tzinfo=CEST
    )
    assert night.elapsed(
        datetime(2026, 3, 28, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    ) == hours(2)
    # An ordinary Sunday: two and a half hours.
    assert night.elapsed(
        datetime(2026, 3, 21, 12, 0, tzinfo=UTC), datetime(2026, 3, 23, 12, 0, tzinfo=UTC)
    ) == hours(2.5)


def test_opening_inside_the_fall_back_fold_uses_the_first_occurrence():
    # 02:00-03:00 happens twice on 2026-10-25; 02:30 means 02:30 CEST (00:30 UTC).
    night = WorkingSchedule("Europe/Berlin", {"sun": [("02:30", "04:00")]})
    assert night.next_open(datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert not night.is_open(datetime(2026, 10, 25, 0, 15, tzinfo=UTC))  # 02:15 CEST
    assert night.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))  # 02:15 CET
    assert night.elapsed(
        datetime(2026, 10, 24, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    ) == hours(2.5)
    # An ordinary Sunday: an hour and a half.
    assert night.elapsed(
        datetime(2026, 10, 17, 12, 0, tzinfo=UTC), datetime(2026, 10, 19, 12, 0, tzinfo=UTC)
    ) == hours(1.5)


def test_closing_inside_the_fall_back_fold_uses_the_first_occurrence():
    night = WorkingSchedule("Europe/Berlin", {"sun": [("01:00", "02:30")]})
    assert night.elapsed(
        datetime(2026, 10, 24, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    ) == hours(1.5)
    assert night.is_open(datetime(2026, 10, 25, 0, 15, tzinfo=UTC))  # 02:15 CEST
    assert not night.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))  # 02:15 CET


# -- New York: DST on 2026-03-08 and 2026-11-01 ---------------------------------------------


def test_new_york_budget_across_spring_forward_weekend():
    office = WorkingSchedule("America/New_York", weekdays(("09:00", "17:00")))
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=NEW_YORK)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 3, 9, 10, 0, tzinfo=EDT)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_new_york_budget_across_fall_back_weekend():
    office = WorkingSchedule("America/New_York", weekdays(("09:00", "17:00")))
    friday_4pm = datetime(2026, 10, 30, 16, 0, tzinfo=EDT)
    assert office.add(friday_4pm, hours(2)) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_new_york_overnight_shift_across_dst_changes_is_longer_or_shorter():
    saturday_nights = WorkingSchedule("America/New_York", {"sat": [("22:00", "06:00")]})
    # Sat 2026-10-31 22:00 EDT .. Sun 2026-11-01 06:00 EST
    assert saturday_nights.elapsed(
        datetime(2026, 10, 31, 12, 0, tzinfo=UTC), datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    ) == hours(9)
    # Sat 2026-03-07 22:00 EST .. Sun 2026-03-08 06:00 EDT
    assert saturday_nights.elapsed(
        datetime(2026, 3, 7, 12, 0, tzinfo=UTC), datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    ) == hours(7)
    assert saturday_nights.add(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), hours(7)) == datetime(
        2026, 3, 8, 6, 0, tzinfo=EDT
    )


def test_new_york_24x7_fall_back_day_is_25_hours():
    always = WorkingSchedule("America/New_York", weekdays(("00:00", "24:00"), days=ALL_DAYS))
    assert always.elapsed(
        datetime(2026, 11, 1, 0, 0, tzinfo=EDT), datetime(2026, 11, 2, 0, 0, tzinfo=EST)
    ) == hours(25)


# -- overnight shifts --------------------------------------------------------------------


def test_friday_overnight_shift_runs_into_saturday_morning(singapore_nights):
    friday_9pm = datetime(2026, 1, 9, 21, 0, tzinfo=SGT)
    assert singapore_nights.add(friday_9pm, hours(9)) == datetime(2026, 1, 12, 23, 0, tzinfo=SGT)
    assert singapore_nights.is_open(datetime(2026, 1, 10, 5, 59, tzinfo=SGT))
    assert not singapore_nights.is_open(datetime(2026, 1, 10, 6, 0, tzinfo=SGT))
    assert not singapore_nights.is_open(datetime(2026, 1, 11, 23, 0, tzinfo=SGT))
    assert not singapore_nights.is_open(datetime(2026, 1, 12, 1, 0, tzinfo=SGT))


def test_overnight_shift_starting_on_a_holiday_does_not_open(singapore_nights):
    # Tuesday's shift runs into the holiday morning; the holiday's own shift never opens.
    tuesday_11pm = datetime(2026, 1, 13, 23, 0, tzinfo=SGT)
    assert singapore_nights.add(tuesday_11pm, hours(8)) == datetime(2026, 1, 15, 23, 0, tzinfo=SGT)
    assert singapore_nights.is_open(datetime(2026, 1, 14, 5, 0, tzinfo=SGT))
    assert not singapore_nights.is_open(datetime(2026, 1, 14, 23, 0, tzinfo=SGT))
    assert not singapore_nights.is_open(datetime(2026, 1, 15, 5, 0, tzinfo=SGT))


def test_overnight_shift_merges_with_the_next_days_morning_shift():
    schedule = WorkingSchedule(
        "Asia/Singapore", {"mon": [("22:00", "06:00")], "tue": [("06:00", "10:00")]}
    )
    monday_9pm = datetime(2026, 1, 12, 21, 0, tzinfo=SGT)
    assert schedule.add(monday_9pm, hours(12)) == datetime(2026, 1, 13, 10, 0, tzinfo=SGT)
    tuesday_6am = datetime(2026, 1, 13, 6, 0, tzinfo=SGT)
    assert schedule.is_open(tuesday_6am)
    assert schedule.next_open(tuesday_6am) == tuesday_6am


def test_overlapping_shifts_of_different_days_count_once():
    schedule = WorkingSchedule(
        "Asia/Singapore", {"mon": [("22:00", "08:00")], "tue": [("06:00", "10:00")]}
    )
    assert schedule.elapsed(
        datetime(2026, 1, 12, 20, 0, tzinfo=SGT), datetime(2026, 1, 13, 12, 0, tzinfo=SGT)
    ) == hours(12)


def test_overnight_shift_ending_at_midnight_equals_one_ending_at_24_00():
    a = WorkingSchedule("UTC", {"fri": [("22:00", "00:00")]})
    b = WorkingSchedule("UTC", {"fri": [("22:00", "24:00")]})
    assert a == b
    assert a.add(datetime(2026, 1, 9, 23, 0, tzinfo=UTC), hours(2)) == datetime(
        2026, 1, 16, 23, 0, tzinfo=UTC
    )


# -- split shifts -------------------------------------------------------------------------


def test_split_shift_lunch_break_does_not_count(berlin_split_shift):
    monday_11am = datetime(2026, 6, 1, 11, 0, tzinfo=CEST)
    assert berlin_split_shift.add(monday_11am, hours(2)) == datetime(2026, 6, 1, 14, 0, tzinfo=CEST)
    assert berlin_split_shift.add(monday_11am, hours(6)) == datetime(2026, 6, 1, 18, 0, tzinfo=CEST)
    assert berlin_split_shift.elapsed(
        datetime(2026, 6, 1, 7, 0, tzinfo=CEST), datetime(2026, 6, 1, 20, 0, tzinfo=CEST)
    ) == hours(9)


def test_split_shift_budget_ending_at_lunch_is_due_at_noon(berlin_split_shift):
    monday_11am = datetime(2026, 6, 1, 11, 0, tzinfo=CEST)
    assert berlin_split_shift.add(monday_11am, hours(1)) == datetime(2026, 6, 1, 12, 0, tzinfo=CEST)


def test_split_shift_clock_started_at_lunch_waits_for_the_afternoon(berlin_split_shift):
    monday_noon = datetime(2026, 6, 1, 12, 0, tzinfo=CEST)
    assert berlin_split_shift.add(monday_noon, hours(1)) == datetime(2026, 6, 1, 14, 0, tzinfo=CEST)
    assert berlin_split_shift.next_open(monday_noon) == datetime(2026, 6, 1, 13, 0, tzinfo=CEST)


# -- pauses -------------------------------------------------------------------------------


def test_overlapping_pauses_and_pauses_over_closed_hours_count_once(singapore_office):
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    pauses = [
        (datetime(2026, 1, 12, 10, 0, tzinfo=SGT), datetime(2026, 1, 12, 12, 0, tzinfo=SGT)),
        (datetime(2026, 1, 12, 11, 0, tzinfo=SGT), datetime(2026, 1, 12, 13, 0, tzinfo=SGT)),
        (datetime(2026, 1, 12, 17, 0, tzinfo=SGT), datetime(2026, 1, 13, 10, 0, tzinfo=SGT)),
    ]
    # Counts 09-10 and 13-17 on Monday (5h), then resumes Tuesday 10:00.
    assert singapore_office.add(monday_9am, hours(6), pauses) == datetime(
        2026, 1, 13, 11, 0, tzinfo=SGT
    )
    # 12h open until Tuesday noon, minus 3h (10-13) and 2h (17-18, 09-10) paused.
    tuesday_noon = datetime(2026, 1, 13, 12, 0, tzinfo=SGT)
    assert singapore_office.elapsed(monday_9am, tuesday_noon, pauses) == hours(7)


def test_pause_only_over_closed_hours_changes_nothing(singapore_office):
    weekend = [(datetime(2026, 1, 10, 10, 0, tzinfo=SGT), datetime(2026, 1, 11, 10, 0, tzinfo=SGT))]
    friday_5pm = datetime(2026, 1, 9, 17, 0, tzinfo=SGT)
    assert singapore_office.add(friday_5pm, hours(2), weekend) == datetime(
        2026, 1, 12, 10, 0, tzinfo=SGT
    )


def test_pause_begun_before_the_start_delays_the_clock(singapore_office):
    pauses = [(datetime(2026, 1, 12, 8, 0, tzinfo=SGT), datetime(2026, 1, 12, 10, 0, tzinfo=SGT))]
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(1), pauses) == datetime(
        2026, 1, 12, 11, 0, tzinfo=SGT
    )


def test_budget_ending_exactly_when_a_pause_begins_is_due_then(singapore_office):
    pauses = [(datetime(2026, 1, 12, 11, 0, tzinfo=SGT), datetime(2026, 1, 12, 15, 0, tzinfo=SGT))]
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(2), pauses) == datetime(
        2026, 1, 12, 11, 0, tzinfo=SGT
    )
    assert singapore_office.add(monday_9am, hours(2) + timedelta(microseconds=1), pauses) == (
        datetime(2026, 1, 12, 15, 0, 0, 1, tzinfo=SGT)
    )


def test_pause_ending_before_it_starts_is_empty(singapore_office):
    backwards = [
        (datetime(2026, 1, 12, 12, 0, tzinfo=SGT), datetime(2026, 1, 12, 10, 0, tzinfo=SGT))
    ]
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    assert singapore_office.add(monday_9am, hours(4), backwards) == datetime(
        2026, 1, 12, 13, 0, tzinfo=SGT
    )


def test_open_ended_pause_stops_the_clock_for_good(singapore_office):
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    still_waiting = [(datetime(2026, 1, 12, 12, 0, tzinfo=SGT), None)]
    wednesday = datetime(2026, 1, 14, 9, 0, tzinfo=SGT)
    assert singapore_office.elapsed(monday_9am, wednesday, still_waiting) == hours(3)
    assert singapore_office.add(monday_9am, hours(2), still_waiting) == datetime(
        2026, 1, 12, 11, 0, tzinfo=SGT
    )
    assert singapore_office.add(monday_9am, hours(3), still_waiting) == datetime(
        2026, 1, 12, 12, 0, tzinfo=SGT
    )
    with pytest.raises(ValueError, match="paused indefinitely"):
        singapore_office.add(monday_9am, hours(4), still_waiting)


def test_open_ended_pause_begun_before_the_start_counts_nothing(singapore_office):
    already_waiting = [(datetime(2026, 1, 1, tzinfo=SGT), None)]
    monday_9am = datetime(2026, 1, 12, 9, 0, tzinfo=SGT)
    assert singapore_office.elapsed(
        monday_9am, datetime(2026, 3, 1, tzinfo=SGT), already_waiting
    ) == timedelta(0)
    with pytest.raises(ValueError, match="paused indefinitely"):
        singapore_office.add(monday_9am, timedelta(microseconds=1), already_waiting)
    # A zero amount does not consult pauses: it is the next opening.
    saturday = datetime(2026, 1, 10, tzinfo=SGT)
    assert singapore_office.add(saturday, timedelta(0), already_waiting) == datetime(
        2026, 1, 12, 9, 0, tzinfo=SGT
    )


# -- supported range ------------------------------------------------------------------------


def test_berlin_in_1971_had_no_summer_time():
    office = WorkingSchedule("Europe/Berlin", weekdays(("09:00", "17:00")))
    assert office.next_open(datetime(1971, 7, 5, 0, 0, tzinfo=UTC)) == datetime(
        1971, 7, 5, 8, 0, tzinfo=UTC
    )


def test_berlin_in_2200_still_follows_the_summer_time_rule():
    office = WorkingSchedule("Europe/Berlin", weekdays(("09:00", "17:00")))
    monday_4pm = datetime(2200, 6, 30, 16, 0, tzinfo=CEST)
    assert office.add(monday_4pm, hours(2)) == datetime(2200, 7, 1, 10, 0, tzinfo=CEST)
    assert office.add(monday_4pm, hours(2)) == datetime(2200, 7, 1, 8, 0, tzinfo=UTC)


def test_24x7_utc_budget_of_ten_years_is_plain_addition():
    always = WorkingSchedule("UTC", weekdays(("00:00", "24:00"), days=ALL_DAYS))
    start = datetime(2026, 5, 17, 13, 14, 15, 161718, tzinfo=UTC)
    assert always.add(start, timedelta(days=3652)) == datetime(
        2036, 5, 16, 13, 14, 15, 161718, tzinfo=UTC
    )


def test_instant_outside_the_supported_range_is_rejected():
    always = WorkingSchedule("UTC", weekdays(("00:00", "24:00"), days=ALL_DAYS))
    with pytest.raises(ValueError, match="outside the supported range"):
        always.is_open(datetime(9999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="beyond the supported range"):
        always.add(datetime(9990, 1, 1, tzinfo=UTC), timedelta(days=4000))


# -- validation -----------------------------------------------------------------------------


def test_naive_datetimes_are_rejected(singapore_office):
    naive = datetime(2026, 1, 12, 9, 0)  # noqa: DTZ001 - naive on purpose
    aware = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive datetime for start"):
        singapore_office.add(naive, hours(1))
    with pytest.raises(ValueError, match="naive datetime for end"):
        singapore_office.elapsed(aware, naive)
    with pytest.raises(ValueError, match="naive datetime for at"):
        singapore_office.is_open(naive)
    with pytest.raises(ValueError, match="naive datetime for at"):
        singapore_office.next_open(naive)
    with pytest.raises(ValueError, match=r"naive datetime for pauses\[0\] end"):
        singapore_office.add(aware, hours(1), [(aware, naive)])


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        WorkingSchedule("Mars/Base", {})
    with pytest.raises(ValueError, match="unknown time zone '../etc/passwd'"):
        WorkingSchedule("../etc/passwd", {})


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        (("25:00", "26:00"), r"weekly\['mon'\]\[0\] has a malformed time '25:00'"),
        (("9am", "17:00"), r"weekly\['mon'\]\[0\] has a malformed time '9am'"),
        (("09:00", "17:60"), r"malformed time '17:60'"),
        (("9:00", "17:00"), r"malformed time '9:00'"),
        (("24:00", "05:00"), r"weekly\['mon'\]\[0\] starts at '24:00'; '24:00' is only allowed"),
        (("09:00", "09:00"), r"weekly\['mon'\]\[0\] '09:00-09:00' is empty"),
        (("09:00",), r"weekly\['mon'\]\[0\] must be a \('HH:MM', 'HH:MM'\) pair"),
        ("09:00-17:00", r"weekly\['mon'\]\[0\] must be a \('HH:MM', 'HH:MM'\) pair"),
    ],
)
def test_malformed_interval_is_rejected_with_its_position(interval, message):
    with pytest.raises(ValueError, match=message):
        WorkingSchedule("UTC", {"mon": [interval]})


def test_unknown_weekday_key_is_rejected():
    with pytest.raises(ValueError, match="unknown weekday key 'monday'"):
        WorkingSchedule("UTC", {"monday": [("09:00", "17:00")]})


def test_overlapping_intervals_within_a_day_are_rejected():
    with pytest.raises(
        ValueError, match=r"^weekly\['mon'\]\[1\] '12:00-13:00' overlaps '09:00-12:30'$"
    ):
        WorkingSchedule("UTC", {"mon": [("09:00", "12:30"), ("12:00", "13:00")]})
    with pytest.raises(
        ValueError, match=r"weekly\['fri'\]\[0\] '23:00-02:00' overlaps '22:00-06:00'"
    ):
        WorkingSchedule("UTC", {"fri": [("23:00", "02:00"), ("22:00", "06:00")]})


def test_touching_intervals_within_a_day_are_allowed():
    schedule = WorkingSchedule("UTC", {"mon": [("12:00", "13:00"), ("09:00", "12:00")]})
    assert schedule.elapsed(
        datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC)
    ) == hours(4)


def test_negative_amount_is_rejected(singapore_office):
    with pytest.raises(ValueError, match="negative amount"):
        singapore_office.add(datetime(2026, 1, 12, tzinfo=UTC), timedelta(seconds=-1))


def test_holiday_that_is_not_a_date_is_rejected():
    with pytest.raises(ValueError, match=r"holidays\[0\] must be a date"):
        WorkingSchedule("UTC", {}, holidays=[datetime(2026, 1, 1, tzinfo=UTC)])
    with pytest.raises(ValueError, match=r"holidays\[1\] 'Christmas' is not an ISO date"):
        WorkingSchedule("UTC", {}, holidays=["2026-01-01", "Christmas"])


def test_schedule_without_open_hours_is_never_open():
    closed = WorkingSchedule("Europe/Berlin", {"mon": [], "sun": []})
    at = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    assert not closed.has_open_hours
    assert not closed.is_open(at)
    assert closed.elapsed(at, at + timedelta(days=400)) == timedelta(0)
    with pytest.raises(ValueError, match="^schedule has no open hours$"):
        closed.add(at, hours(1))
    with pytest.raises(ValueError, match="^schedule has no open hours$"):
        closed.next_open(at)


# -- value semantics ------------------------------------------------------------------------


def test_json_style_lists_are_accepted_and_equal_to_tuples():
    from_json = WorkingSchedule("Asia/Singapore", {"mon": [["09:00", "18:00"]]})
    from_tuples = WorkingSchedule("Asia/Singapore", {"mon": [("09:00", "18:00")]})
    assert from_json == from_tuples
    assert hash(from_json) == hash(from_tuples)
    assert {from_json: "cached"}[from_tuples] == "cached"
    assert from_json.weekly == {"mon": [("09:00", "18:00")]}


def test_schedules_differing_in_holidays_or_zone_are_not_equal():
    base = WorkingSchedule("Asia/Singapore", {"mon": [("09:00", "18:00")]})
    assert base != WorkingSchedule("Asia/Singapore", {"mon": [("09:00", "18:00")]}, ["2026-01-05"])
    assert base != WorkingSchedule("Asia/Dubai", {"mon": [("09:00", "18:00")]})


def test_schedule_is_immutable(singapore_office):
    with pytest.raises(AttributeError):
        singapore_office._tz = "UTC"
    with pytest.raises(AttributeError):
        del singapore_office._weekly


def test_schedule_survives_pickling_with_its_behaviour(singapore_nights):
    singapore_nights.is_open(datetime(2026, 1, 12, tzinfo=UTC))  # fill a cache chunk first
    copy = pickle.loads(pickle.dumps(singapore_nights))  # noqa: S301 - our own data
    assert copy == singapore_nights
    assert copy.holidays == frozenset({date(2026, 1, 14)})
    tuesday_11pm = datetime(2026, 1, 13, 23, 0, tzinfo=SGT)
    assert copy.add(tuesday_11pm, hours(8)) == datetime(2026, 1, 15, 23, 0, tzinfo=SGT)


def test_concurrent_first_use_from_threads_gives_identical_answers():
    schedule = WorkingSchedule("Europe/Berlin", weekdays(("08:00", "12:00"), ("13:00", "18:00")))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    monday_11am = datetime(2026, 6, 1, 11, 0, tzinfo=CEST)
    results: list[tuple[datetime, timedelta]] = []
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        due = schedule.add(monday_11am, hours(2))
        spent = schedule.elapsed(start, start + timedelta(days=1000))
        results.append((due, spent))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert {due for due, _ in results} == {datetime(2026, 6, 1, 14, 0, tzinfo=CEST)}
    assert len({spent for _, spent in results}) == 1


def test_module_docstring_examples_hold():
    outcome = doctest.testmod(business_time)
    assert outcome.attempted > 10
    assert outcome.failed == 0
