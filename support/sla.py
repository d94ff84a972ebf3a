"""Business-hours arithmetic for SLA clocks: how many business seconds lie between two instants, and which
instant is N business seconds after another, in a store's time zone, working days, hours and holidays.

Pure functions over a `BusinessCalendar` (no database): the clock fields on a ticket are derived from them by
support.services, and the tests drive them with frozen times across weekends and holiday lists.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MAX_DAYS = 3660  # a target can never need more than ten years of calendar to place (bounded loops)


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "Asia/Shanghai"
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The open hours of a local date as aware datetimes, or None on a closed day."""
        if day.weekday() not in self.weekdays or day in self.holidays or self.closes <= self.opens:
            return None
        z = self.zone
        return dt.datetime.combine(day, self.opens, tzinfo=z), dt.datetime.combine(day, self.closes, tzinfo=z)


def business_seconds_between(start: dt.datetime, end: dt.datetime, cal: BusinessCalendar) -> int:
    """Business seconds in [start, end) (0 when end <= start)."""
    if end <= start:
        return 0
    z = cal.zone
    day, last = start.astimezone(z).date(), end.astimezone(z).date()
    total = 0.0
    for _ in range(MAX_DAYS):
        if day > last:
            break
        w = cal.window(day)
        if w is not None:
            lo, hi = max(w[0], start), min(w[1], end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return int(total)


def business_add(start: dt.datetime, seconds: int, cal: BusinessCalendar) -> dt.datetime | None:
    """The instant `seconds` business seconds after `start` (None if the calendar has no open hours)."""
    z = cal.zone
    left = max(int(seconds), 0)
    day = start.astimezone(z).date()
    for _ in range(MAX_DAYS):
        w = cal.window(day)
        if w is not None:
            lo = max(w[0], start)
            if lo < w[1]:
                available = (w[1] - lo).total_seconds()
                if left <= available:
                    return (lo + dt.timedelta(seconds=left)).astimezone(dt.UTC)
                left -= int(available)
        day += dt.timedelta(days=1)
    return None
