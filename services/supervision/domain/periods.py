"""Supervision's periods, on the one convention (`socialwork_contracts.periods`, docs/supervision.md
"Periods"): a period of n months from d is complete on `add_months(d, n)`; "within n months
before d" includes `add_months(d, -n)`; an inclusive deadline on a day off moves to the next
working day (Civil Code §203), so the rectification is overdue the day after that.
"""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.periods import add_months, day_after, last_day

__all__ = [
    "add_months",
    "day_after",
    "last_day",
    "overdue_from",
    "period_complete",
    "within_months_before",
]


def period_complete(start: dt.date, months: int, today: dt.date) -> bool:
    """True once `months` full months have run from `start` (on `add_months(start, months)`)."""
    return today >= add_months(start, months)


def within_months_before(earlier: dt.date, later: dt.date, months: int) -> bool:
    """True when `earlier` is on or after `later - months` and not after `later` (inclusive)."""
    return add_months(later, -months) <= earlier <= later


def overdue_from(deadline: dt.date) -> dt.date:
    """The first day a rectification due on `deadline` is overdue (UnknownCalendarYear when
    the working calendar does not hold the deadline's year yet)."""
    return day_after(last_day(deadline))
