"""The one period convention (docs/supervision.md "Periods"), both sides of every boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from services.supervision.domain.periods import (
    add_months,
    day_after,
    period_complete,
    within_months_before,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2024, 5, 27), 6, D(2024, 11, 27)),
        (D(2024, 8, 31), 6, D(2025, 2, 28)),  # clamped to the month's end
        (D(2023, 8, 31), 6, D(2024, 2, 29)),  # leap year
        (D(2024, 2, 29), 24, D(2026, 2, 28)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 5, 20), -36, D(2021, 5, 20)),
    ],
)
def test_add_months(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


def test_six_months_complete_on_the_same_day_not_the_day_before() -> None:
    listed = D(2024, 1, 15)
    assert not period_complete(listed, 6, D(2024, 7, 14))  # 5 months 29 days
    assert period_complete(listed, 6, D(2024, 7, 15))  # 6 months


def test_two_full_years_complete_on_the_anniversary() -> None:
    listed = D(2022, 3, 10)
    assert not period_complete(listed, 24, D(2024, 3, 9))  # 2 years minus a day
    assert period_complete(listed, 24, D(2024, 3, 10))


def test_within_three_years_is_inclusive_at_the_start() -> None:
    later = D(2024, 5, 20)
    assert within_months_before(D(2021, 5, 20), later, 36)
    assert not within_months_before(D(2021, 5, 19), later, 36)
    assert within_months_before(later, later, 36)
    assert not within_months_before(D(2024, 5, 21), later, 36)


def test_a_deadline_is_inclusive() -> None:
    assert day_after(D(2024, 4, 30)) == D(2024, 5, 1)
