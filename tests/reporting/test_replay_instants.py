"""The replay's COPY form of an instant is the instant, whatever its zone: fixed offsets as
pydantic parses them (one `TzInfo` per value, its offset kept by value), time zones with
summer time, naive times (local), the first and the last instant."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from services.reporting.domain.facts import (
    PG_EPOCH,
    PG_INFINITY,
    PG_NEGATIVE_INFINITY,
    pg_instant,
)

PARSED = TypeAdapter(dt.datetime)


def expected(instant: dt.datetime) -> int:
    aware = instant if instant.tzinfo is not None else instant.astimezone()
    return (aware - PG_EPOCH) // dt.timedelta(microseconds=1)


def instants() -> list[dt.datetime]:
    rng = random.Random(12)
    found: list[dt.datetime] = []
    for _ in range(400):
        local = dt.datetime(2000, 1, 1) + dt.timedelta(  # noqa: DTZ001 - naive, then zoned
            seconds=rng.randrange(-2 * 10**9, 2 * 10**9), microseconds=rng.randrange(10**6)
        )
        minutes = rng.randrange(-14 * 60, 14 * 60 + 1)
        sign = "+" if minutes >= 0 else "-"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        found.append(PARSED.validate_python(local.isoformat() + offset))  # pydantic's TzInfo
        found.append(local.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))))
        found.append(local.replace(tzinfo=ZoneInfo("America/St_Johns")))  # summer time
        found.append(local)  # naive: local time
    return found


def test_an_instant_is_the_microseconds_since_2000_in_utc() -> None:
    values = instants()
    assert [pg_instant(v) for v in values] == [expected(v) for v in values]
    # Again, with every offset seen before kept: the same values.
    assert [pg_instant(v) for v in values] == [expected(v) for v in values]


def test_the_first_and_last_instants_stand_for_the_infinities() -> None:
    assert pg_instant(PARSED.validate_python("9999-12-31T23:59:59.999999Z")) == PG_INFINITY
    assert pg_instant(PARSED.validate_python("0001-01-01T00:00:00Z")) == PG_NEGATIVE_INFINITY
    assert pg_instant(PARSED.validate_python("0001-01-01T08:00:00+08:00")) == PG_NEGATIVE_INFINITY
    with pytest.raises(OverflowError):
        pg_instant(PARSED.validate_python("0001-01-01T00:00:00+01:00"))
    with pytest.raises(OverflowError):
        pg_instant(PARSED.validate_python("9999-12-31T23:59:59-00:01"))
