"""The scheduled check never guesses a deadline in a year the working calendar lacks."""

from __future__ import annotations

import datetime as dt

from services.supervision.checks import _overdue_day


def test_a_deadline_in_an_unknown_year_waits() -> None:
    assert _overdue_day(dt.date(2099, 3, 2), rectification_id="r") is None


def test_a_known_deadline_on_a_holiday_moves_on() -> None:
    assert _overdue_day(dt.date(2024, 10, 1)) == dt.date(2024, 10, 9)
