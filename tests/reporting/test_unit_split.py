"""A unit's half-year report splits off that unit's share alone.

Each of the sixteen units' reports split the whole city by unit and read one share: at a million
facts ~5 MiB of the history worker's RSS while it answered them, at reporting's peak (issue 12).
Measured with tracemalloc, not as a process's RSS (noisy, shared host).
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc

from services.reporting.domain.periods import report_period
from services.reporting.domain.reports import figures, unit_ids
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery, by_unit, render
from tests.reporting.test_checkpoint_memory import folded

FACTS = 10_000


def _half_year(unit: str | None) -> ReportQuery:
    return ReportQuery("half_year", dt.date(2023, 12, 31), None, None, unit, 2023, "year_end")


def test_a_units_share_alone_is_its_share_of_the_whole_split() -> None:
    state = folded(4_000, seed=21)
    period = report_period(2023, "year_end")
    whole = by_unit(state)
    for unit in unit_ids():
        alone = by_unit(state, only=unit)
        assert list(alone) == ([unit] if unit in whole else [])
        if unit in whole:
            assert figures(alone[unit], period, None) == figures(whole[unit], period, None)
            assert figures(alone[unit], period, None) == figures(state, period, unit)
        scoped = render(state, _half_year(unit), TargetOptions())
        assert scoped.body["units"] == [
            row
            for row in render(state, _half_year(None), TargetOptions()).body["units"]
            if row["reporting_unit"] == unit
        ]


def _peak(state: object, query: ReportQuery) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        render(state, query, TargetOptions())  # type: ignore[arg-type]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_units_report_does_not_split_the_whole_city() -> None:
    state = folded(FACTS, seed=22)
    unit = max(unit_ids(), key=lambda u: len(by_unit(state).get(u, state).agencies))
    city, one = _peak(state, _half_year(None)), _peak(state, _half_year(unit))
    # The whole city split for one unit: 0.61 of the city report's peak at 10,000 facts;
    # that unit's share alone: 0.29.
    assert one < city / 3, (one, city)
