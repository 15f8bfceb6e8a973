"""The one period convention (socialwork_contracts.periods): both sides of every boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.periods import (
    UnknownCalendarYear,
    add_months,
    add_working_days,
    add_years,
    day_after,
    is_working_day,
    last_day,
    local_date,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2024, 8, 31), 6, D(2025, 2, 28)),  # clamped to a shorter month
        (D(2024, 2, 29), 12, D(2025, 2, 28)),  # leap day into a common year
        (D(2023, 8, 29), 6, D(2024, 2, 29)),  # into a leap February
        (D(2024, 5, 27), 6, D(2024, 11, 27)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 2, 29), 24, D(2026, 2, 28)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),  # across a year end
        (D(2024, 5, 20), -36, D(2021, 5, 20)),  # the 3-year window of repeated penalties
    ],
)
def test_months_keep_the_day_or_clamp(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def test_years_from_a_leap_day() -> None:
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert day_after(D(2024, 12, 31)) == D(2025, 1, 1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 9, 27), True),  # Friday
        (D(2024, 9, 28), False),  # Saturday
        (D(2024, 9, 29), True),  # Sunday, make-up working day (调休) before National Day
        (D(2024, 10, 1), False),  # National Day
        (D(2024, 10, 7), False),  # Monday within the holiday
        (D(2024, 10, 8), True),
        (D(2024, 10, 12), True),  # Saturday, make-up day
        (D(2024, 2, 29), True),  # leap day, a Thursday
    ],
)
def test_the_official_calendar(day: dt.date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("deadline", "effective"),
    [
        (D(2024, 9, 30), D(2024, 9, 30)),  # a working day stays
        (D(2024, 10, 1), D(2024, 10, 8)),  # a holiday moves to the next working day
        (D(2024, 10, 7), D(2024, 10, 8)),
        (D(2024, 9, 28), D(2024, 9, 29)),  # a Saturday before a make-up Sunday
        (D(2024, 11, 30), D(2024, 12, 2)),  # an ordinary weekend
    ],
)
def test_a_deadline_on_a_day_off_moves_on(deadline: dt.date, effective: dt.date) -> None:
    assert last_day(deadline) == effective


def test_working_days_do_not_count_the_start_day() -> None:
    assert add_working_days(D(2024, 9, 27), 1) == D(2024, 9, 29)  # the make-up Sunday counts
    assert add_working_days(D(2024, 9, 30), 5) == D(2024, 10, 12)
    assert add_working_days(D(2024, 10, 8), 1) == D(2024, 10, 9)
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(D(2024, 10, 8), 0)


def test_a_year_the_calendar_does_not_hold_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownCalendarYear, match="2099"):
        is_working_day(D(2099, 1, 5))
    with pytest.raises(UnknownCalendarYear):
        last_day(D(2099, 1, 3))


def test_local_date_is_the_day_in_shanghai() -> None:
    assert local_date(dt.datetime(2026, 5, 31, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 6, 1)
    assert local_date(dt.datetime(2026, 5, 31, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 5, 31)
