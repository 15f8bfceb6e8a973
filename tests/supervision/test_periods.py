"""The one period convention (docs/supervision.md "Periods"), both sides of every boundary."""

from __future__ import annotations

import datetime as dt

from services.supervision.domain.periods import (
    day_after,
    period_complete,
    within_months_before,
)

D = dt.date


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
