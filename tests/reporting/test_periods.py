"""Period conventions: inclusive ends, one year = through the day before the anniversary."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.periods import add_years

from services.reporting.domain.periods import (
    end_of_local_day,
    local_date,
    report_period,
    within_one_year,
)


def test_mid_year_and_year_end_periods() -> None:
    mid = report_period(2020, "mid_year")
    assert (mid.start, mid.end) == (dt.date(2020, 1, 1), dt.date(2020, 6, 30))
    assert mid.contains(dt.date(2020, 6, 30)) and not mid.contains(dt.date(2020, 7, 1))
    end = report_period(2020, "year_end")
    assert end.contains(dt.date(2020, 12, 31)) and not end.contains(dt.date(2021, 1, 1))
    assert not end.contains(None)


def test_within_one_year_ends_the_day_before_the_anniversary() -> None:
    window = within_one_year(dt.date(2019, 3, 15))
    assert window.contains(dt.date(2020, 3, 14))
    assert not window.contains(dt.date(2020, 3, 15))
    assert within_one_year(dt.date(2020, 2, 29)).end == dt.date(2021, 2, 27)
    assert add_years(dt.date(2020, 2, 29), 1) == dt.date(2021, 2, 28)


def test_local_dates_are_shanghai_dates() -> None:
    instant = dt.datetime(2020, 6, 30, 16, 30, tzinfo=dt.UTC)  # 00:30 on 1 July in Zhengzhou
    assert local_date(instant) == dt.date(2020, 7, 1)
    last = end_of_local_day(dt.date(2020, 7, 5))
    assert last.astimezone(dt.UTC) == dt.datetime(2020, 7, 5, 15, 59, 59, 999999, tzinfo=dt.UTC)
