"""Business-hours arithmetic for SLA clocks. Pure: stdlib only, no Django.

A `BusinessCalendar` is weekly opening hours in one IANA time zone plus whole-day holidays (dates
in that zone). No calendar (`None`) means 24x7: plain timedelta arithmetic in UTC.

Representation: intervals are wall-clock local `(start, end)` times. An *end* of `time(0, 0)`
means 24:00, the midnight that ends the day (written "24:00" in the dict form), so an interval
never crosses midnight: split 22:00-06:00 into 22:00-24:00 and 00:00-06:00 of the next weekday.

DST: each local endpoint becomes a real instant through zoneinfo with fold=0 (the RFC 5545 rule),
and all arithmetic on those instants is in UTC, so durations are always real time.
- An ambiguous time (fall back) means its first occurrence: 00:00-04:00 on Berlin's fall-back
  night is 5 real hours, and 00:00-24:00 every day covers every instant exactly once.
- A nonexistent time (spring forward) is read with the offset from before the gap: 02:30 on
  Berlin's spring-forward night means 03:30 summer time. As that reading can run backwards, a
  span starts no earlier than the previous one ended and is dropped if empty: no instant counts
  twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[time, time]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
# add_business_time gives up after this many consecutive local days without working time, so a
# calendar whose holidays cover every opening cannot loop forever.
_MAX_IDLE_DAYS = 366
_TIME_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly hours (weekday 0=Mon..6=Sun -> sorted, non-overlapping intervals) in `tz`."""

    tz: str
    weekly: Mapping[int, tuple[Interval, ...]] = field(hash=False)
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        weekly: dict[int, tuple[Interval, ...]] = {}
        for day, intervals in self.weekly.items():
            if day not in range(7):
                raise ValueError(f"unknown weekday {day!r}: use 0=Mon..6=Sun")
            if intervals := _checked(DAY_NAMES[day], intervals):
                weekly[day] = intervals
        if not weekly:
            raise ValueError("weekly hours contain no working time")
        for holiday in self.holidays:
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                raise ValueError(f"holiday {holiday!r} is not a date")
        # A normalised copy, so the caller's mapping can't change a validated calendar. (Not a
        # MappingProxyType: that would make calendars impossible to pickle or deepcopy.)
        object.__setattr__(self, "weekly", dict(sorted(weekly.items())))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "zone", zone)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Parse the JSON form, e.g. {"tz": "Europe/Berlin", "weekly": {"mon": [["09:00",
        "17:00"]]}, "holidays": ["2026-12-25"]}. Missing days are closed. Raises ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError("calendar must be an object")
        if unknown := set(data) - {"tz", "weekly", "holidays"}:
            raise ValueError(f"unknown calendar keys: {sorted(unknown)}")
        if not isinstance(data.get("tz"), str):
            raise ValueError("calendar needs 'tz', an IANA time zone name")
        raw_weekly = data.get("weekly")
        if not isinstance(raw_weekly, Mapping):
            raise ValueError("calendar needs 'weekly', an object of day name -> intervals")
        weekly: dict[int, tuple[Interval, ...]] = {}
        for name, intervals in raw_weekly.items():
            if name not in DAY_NAMES:
                raise ValueError(f"unknown day {name!r}: use one of {', '.join(DAY_NAMES)}")
            if not isinstance(intervals, list | tuple):
                raise ValueError(f"{name}: intervals must be a list of [start, end] pairs")
            weekly[DAY_NAMES.index(name)] = tuple(_parse_interval(name, i) for i in intervals)
        raw_holidays = data.get("holidays", [])
        if not isinstance(raw_holidays, list | tuple):
            raise ValueError("'holidays' must be a list of YYYY-MM-DD dates")
        return cls(data["tz"], weekly, frozenset(_parse_date(h) for h in raw_holidays))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form accepted by `from_dict` (round-trips to an equal calendar)."""
        return {
            "tz": self.tz,
            "weekly": {
                DAY_NAMES[day]: [
                    [_format(s), "24:00" if e == _MIDNIGHT else _format(e)] for s, e in intervals
                ]
                for day, intervals in self.weekly.items()
            },
            "holidays": [h.isoformat() for h in sorted(self.holidays)],
        }


def add_business_time(
    start: datetime, duration: timedelta, calendar: BusinessCalendar | None
) -> datetime:
    """The earliest UTC instant by which `duration` of working time has elapsed after `start`.

    Outside working hours, counting starts at the next opening. Being the earliest such instant,
    time running out exactly at a closing returns the closing instant (not the next opening), and
    a zero duration returns `start`. Raises ValueError for naive datetimes, negative durations,
    or when 366 consecutive days pass without working time (holidays covering every opening).
    """
    start = _as_utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if calendar is None or not duration:
        return start + duration
    remaining = duration
    for lo, hi in _spans(calendar, _local_date(start, calendar) - _ONE_DAY, None):
        if hi <= start:
            continue
        lo = max(lo, start)
        if remaining <= hi - lo:
            return lo + remaining
        remaining -= hi - lo
    raise AssertionError("unreachable: _spans without an end day never stops by itself")


def business_time_between(
    start: datetime, end: datetime, calendar: BusinessCalendar | None
) -> timedelta:
    """Working time in [start, end); zero if end <= start. Raises ValueError if naive."""
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    first, last = _local_date(start, calendar) - _ONE_DAY, _local_date(end, calendar) + _ONE_DAY
    for lo, hi in _spans(calendar, first, last):
        if lo >= end:
            break
        if hi > start:
            total += min(hi, end) - max(lo, start)
    return total


def _spans(
    calendar: BusinessCalendar, first: date, last: date | None
) -> Iterator[tuple[datetime, datetime]]:
    """Working spans as UTC instants in time order, for local days `first`..`last`.

    Callers start one day early: around DST a day's spans can reach past its local midnight.
    """
    weekly, holidays, zone = calendar.weekly, calendar.holidays, calendar.zone
    floor = datetime.min.replace(tzinfo=UTC)
    day, idle_days = first, 0
    while last is None or day <= last:
        idle_days += 1
        if day not in holidays:
            for start, end in weekly.get(day.weekday(), ()):
                lo = max(floor, _instant(day, start, zone))
                hi = _instant(day + _ONE_DAY if end == _MIDNIGHT else day, end, zone)
                if hi > lo:  # empty after DST clipping: skip rather than count twice
                    floor, idle_days = hi, 0
                    yield lo, hi
        if last is None and idle_days > _MAX_IDLE_DAYS:
            raise ValueError(f"no working time within {_MAX_IDLE_DAYS} days before {day}")
        day += _ONE_DAY


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # fold=0 (the default): first occurrence if ambiguous, pre-gap offset if nonexistent.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _local_date(instant: datetime, calendar: BusinessCalendar) -> date:
    return instant.astimezone(calendar.zone).date()


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    # Convert before any arithmetic: aware + timedelta in a local zone is wall-clock arithmetic.
    return value.astimezone(UTC)


def _checked(day: str, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Validate one day's intervals and return them sorted."""
    for pair in intervals:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(t, time) and t.tzinfo is None and not t.microsecond for t in pair)
        ):
            raise ValueError(f"{day}: {pair!r} is not a pair of naive whole-second times")
    previous_end = 0
    for start, end in (result := sorted((start, end) for start, end in intervals)):
        if _seconds(end, is_end=True) <= _seconds(start):
            raise ValueError(
                f"{day}: interval {_format(start)}-{_format(end)} ends before it "
                "starts (midnight at the end of a day is 24:00, time(0, 0))"
            )
        if _seconds(start) < previous_end:
            raise ValueError(f"{day}: interval starting {_format(start)} overlaps the previous")
        previous_end = _seconds(end, is_end=True)
    return tuple(result)


def _seconds(t: time, is_end: bool = False) -> int:
    return 86_400 if is_end and t == _MIDNIGHT else t.hour * 3600 + t.minute * 60 + t.second


def _parse_interval(day: str, pair: object) -> Interval:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise ValueError(f"{day}: interval {pair!r} must be a [start, end] pair")
    if pair[1] in ("00:00", "00:00:00"):
        raise ValueError(f"{day}: write midnight at the end of the day as 24:00, not {pair[1]}")
    return _parse_time(day, pair[0]), _MIDNIGHT if pair[1] == "24:00" else _parse_time(day, pair[1])


def _parse_time(day: str, text: object) -> time:
    match = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{day}: {text!r} is not a HH:MM time")
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


def _parse_date(text: object) -> date:
    if isinstance(text, str) and _DATE_RE.fullmatch(text):
        with suppress(ValueError):  # e.g. 2026-02-30
            return date.fromisoformat(text)
    raise ValueError(f"holiday {text!r} is not a YYYY-MM-DD date")


def _format(t: time) -> str:
    return t.isoformat("seconds" if t.second else "minutes")
