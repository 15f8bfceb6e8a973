"""Occurrence times a command may state (issue 10, item 5): offset, floor, future, range."""

from __future__ import annotations

import datetime as dt

import pytest

from servicekit.command_api import FUTURE_TOLERANCE, OCCURRENCE_FLOOR, occurrence_time
from servicekit.http import Problem

NOW = dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)
CST = dt.timezone(dt.timedelta(hours=8))


def refused(requested: dt.datetime) -> str:
    with pytest.raises(Problem) as caught:
        occurrence_time(requested, NOW)
    assert caught.value.status == 422
    return caught.value.code


def test_the_floor_is_the_documented_one() -> None:
    assert dt.datetime(1990, 1, 1, tzinfo=CST) == OCCURRENCE_FLOOR


def test_omitted_is_now() -> None:
    assert occurrence_time(None, NOW) == NOW


@pytest.mark.parametrize(
    "requested",
    [
        OCCURRENCE_FLOOR,
        dt.datetime(1989, 12, 31, 16, 0, tzinfo=dt.UTC),  # the floor, in UTC
        dt.datetime(2020, 7, 5, 9, 0, tzinfo=CST),
        NOW + FUTURE_TOLERANCE,
    ],
)
def test_a_time_within_bounds_is_kept(requested: dt.datetime) -> None:
    assert occurrence_time(requested, NOW) == requested


@pytest.mark.parametrize(
    "requested",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),  # asyncpg stores this as -infinity
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))),  # not representable
        dt.datetime(1989, 12, 31, 23, 59, 59, tzinfo=CST),
        dt.datetime(1989, 12, 31, 15, 59, 59, tzinfo=dt.UTC),
    ],
)
def test_a_time_before_the_floor_is_out_of_range(requested: dt.datetime) -> None:
    assert refused(requested) == "time_out_of_range"


def test_a_time_without_offset_is_refused() -> None:
    assert refused(dt.datetime(2020, 7, 5, 9, 0)) == "naive_time"  # noqa: DTZ001 - the point


def test_a_time_in_the_future_is_refused() -> None:
    assert refused(NOW + FUTURE_TOLERANCE + dt.timedelta(seconds=1)) == "future_time"
    assert refused(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == "future_time"
