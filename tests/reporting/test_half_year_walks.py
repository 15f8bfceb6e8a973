"""A half-year render reads each collection of the state once, however many units it reports.

The city's report filtered every collection once for each of its 17 rows, after splitting the
state by unit (issue 12: 0.6-0.78 s of a fold worker at a million facts, re-rendered after each
live fact for today's answer). Counted through wrappers of the state's collections, not timed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup

from benchmarks.history_generator import fact_rows
from services.reporting.domain.facts import Fact
from services.reporting.domain.records import VALUES, Records
from services.reporting.domain.state import DATED, CityState, fold
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery, render

DICTS = ("agencies", "bases", "incubations", "violations", "rectifications", "listings")
LISTS = ("follow_ups", "operations")
RECORDS = ("funding", "trainings", "inspections")


class _Dict(dict[Any, Any]):
    walks: Counter[str]
    name: str

    def _walked(self) -> None:
        self.walks[self.name] += 1

    def values(self) -> Any:
        self._walked()
        return super().values()

    def items(self) -> Any:
        self._walked()
        return super().items()

    def keys(self) -> Any:
        self._walked()
        return super().keys()

    def __iter__(self) -> Iterator[Any]:
        self._walked()
        return super().__iter__()


class _List(list[Any]):
    walks: Counter[str]
    name: str

    def __iter__(self) -> Iterator[Any]:
        self.walks[self.name] += 1
        return super().__iter__()


class _Records(Records[Any]):
    walks: Counter[str]
    name: str

    def refs(self, name: str, rows: range | None = None) -> Any:
        self.walks[f"{self.name}.{name}"] += 1  # a column read (whole, or some of its rows)
        return super().refs(name) if rows is None else super().refs(name, rows)


def counted(state: CityState) -> tuple[CityState, Counter[str]]:
    """The same state, its collections counting how often they are walked."""
    walks: Counter[str] = Counter()
    wrapped = CityState(penalties=state.penalties)
    for name in (*DICTS, *LISTS, *RECORDS):
        source = getattr(state, name)
        kind = _Dict if name in DICTS else _List if name in LISTS else _Records
        collection = kind(source)
        collection.walks, collection.name = walks, name
        setattr(wrapped, name, collection)
    return wrapped, walks


@pytest.fixture(scope="module")
def state() -> CityState:
    facts = [Fact(*row[:10], json.loads(row[10])) for row in fact_rows(3000, seed=41)]
    return fold(facts)


def _half_year(unit: str | None) -> ReportQuery:
    return ReportQuery("half_year", dt.date(2023, 12, 31), None, None, unit, 2023, "year_end")


@pytest.mark.parametrize("unit", [None, "jinshui"])
def test_a_half_year_render_walks_each_collection_once(state: CityState, unit: str | None) -> None:
    wrapped, walks = counted(state)
    assert render(wrapped, _half_year(unit), TargetOptions()) == render(
        state, _half_year(unit), TargetOptions()
    )
    assert {name: walks[name] for name in (*DICTS, *LISTS)} == dict.fromkeys((*DICTS, *LISTS), 1)
    read = {name: n for name, n in walks.items() if "." in name}
    assert read and max(read.values()) == 1, read  # each column of the records read once


def test_records_are_held_in_the_order_of_the_date_a_half_year_searches(
    state: CityState,
) -> None:
    """A fold appends funding, trainings and inspections in effective order, whatever the
    arrival order, and their facts' effective date is the date `Records.span` searches."""
    assert inc.SupportRecorded.domain_date_field == DATED["funding"]
    assert inc.TrainingDelivered.domain_date_field == DATED["trainings"]
    assert sup.AnnualInspectionConcluded.domain_date_field == DATED["inspections"]
    facts = [Fact(*row[:10], json.loads(row[10])) for row in fact_rows(1500, seed=42)]
    random.Random(3).shuffle(facts)
    for folded in (state, fold(facts)):
        for name, day in DATED.items():
            days = [VALUES[r] for r in getattr(folded, name).refs(day)]
            assert len(days) > 50 and days == sorted(days), name
