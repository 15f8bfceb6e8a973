"""A half-year report by a recording cut-off whose late facts are all agency facts, from the
figures of the state holding them (`reports.late_shift`): each late agency's own counts taken
out of its unit and put back with its view at the cut-off, its records moved along when its unit
changes (`reports.agency_records`). It equals the figures of the fold of every fact within the
cut-off, for every unit and the city.

The histories are those of test_half_year_pass.py (late registrations, late moves between units,
late suspensions and revocations, records of agencies never registered), with every fact that is
not an agency fact recorded by the cut-off: the case `checkpoint_before` serves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from services.reporting.domain.facts import Fact
from services.reporting.domain.periods import Period, end_of_local_day, report_period
from services.reporting.domain.reports import agency_records, half_year_figures, late_shift
from services.reporting.domain.state import AGENCY_TYPES, CityState, agency_unit, fold
from tests.reporting.test_half_year_pass import extras, generated

D = dt.date
DAYS = dt.timedelta(days=1)
# (period, recorded by): just after the period, and later within the late facts' 45 / 400 days.
CASES = [
    (report_period(2020, "year_end"), D(2021, 1, 1)),
    (report_period(2021, "mid_year"), D(2021, 9, 1)),
    (report_period(2023, "year_end"), D(2024, 1, 20)),
    (report_period(2023, "year_end"), D(2024, 8, 1)),
]


@dataclasses.dataclass
class Case:
    period: Period
    recorded: dt.datetime
    facts: list[Fact]  # every fact within the period's end, the others recorded by the cut-off

    def state(self, recorded: dt.datetime | None = None) -> CityState:
        return fold(f for f in self.facts if recorded is None or f.recorded_at <= recorded)

    def late(self) -> set[str]:
        return {
            f.uscc
            for f in self.facts
            if f.event_type in AGENCY_TYPES and f.recorded_at > self.recorded and f.uscc
        }


def cases() -> Iterator[Case]:
    for seed in (5, 6):
        history = generated(2500, seed)
        history += extras(history, seed)
        for period, by in CASES:
            recorded = end_of_local_day(by)
            within = [f for f in history if f.effective_on <= period.end]
            yield Case(period, recorded, [_by(f, recorded) for f in within])


def _by(fact: Fact, recorded: dt.datetime) -> Fact:
    """An agency fact as it is; any other recorded by the cut-off at the latest."""
    if fact.event_type in AGENCY_TYPES or fact.recorded_at <= recorded:
        return fact
    return dataclasses.replace(fact, recorded_at=recorded)


@pytest.fixture(scope="module")
def every_case() -> list[Case]:
    return list(cases())


def test_the_figures_by_an_earlier_cut_off_are_those_of_the_fold_within_it(
    every_case: list[Case],
) -> None:
    for case in every_case:
        now, then = case.state(), case.state(case.recorded)
        late = case.late()
        shifted = late_shift(
            half_year_figures(now, case.period),
            case.period,
            agency_records(now, case.period, late),
            {a: now.agencies[a] for a in late if a in now.agencies},
            {a: then.agencies[a] for a in late if a in then.agencies},
        )
        assert shifted == half_year_figures(then, case.period), (case.period, case.recorded)


def test_the_cases_move_records_between_units_and_out_of_every_unit(
    every_case: list[Case],
) -> None:
    """Late agencies with records of the period that are in another unit by the cut-off, or in
    none (not yet registered), and some whose unit is the same: each way of the shift."""
    moved = unknown = same = 0
    for case in every_case:
        now, then = case.state(), case.state(case.recorded)
        late = case.late()
        records = agency_records(now, case.period, late)
        for uscc in records:
            was, is_ = agency_unit(now.agencies, uscc), agency_unit(then.agencies, uscc)
            unknown += is_ == "unknown" and was != is_
            moved += "unknown" not in (was, is_) and was != is_
            same += was == is_
    assert moved >= 3 and unknown >= 5 and same >= 5, (moved, unknown, same)


def test_an_agencys_records_are_what_it_adds_to_its_units_figures(
    every_case: list[Case],
) -> None:
    """An agency taken out of its unit (into "unknown"): the unit's figures fall by what
    `agency_records` says its records add (beside its own counts), no other unit's change, and
    the city's stay the same."""
    case = every_case[2]
    state = case.state()
    records = agency_records(state, case.period, state.agencies)
    uscc, added = max(records.items(), key=lambda item: sum(item[1].values()))
    unit = state.agencies[uscc].reporting_unit
    moved = case.state()
    moved.agencies[uscc] = dataclasses.replace(moved.agencies[uscc], reporting_unit="unknown")
    before, after = half_year_figures(state, case.period), half_year_figures(moved, case.period)
    drop = {k: before[unit][k] - after[unit][k] for k in added}  # type: ignore[operator]
    assert drop == added and len(added) > 2
    assert {u: r for u, r in before.items() if u != unit} == {
        u: r for u, r in after.items() if u != unit
    }
