"""Calendar conventions of every report (local Asia/Shanghai dates, inclusive ends).

- Mid-year (年中) report of year Y: Y-01-01 .. Y-06-30; year-end (年终): Y-01-01 .. Y-12-31.
- "Within one year of D" means on or before the day before D's anniversary: D .. add_years(D,1)-1.
- add_years keeps the month and day; 29 February becomes 28 February in a common year
  (`socialwork_contracts.periods`, the one convention of every service).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from socialwork_contracts.periods import LOCAL_TIME_ZONE, add_years
from socialwork_contracts.periods import local_date as local_date

LOCAL = LOCAL_TIME_ZONE
Half = Literal["mid_year", "year_end"]


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def contains(self, day: dt.date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def report_period(year: int, half: Half) -> Period:
    """The period a mid-year or year-end report covers (guidance §6.3)."""
    end = dt.date(year, 6, 30) if half == "mid_year" else dt.date(year, 12, 31)
    return Period(dt.date(year, 1, 1), end)


def half_ending(day: dt.date) -> tuple[int, Half] | None:
    """The report whose period ends on `day`, if one does (30 June, 31 December)."""
    if (day.month, day.day) == (6, 30):
        return day.year, "mid_year"
    if (day.month, day.day) == (12, 31):
        return day.year, "year_end"
    return None


def within_one_year(start: dt.date) -> Period:
    """Guidance §3 "一年内": the start day through the day before its first anniversary."""
    return Period(start, add_years(start, 1) - dt.timedelta(days=1))


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The last instant of a local day (a report "as recorded on D" sees all of D)."""
    start_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL)
    return start_next - dt.timedelta(microseconds=1)
