"""The one period convention of the supervision service (docs/supervision.md "Periods").

"n months after d" is the same day of the month n months later, clamped to the last day of a
shorter month (2024-08-31 + 6 months = 2025-02-28). A period of n months that starts on d is
*complete* on `add_months(d, n)`: an agency listed on 2024-05-27 has been listed 6 months on
2024-11-27 (not on 2024-11-26). "Within n months before d" includes the day `add_months(d, -n)`.
Deadlines are inclusive: an order due on 2024-04-30 is overdue from 2024-05-01.
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later (negative: earlier), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def period_complete(start: dt.date, months: int, today: dt.date) -> bool:
    """True once `months` full months have run from `start` (on `add_months(start, months)`)."""
    return today >= add_months(start, months)


def within_months_before(earlier: dt.date, later: dt.date, months: int) -> bool:
    """True when `earlier` is on or after `later - months` and not after `later` (inclusive)."""
    return add_months(later, -months) <= earlier <= later


def day_after(deadline: dt.date) -> dt.date:
    """The first day past an inclusive deadline."""
    return deadline + dt.timedelta(days=1)
