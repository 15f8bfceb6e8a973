"""How the platform counts periods and deadlines — one convention for every service and reader.

Dates are local (Asia/Shanghai) calendar days. The reading follows the Civil Code §§200–204:

- A period counted in days, months or years does not count its start day (§201). "n months
  after d" is the same day of the month n months later, clamped to the last day of a shorter
  month (§202: 2024-08-31 + 6 months = 2025-02-28); a period of n months from d is complete on
  that day.
- A deadline (the last day of a period, inclusive) that falls on a day off — a weekend or a
  statutory holiday — moves to the next working day (§203); a make-up working day (调休) on a
  weekend is a working day. The official calendar is pinned in
  `reference_data/working_calendar.json` (generated from the `chinesecalendar` library; a year
  beyond it is added by the bureau from the State Council's notice, with the notice's number, by
  `python -m devstack.working_calendar --add-year`). A day in a year it does not hold raises
  `UnknownCalendarYear`: a deadline is never guessed; services answer a 422 problem
  `calendar_year_unknown` that says what to do.
- "n working days after d" is the n-th working day after d (d itself not counted).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

# The platform's local time: every calendar date in an event or a rule is a day here.
LOCAL_TIME_ZONE = ZoneInfo("Asia/Shanghai")


class UnknownCalendarYear(LookupError):
    """The working calendar has no data for this year (add it to working_calendar.json)."""

    def __init__(self, year: int, known: tuple[int, int]) -> None:
        super().__init__(
            f"the working calendar does not know {year} (it holds {known[0]}–{known[1]}): "
            "add that year's official holidays and make-up days to working_calendar.json"
        )
        self.year = year
        self.known = known
        # What an officer reads: why nothing was decided, and what unblocks it.
        self.message_zh = (
            f"{year}年工作日历尚未录入（现有{known[0]}–{known[1]}年），涉及该年度工作日或节假日"
            f"顺延的期限暂不能核定：待国务院办公厅公布{year}年部分节假日安排后，由系统管理员录入"
            "（docs/operations.md“录入新年度工作日历”），录入前不作推定。"
        )


def local_date(instant: dt.datetime) -> dt.date:
    """The local (Asia/Shanghai) calendar day of an instant."""
    return instant.astimezone(LOCAL_TIME_ZONE).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later (negative: earlier), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    """The same month and day `years` later; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


def day_after(deadline: dt.date) -> dt.date:
    """The first day past an inclusive deadline."""
    return deadline + dt.timedelta(days=1)


Tables = dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]]


def tables(document: dict[str, Any]) -> Tables:
    """year -> (weekdays off, weekend days worked) of a working-calendar document."""
    return {
        int(year): (
            frozenset(dt.date.fromisoformat(d) for d in table["weekdays_off"]),
            frozenset(dt.date.fromisoformat(d) for d in table["weekends_worked"]),
        )
        for year, table in document["years"].items()
    }


@cache
def _calendar() -> Tables:
    """The pinned reference data's tables (a year's "notice", its source, is not needed here)."""
    path = resources.files("socialwork_contracts").joinpath(
        "reference_data", "working_calendar.json"
    )
    return tables(json.loads(path.read_text("utf-8")))


def known_years() -> tuple[int, int]:
    years = _calendar()
    return min(years), max(years)


def is_working_day(day: dt.date) -> bool:
    """A working day of the official calendar; UnknownCalendarYear outside its years."""
    table = _calendar().get(day.year)
    if table is None:
        raise UnknownCalendarYear(day.year, known_years())
    off, worked = table
    if day.weekday() >= 5:
        return day in worked
    return day not in off


def last_day(deadline: dt.date) -> dt.date:
    """The effective last day of a period ending on `deadline` (§203: a day off moves it on)."""
    day = deadline
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (the start day is not counted)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    while count:
        day += dt.timedelta(days=1)
        count -= is_working_day(day)
    return day
