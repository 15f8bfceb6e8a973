"""Reports read the state in one pass and give what their definitions, scan by scan, gave.

The target tracker compared every incubation with every base (bases × stays: most of a render
at a million facts), coverage scanned the agencies once per unit and item, trends once per
year. The oracles below are those definitions as they were written, kept here verbatim.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from socialwork_contracts import reference

from benchmarks.history_generator import fact_rows
from services.reporting.domain import reports, targets
from services.reporting.domain.facts import Fact
from services.reporting.domain.periods import within_one_year
from services.reporting.domain.state import CityState, fold

DAYS = [dt.date(2016, 3, 1), dt.date(2018, 6, 30), dt.date(2020, 12, 31), dt.date(2026, 12, 4)]


@pytest.fixture(scope="module")
def history() -> list[Fact]:
    return [Fact(*row[:10], json.loads(row[10])) for row in fact_rows(6000, seed=31)]


def states(history: list[Fact]) -> list[tuple[dt.date, CityState]]:
    return [(day, fold(f for f in history if f.effective_on <= day)) for day in DAYS]


def old_base_local_agencies(state: CityState, as_of: dt.date) -> list[dict[str, Any]]:
    rows = []
    for base in sorted(state.bases.values(), key=lambda b: (b.established_on, b.base_id)):
        if base.established_on > as_of:
            continue
        window = within_one_year(base.established_on)
        local = {
            i.uscc
            for i in state.incubations.values()
            if i.base_id == base.base_id
            and targets._local(base, i)
            and window.contains(i.started_on)
            and i.started_on <= as_of
            and targets._stayed(i, as_of)
        }
        met = len(local) >= targets.LOCAL_AGENCIES_PER_BASE
        rows.append(
            {
                "base_id": base.base_id,
                "base_name": base.name,
                "reporting_unit": base.reporting_unit,
                "unit_name": targets._unit_name(base.reporting_unit),
                "established_on": base.established_on.isoformat(),
                "window_end": window.end.isoformat(),
                "local_agencies": len(local),
                "missing": max(0, targets.LOCAL_AGENCIES_PER_BASE - len(local)),
                "status": targets._status(met, as_of, window.end),
            }
        )
    return rows


def old_coverage(state: CityState, units: list[str]) -> list[dict[str, int | str | bool]]:
    rows: list[dict[str, int | str | bool]] = []
    live = [a for a in state.agencies.values() if a.status in reports.LIVE_STATUSES]
    for unit in units:
        in_unit = [a for a in live if a.reporting_unit == unit]
        for dimension, items, pick in (
            ("target_group", reference.target_groups(), reports._groups),
            ("service_field", reference.service_fields(), reports._fields),
        ):
            for item in items:
                rows.append(
                    {
                        "reporting_unit": unit,
                        "unit_name": reports.unit_name(unit),
                        "dimension": dimension,
                        "dimension_name": reports.DIMENSION_NAMES[dimension],
                        "item": item.id,
                        "item_name": item.name,
                        "priority": item.priority,
                        "agencies": sum(item.id in pick(a) for a in in_unit),
                    }
                )
    return rows


def old_trends(state: CityState, until: dt.date) -> list[dict[str, int]]:
    years = [a.registered_on.year for a in state.agencies.values()]
    years += [b.established_on.year for b in state.bases.values()]
    if not years:
        return []
    rows = []
    for year in range(min(years), until.year + 1):
        end = min(dt.date(year, 12, 31), until)
        rows.append(
            {
                "year": year,
                "agencies_registered": sum(
                    a.registered_on <= end
                    and not (a.status in ("deregistered", "revoked") and a.status_since <= end)
                    for a in state.agencies.values()
                ),
                "agencies_new": sum(a.registered_on.year == year for a in state.agencies.values()),
                "bases_operating": sum(reports._operating(b, end) for b in state.bases.values()),
                "bases_new": sum(b.established_on.year == year for b in state.bases.values()),
                "graduated": sum(
                    i.graduated_on is not None and i.graduated_on.year == year
                    for i in state.incubations.values()
                ),
            }
        )
    return rows


def test_one_pass_reports_equal_their_scan_by_scan_definitions(history: list[Fact]) -> None:
    compared = 0
    for day, state in states(history):
        for as_of in (day, day - dt.timedelta(days=200), day + dt.timedelta(days=400)):
            assert targets.base_local_agencies(state, as_of) == old_base_local_agencies(
                state, as_of
            )
            assert reports.trends(state, as_of) == old_trends(state, as_of)
        for units in (reports.unit_ids(), ["jinshui"], ["nowhere"]):
            assert reports.coverage(state, units) == old_coverage(state, units)
        compared += len(state.incubations) + len(state.agencies)
    assert compared > 500  # the history reached the reports


def test_an_empty_state_reads_the_same() -> None:
    empty, day = CityState(), dt.date(2020, 1, 1)
    assert targets.base_local_agencies(empty, day) == old_base_local_agencies(empty, day)
    assert reports.trends(empty, day) == old_trends(empty, day) == []
    assert reports.coverage(empty, ["jinshui"]) == old_coverage(empty, ["jinshui"])
