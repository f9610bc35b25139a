"""Business-hours maths in sla/calendar.py: pure functions, fixed datetimes, no database.

DST dates used (2026):
- Europe/Berlin springs forward Sun 29 Mar at 01:00 UTC (02:00 CET -> 03:00 CEST) and falls back
  Sun 25 Oct at 01:00 UTC (03:00 CEST -> 02:00 CET).
- America/New_York springs forward Sun 8 Mar at 07:00 UTC (02:00 EST -> 03:00 EDT) and falls back
  Sun 1 Nov at 06:00 UTC (02:00 EDT -> 01:00 EST).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import BusinessCalendar, add_business_time, business_time_between

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def calendar(
    tz: str, days: tuple[str, ...], *intervals: str, holidays: Iterable[str] = ()
) -> BusinessCalendar:
    """calendar("Europe/Berlin", WEEKDAYS, "09:00-17:00") -> the same hours on every day listed."""
    pairs = [interval.split("-") for interval in intervals]
    weekly = {day: pairs for day in days}
    return BusinessCalendar.from_dict({"tz": tz, "weekly": weekly, "holidays": list(holidays)})


BERLIN_9_17 = calendar("Europe/Berlin", WEEKDAYS, "09:00-17:00")
NEW_YORK_9_17 = calendar("America/New_York", WEEKDAYS, "09:00-17:00")
BERLIN_ALWAYS = calendar("Europe/Berlin", ALL_DAYS, "00:00-24:00")
NEW_YORK_ALWAYS = calendar("America/New_York", ALL_DAYS, "00:00-24:00")
BERLIN_LUNCH_BREAK = calendar("Europe/Berlin", WEEKDAYS, "08:00-12:00", "13:00-17:00")
# Sunday night shifts straddle both Berlin transitions (02:00-03:00 local).
BERLIN_SUNDAY_NIGHT = calendar("Europe/Berlin", ("sun",), "00:00-04:00")


# --- 24x7 default -------------------------------------------------------------------------------


def test_it_adds_plain_utc_time_without_a_calendar() -> None:
    assert add_business_time(utc(2026, 3, 7, 22), hours(30), None) == utc(2026, 3, 9, 4)
    assert business_time_between(utc(2026, 3, 7, 22), utc(2026, 3, 9, 4), None) == hours(30)


def test_it_uses_real_time_without_a_calendar_even_for_local_aware_datetimes() -> None:
    # Aware + timedelta in a ZoneInfo zone is wall-clock arithmetic; the SLA must not be.
    start = datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN)  # 1 h before spring forward
    due = add_business_time(start, hours(4), None)
    assert due == utc(2026, 3, 29, 4)
    assert due.tzinfo is UTC
    end = datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)  # same tzinfo: naive subtraction says 5 h
    assert business_time_between(start, end, None) == hours(4)


# --- ordinary weeks -----------------------------------------------------------------------------


def test_it_counts_from_start_when_start_is_inside_hours() -> None:
    # Tue 10 Mar 2026 10:00 CET = 09:00 UTC; 3 h later is 13:00 CET.
    assert add_business_time(utc(2026, 3, 10, 9), hours(3), BERLIN_9_17) == utc(2026, 3, 10, 12)


def test_it_waits_for_the_opening_when_start_is_before_hours() -> None:
    # 06:00 CET -> counting starts at 09:00 CET (08:00 UTC).
    assert add_business_time(utc(2026, 3, 10, 5), hours(1), BERLIN_9_17) == utc(2026, 3, 10, 9)


def test_it_continues_next_working_day_when_start_is_after_hours() -> None:
    # Tue 20:00 CET -> Wed 09:00 CET + 2 h = Wed 11:00 CET.
    assert add_business_time(utc(2026, 3, 10, 19), hours(2), BERLIN_9_17) == utc(2026, 3, 11, 10)


def test_it_carries_the_remainder_over_to_the_next_day() -> None:
    # Tue 15:00 CET, 5 h: 2 h on Tuesday, 3 h on Wednesday -> Wed 12:00 CET.
    assert add_business_time(utc(2026, 3, 10, 14), hours(5), BERLIN_9_17) == utc(2026, 3, 11, 11)


def test_it_skips_the_weekend() -> None:
    # Fri 13 Mar 16:00 CET, 4 h: 1 h Friday, 3 h Monday -> Mon 16 Mar 12:00 CET.
    start, due = utc(2026, 3, 13, 15), utc(2026, 3, 16, 11)
    assert add_business_time(start, hours(4), BERLIN_9_17) == due
    assert business_time_between(start, due, BERLIN_9_17) == hours(4)


def test_it_skips_holidays() -> None:
    with_holiday = calendar("Europe/Berlin", WEEKDAYS, "09:00-17:00", holidays=["2026-03-11"])
    # Tue 16:00 CET, 2 h: 1 h Tuesday, Wednesday closed, 1 h Thursday -> Thu 10:00 CET.
    start, due = utc(2026, 3, 10, 15), utc(2026, 3, 12, 9)
    assert add_business_time(start, hours(2), with_holiday) == due
    assert business_time_between(start, due, with_holiday) == hours(2)
    assert business_time_between(utc(2026, 3, 11), utc(2026, 3, 12), with_holiday) == hours(0)


def test_it_skips_the_gap_between_intervals_of_one_day() -> None:
    # Tue 11:00 CET, 2 h: 11-12, lunch, 13-14 -> 14:00 CET.
    start, due = utc(2026, 3, 10, 10), utc(2026, 3, 10, 13)
    assert add_business_time(start, hours(2), BERLIN_LUNCH_BREAK) == due
    assert business_time_between(start, due, BERLIN_LUNCH_BREAK) == hours(2)
    day = business_time_between(utc(2026, 3, 10), utc(2026, 3, 11), BERLIN_LUNCH_BREAK)
    assert day == hours(8)


def test_it_returns_the_closing_instant_when_time_runs_out_at_closing() -> None:
    # Exactly a full day from the opening ends at 17:00 that day, not 09:00 the next day.
    assert add_business_time(utc(2026, 3, 10, 8), hours(8), BERLIN_9_17) == utc(2026, 3, 10, 16)
    # Likewise the morning block of a split day ends at 12:00, not at 13:00 after lunch.
    due = add_business_time(utc(2026, 3, 10, 7), hours(4), BERLIN_LUNCH_BREAK)
    assert due == utc(2026, 3, 10, 11)


def test_it_starts_counting_at_the_next_opening_when_started_at_closing() -> None:
    closing = utc(2026, 3, 10, 16)
    assert add_business_time(closing, hours(1), BERLIN_9_17) == utc(2026, 3, 11, 9)


def test_it_returns_start_for_a_zero_duration_even_outside_hours() -> None:
    saturday = utc(2026, 3, 14, 12)
    assert add_business_time(saturday, timedelta(0), BERLIN_9_17) == saturday


def test_it_returns_utc_for_starts_given_in_other_zones() -> None:
    start = datetime(2026, 3, 10, 10, 0, tzinfo=BERLIN)
    due = add_business_time(start, hours(3), BERLIN_9_17)
    assert due == utc(2026, 3, 10, 12)
    assert due.tzinfo is UTC


def test_it_returns_zero_between_when_end_is_not_after_start() -> None:
    assert business_time_between(utc(2026, 3, 10, 12), utc(2026, 3, 10, 9), BERLIN_9_17) == hours(0)
    assert business_time_between(utc(2026, 3, 10, 12), utc(2026, 3, 10, 9), None) == hours(0)


def test_it_measures_a_working_week() -> None:
    week = business_time_between(utc(2026, 3, 9), utc(2026, 3, 16), BERLIN_LUNCH_BREAK)
    assert week == hours(40)


def test_it_handles_an_interval_ending_at_midnight() -> None:
    late = calendar("Europe/Berlin", ("tue",), "20:00-24:00")
    # Tue 22:00 CET, 3 h: 2 h Tuesday, then nothing until next Tuesday 20:00 CET.
    assert add_business_time(utc(2026, 3, 10, 21), hours(2), late) == utc(2026, 3, 10, 23)
    assert add_business_time(utc(2026, 3, 10, 21), hours(3), late) == utc(2026, 3, 17, 20)


def test_it_adds_durations_longer_than_a_year_of_working_time() -> None:
    # 104 working weeks from Mon 5 Jan 2026 09:00 CET end on the Friday closing of the 104th week,
    # through four DST changes.
    start = datetime(2026, 1, 5, 9, 0, tzinfo=BERLIN)
    due = add_business_time(start, hours(40 * 104), BERLIN_9_17)
    assert due == datetime(2027, 12, 31, 17, 0, tzinfo=BERLIN)
    assert business_time_between(start, due, BERLIN_9_17) == hours(40 * 104)


def test_it_works_across_long_holiday_runs_shorter_than_a_year() -> None:
    closed = [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(300)]
    shutdown = calendar("Europe/Berlin", WEEKDAYS, "09:00-17:00", holidays=closed)
    # Closed 1 Jan to 27 Oct; Wed 28 Oct opens 09:00 CET (08:00 UTC), plus 1 h.
    due = add_business_time(utc(2026, 1, 1), hours(1), shutdown)
    assert due == utc(2026, 10, 28, 9)


def test_it_raises_instead_of_looping_when_holidays_remove_all_working_time() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(60)]
    never = calendar(
        "Europe/Berlin", ("mon",), "09:00-17:00", holidays=[d.isoformat() for d in mondays]
    )
    with pytest.raises(ValueError, match="no working time within 366 days"):
        add_business_time(utc(2026, 1, 1), hours(1), never)
    # Measuring is bounded by the end date, so it just finds none.
    assert business_time_between(utc(2026, 1, 1), utc(2027, 1, 1), never) == hours(0)


# --- DST --------------------------------------------------------------------------------------


def test_it_keeps_a_9_to_17_day_at_8_hours_on_both_sides_of_berlin_dst() -> None:
    # Fri 27 Mar 16:00 CET (15:00 UTC), 2 h: 1 h Friday, 1 h Monday 30 Mar -> 10:00 CEST.
    assert add_business_time(utc(2026, 3, 27, 15), hours(2), BERLIN_9_17) == utc(2026, 3, 30, 8)
    # Fri 23 Oct 16:00 CEST (14:00 UTC), 2 h -> Mon 26 Oct 10:00 CET (09:00 UTC).
    assert add_business_time(utc(2026, 10, 23, 14), hours(2), BERLIN_9_17) == utc(2026, 10, 26, 9)
    for monday in (date(2026, 3, 30), date(2026, 10, 26)):
        day = datetime.combine(monday, time(0), tzinfo=BERLIN)
        assert business_time_between(day, day + timedelta(days=1), BERLIN_9_17) == hours(8)


def test_it_keeps_a_9_to_17_day_at_8_hours_on_both_sides_of_new_york_dst() -> None:
    # Fri 6 Mar 16:00 EST (21:00 UTC), 2 h -> Mon 9 Mar 10:00 EDT (14:00 UTC).
    assert add_business_time(utc(2026, 3, 6, 21), hours(2), NEW_YORK_9_17) == utc(2026, 3, 9, 14)
    # Fri 30 Oct 16:00 EDT (20:00 UTC), 2 h -> Mon 2 Nov 10:00 EST (15:00 UTC).
    assert add_business_time(utc(2026, 10, 30, 20), hours(2), NEW_YORK_9_17) == utc(2026, 11, 2, 15)


def test_it_counts_real_hours_through_spring_forward_in_a_local_24x7_calendar() -> None:
    # 4 h starting 1 h before the transition instant are 4 real hours (14,400 s).
    assert add_business_time(utc(2026, 3, 29, 0), hours(4), BERLIN_ALWAYS) == utc(2026, 3, 29, 4)
    assert add_business_time(utc(2026, 3, 8, 6), hours(4), NEW_YORK_ALWAYS) == utc(2026, 3, 8, 10)
    berlin_day = business_time_between(
        datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN), BERLIN_ALWAYS
    )
    assert berlin_day == hours(23)


def test_it_counts_real_hours_through_fall_back_in_a_local_24x7_calendar() -> None:
    assert add_business_time(utc(2026, 10, 25, 0), hours(4), BERLIN_ALWAYS) == utc(2026, 10, 25, 4)
    assert add_business_time(utc(2026, 11, 1, 5), hours(4), NEW_YORK_ALWAYS) == utc(2026, 11, 1, 9)
    new_york_day = business_time_between(
        datetime(2026, 11, 1, tzinfo=NEW_YORK),
        datetime(2026, 11, 2, tzinfo=NEW_YORK),
        NEW_YORK_ALWAYS,
    )
    assert new_york_day == hours(25)


def test_it_matches_plain_utc_arithmetic_for_local_24x7_calendars_all_year() -> None:
    for cal in (BERLIN_ALWAYS, NEW_YORK_ALWAYS):
        start = utc(2026, 1, 1, 0, 7)
        while start < utc(2027, 1, 1):
            for duration in (timedelta(minutes=1), hours(4), hours(25), timedelta(days=9)):
                assert add_business_time(start, duration, cal) == start + duration, (cal, start)
            start += timedelta(hours=29, minutes=13)


def test_it_gives_an_interval_containing_spring_forward_its_real_length() -> None:
    # Sunday 00:00-04:00 local: 3 real hours on 29 Mar, 4 on 5 Apr.
    night = business_time_between(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), BERLIN_SUNDAY_NIGHT)
    assert night == hours(3)
    assert add_business_time(utc(2026, 3, 28, 12), hours(4), BERLIN_SUNDAY_NIGHT) == utc(
        2026, 4, 4, 23
    )


def test_it_gives_an_interval_containing_fall_back_its_real_length() -> None:
    # 00:00 CEST (22:00 UTC Sat) to 04:00 CET (03:00 UTC): 5 real hours.
    night = business_time_between(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), BERLIN_SUNDAY_NIGHT)
    assert night == hours(5)
    assert add_business_time(utc(2026, 10, 24, 12), hours(5), BERLIN_SUNDAY_NIGHT) == utc(
        2026, 10, 25, 3
    )


def test_it_reads_an_ambiguous_opening_as_its_first_occurrence() -> None:
    cal = calendar("Europe/Berlin", ("sun",), "02:30-05:00")
    # 02:30 CEST (00:30 UTC) to 05:00 CET (04:00 UTC).
    assert add_business_time(utc(2026, 10, 24), hours(1), cal) == utc(2026, 10, 25, 1, 30)
    assert business_time_between(utc(2026, 10, 24), utc(2026, 10, 26), cal) == hours(3.5)


def test_it_reads_a_nonexistent_opening_with_the_offset_before_the_gap() -> None:
    cal = calendar("Europe/Berlin", ("sun",), "02:30-05:00")
    # RFC 5545: 02:30 that night is read as 02:30 CET = 01:30 UTC = 03:30 CEST; closes 03:00 UTC.
    assert add_business_time(utc(2026, 3, 28), hours(1), cal) == utc(2026, 3, 29, 2, 30)
    assert business_time_between(utc(2026, 3, 28), utc(2026, 3, 30), cal) == hours(1.5)


def test_it_never_counts_an_instant_twice_when_gap_readings_overlap() -> None:
    # 02:30 (read as 03:30 CEST) ends after 03:00 CEST starts the next interval: the union is
    # 00:00 CET to 05:00 CEST, 4 real hours, not 4.5.
    cal = calendar("Europe/Berlin", ("sun",), "00:00-02:30", "03:00-05:00")
    assert business_time_between(utc(2026, 3, 28), utc(2026, 3, 30), cal) == hours(4)
    assert add_business_time(utc(2026, 3, 28), hours(4), cal) == utc(2026, 3, 29, 3)


def test_it_reads_a_day_removed_by_the_date_line_with_the_offset_before_it() -> None:
    # Samoa skipped Fri 30 Dec 2011. Read with the old offset (-10), Friday's 09:00-17:00 lands on
    # Sat 31 Dec 09:00-17:00 (+14) = 19:00-03:00 UTC: a day's span can run past its own local
    # midnight, which is why the search starts a day early.
    apia = calendar("Pacific/Apia", WEEKDAYS, "09:00-17:00")
    start = utc(2011, 12, 30, 19, 30)  # Sat 31 Dec 09:30 local
    assert add_business_time(start, hours(1), apia) == utc(2011, 12, 30, 20, 30)
    assert business_time_between(utc(2011, 12, 30, 12), utc(2011, 12, 31, 12), apia) == hours(8)


# --- inverse property -------------------------------------------------------------------------

PROPERTY_CALENDARS = (
    BERLIN_9_17,
    BERLIN_LUNCH_BREAK,
    BERLIN_SUNDAY_NIGHT,
    calendar("America/New_York", WEEKDAYS, "08:30-12:00", "13:00-24:00", holidays=["2026-03-09"]),
    calendar("Europe/Berlin", ("sun",), "00:00-02:30", "03:00-05:00", "23:00-24:00"),
)
DURATIONS = (
    timedelta(0),
    timedelta(seconds=1),
    timedelta(minutes=59),
    hours(3),
    hours(8),
    hours(8) + timedelta(seconds=1),
    hours(27),
    hours(100),
)


@pytest.mark.parametrize("cal", PROPERTY_CALENDARS, ids=lambda c: str(sorted(c.weekly.items())))
def test_it_measures_back_exactly_the_duration_it_added(cal: BusinessCalendar) -> None:
    # Starts every 7h17m across both 2026 DST seasons of both zones.
    for first, last in ((utc(2026, 3, 1), utc(2026, 4, 6)), (utc(2026, 10, 20), utc(2026, 11, 6))):
        start = first
        while start < last:
            for duration in DURATIONS:
                due = add_business_time(start, duration, cal)
                assert due >= start
                assert business_time_between(start, due, cal) == duration, (start, duration)
                if duration:  # earliest such instant: a microsecond earlier is not enough
                    earlier = due - timedelta(microseconds=1)
                    assert business_time_between(start, earlier, cal) < duration
            start += timedelta(hours=7, minutes=17)


@pytest.mark.parametrize("cal", PROPERTY_CALENDARS, ids=lambda c: str(sorted(c.weekly.items())))
def test_it_adds_back_exactly_the_time_it_measured(cal: BusinessCalendar) -> None:
    start = utc(2026, 3, 5, 3, 11)
    for step in range(400):
        end = start + timedelta(hours=step, minutes=37 * step % 60)
        elapsed = business_time_between(start, end, cal)
        due = add_business_time(start, elapsed, cal)
        assert due <= end
        assert business_time_between(due, end, cal) == timedelta(0), (start, end)


# --- naive datetimes and validation -------------------------------------------------------------


def test_it_rejects_naive_datetimes() -> None:
    naive, aware = datetime(2026, 3, 10, 9), utc(2026, 3, 10, 9)  # noqa: DTZ001 (on purpose)
    for cal in (None, BERLIN_9_17):
        with pytest.raises(ValueError, match="start must be an aware datetime"):
            add_business_time(naive, hours(1), cal)
        with pytest.raises(ValueError, match="start must be an aware datetime"):
            business_time_between(naive, aware, cal)
        with pytest.raises(ValueError, match="end must be an aware datetime"):
            business_time_between(aware, naive, cal)


def test_it_rejects_negative_durations() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(utc(2026, 3, 10, 9), hours(-1), BERLIN_9_17)


def _data(**overrides: object) -> dict[str, object]:
    return {"tz": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}, **overrides}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_data(tz="Europe/Nowhere"), "unknown time zone 'Europe/Nowhere'"),
        (_data(tz="../etc/passwd"), "unknown time zone"),
        ({"weekly": {"mon": [["09:00", "17:00"]]}}, "needs 'tz'"),
        (_data(weekly=None), "needs 'weekly'"),
        (_data(weekly={}), "no working time"),
        (_data(weekly={"sat": []}), "no working time"),
        (_data(weekly={"monday": [["09:00", "17:00"]]}), "unknown day 'monday'"),
        (_data(weekly={"mon": [["17:00", "09:00"]]}), "mon: interval 17:00-09:00 ends before"),
        (_data(weekly={"mon": [["09:00", "09:00"]]}), "ends before it starts"),
        (_data(weekly={"mon": [["09:00", "00:00"]]}), "as 24:00, not 00:00"),
        (_data(weekly={"mon": [["24:00", "24:00"]]}), "'24:00' is not a HH:MM time"),
        (
            _data(weekly={"tue": [["08:00", "12:00"], ["11:00", "17:00"]]}),
            "tue: interval starting 11:00 overlaps",
        ),
        (_data(weekly={"mon": [["9:00", "17:00"]]}), "'9:00' is not a HH:MM time"),
        (_data(weekly={"mon": [["09:00", "17:60"]]}), "'17:60' is not a HH:MM time"),
        (_data(weekly={"mon": [["09:00"]]}), "must be a \\[start, end\\] pair"),
        (_data(weekly={"mon": "09:00-17:00"}), "must be a list"),
        (_data(holidays=["2026-12-5"]), "holiday '2026-12-5' is not a YYYY-MM-DD date"),
        (_data(holidays=["2026-02-30"]), "holiday '2026-02-30'"),
        (_data(holidays="2026-12-25"), "'holidays' must be a list"),
        (_data(timezone="UTC"), "unknown calendar keys: \\['timezone'\\]"),
        ([["09:00", "17:00"]], "calendar must be an object"),
    ],
)
def test_it_rejects_invalid_calendar_dicts(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_dict(data)  # type: ignore[arg-type]


def test_it_validates_calendars_built_directly() -> None:
    nine, five = time(9), time(17)
    with pytest.raises(ValueError, match="unknown weekday 7"):
        BusinessCalendar("UTC", {7: ((nine, five),)})
    with pytest.raises(ValueError, match="not a pair of naive whole-second times"):
        BusinessCalendar("UTC", {0: ((nine, time(17, tzinfo=UTC)),)})
    with pytest.raises(ValueError, match="overlaps"):
        BusinessCalendar("UTC", {0: ((time(12), five), (nine, time(13)))})
    with pytest.raises(ValueError, match="is not a date"):
        BusinessCalendar("UTC", {0: ((nine, five),)}, frozenset({utc(2026, 1, 1)}))  # type: ignore[arg-type]


def test_it_round_trips_the_dict_form() -> None:
    data = {
        "tz": "America/New_York",
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:30"]], "sat": [["20:00", "24:00"]]},
        "holidays": ["2026-07-03", "2026-12-25"],
    }
    cal = BusinessCalendar.from_dict(data)
    assert cal.weekly[0] == ((time(8), time(12)), (time(13), time(17, 30)))
    assert cal.weekly[5] == ((time(20), time(0)),)  # time(0, 0) as an end is 24:00
    assert cal.holidays == frozenset({date(2026, 7, 3), date(2026, 12, 25)})
    assert cal.to_dict() == data
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal
    assert hash(BusinessCalendar.from_dict(cal.to_dict())) == hash(cal)
    # Task queues pickle arguments and tests deepcopy fixtures.
    assert pickle.loads(pickle.dumps(cal)) == cal  # noqa: S301 (our own bytes)
    assert copy.deepcopy(cal) == cal


def test_it_normalises_unsorted_intervals_and_closed_days() -> None:
    cal = BusinessCalendar.from_dict(
        _data(weekly={"mon": [["13:00", "17:00"], ["08:00", "12:00"]], "sun": []})
    )
    assert cal.to_dict()["weekly"] == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
