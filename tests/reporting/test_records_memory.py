"""A folded state's append-only records (inspections, trainings, funding) as columns.

A fold worker holding a million facts held 542k such records as objects (64-88 bytes each and a
list slot: 40 of its ~100 MB of state; issue 12: reporting's RSS ≤ 300 MB). Measured with
tracemalloc in bytes per fact, not as a process's RSS (noisy, shared host).
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from pathlib import Path

from services.reporting import foldworker
from services.reporting.domain import checkpoint
from services.reporting.domain.periods import report_period
from services.reporting.domain.records import Records
from services.reporting.domain.reports import figures
from services.reporting.domain.state import Funding, Inspection, Training
from services.reporting.views import by_unit
from tests.reporting.test_checkpoint_memory import folded

FACTS = 10_000

_INTERNING = next(
    n
    for n, line in enumerate(Path(foldworker.__file__).read_text("utf-8").splitlines(), 1)
    if "sys.intern(" in line
)


def test_a_folded_state_holds_few_bytes_per_fact() -> None:
    folded(FACTS, seed=13)  # the values a fold shares are made once per process: not counted
    gc.collect()
    tracemalloc.start()
    try:
        state = folded(FACTS, seed=13)
        gc.collect()  # the parsed events are gone; the state remains
        # Not the interpreter's table of interned strings (resized when it grows: the values
        # it holds are counted where they were made).
        held = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, foldworker.__file__, _INTERNING)]
        )
        resident = sum(t.size for t in held.traces) / FACTS
    finally:
        tracemalloc.stop()
    # Records as objects: 61 bytes a fact at 10,000 facts (65 at 20,000, 76 at 100,000); as
    # columns: 30 (34, 43).
    assert resident <= 42, resident
    assert len(state.inspections) > FACTS // 5


def test_records_read_back_as_appended_split_and_restored() -> None:
    state = folded(4_000, seed=14)
    for records, kind in (
        (state.inspections, Inspection),
        (state.trainings, Training),
        (state.funding, Funding),
    ):
        made = list(records)
        assert made and all(type(r) is kind for r in made)
        assert [getattr(r, records.names[0]) for r in made] == list(
            records.column(records.names[0])
        )
    parts = by_unit(state)
    assert sorted(
        (i.uscc, i.year, i.concluded_on) for p in parts.values() for i in p.inspections
    ) == sorted((i.uscc, i.year, i.concluded_on) for i in state.inspections)
    assert all(state.unit_of_agency(i.uscc) == u for u, p in parts.items() for i in p.inspections)
    restored = checkpoint.decode(checkpoint.encode(state))
    assert restored == state
    assert list(restored.funding) == list(state.funding)
    copied = foldworker._copy(state)  # as a held state's base is copied
    copied.funding.append(next(iter(state.funding)))
    assert len(copied.funding) == len(state.funding) + 1  # a copy grows apart from its source


def test_a_units_figures_from_its_share_equal_its_figures_from_the_city() -> None:
    state = folded(4_000, seed=15)
    parts = by_unit(state)
    assert len(parts) > 3
    for year in (2019, 2022):
        period = report_period(year, "year_end")
        city = figures(state, period, None)
        assert any(v for k, v in city.items() if k.startswith(("inspections_", "training_")))
        for unit, part in parts.items():
            assert figures(part, period, None) == figures(state, period, unit), unit


def test_records_shared_by_copies_change_apart() -> None:
    state = folded(2_000, seed=16)
    source = state.funding
    before = list(source)
    copy = type(source)(source)
    assert copy.columns[0] is source.columns[0]  # shared until one of them changes
    first, second = before[0], before[-1]
    source.append(first)
    copy.append(second)
    copy.append(second)
    assert list(source) == [*before, first]
    assert list(copy) == [*before, second, second]
    source.replace("uscc", first.uscc, "moved")
    assert list(copy) == [*before, second, second]
    assert sum(f.uscc == "moved" for f in source) == sum(
        f.uscc == first.uscc for f in [*before, first]
    )
    again = type(copy)(copy)
    assert again == copy and again != source
    behind = type(copy)(again)
    behind.size -= 2  # as a base before the state's last two records
    behind.append(second)  # the same record as the shared columns hold next: shared still
    assert behind.columns[0] is again.columns[0] and list(behind) == [*before, second]


def test_a_split_by_unit_takes_a_few_bytes_a_record_while_it_is_made() -> None:
    """A city's half-year render splits its records by unit: sorting their row numbers peaked
    at ~50 bytes a record (an int object and two list slots each), 11 of the render's 14 MB
    at a million facts in each fold worker (issue 12: reporting's RSS ≤ 300 MB)."""
    records = Records(Inspection)
    day = dt.date(2023, 6, 30)
    codes = [f"9141010{n:011d}" for n in range(400)]  # 400 agencies in 16 units
    for n in range(100_000):
        records.add(uscc=codes[n * 7 % 400], year=2023, conclusion="qualified", concluded_on=day)
    unit = {code: f"unit{n % 16}" for n, code in enumerate(codes)}
    gc.collect()
    tracemalloc.start()
    try:
        parts = records.split(unit.__getitem__, "uscc")
        peak = tracemalloc.get_traced_memory()[1] / len(records)
    finally:
        tracemalloc.stop()
    # sorted: 53 bytes a record; straight into each unit's array: 4 (+ the arrays' slack).
    assert peak <= 12, peak
    assert list(parts) == [unit[codes[n * 7 % 400]] for n in range(16)]  # by first record
    for key, part in parts.items():
        assert list(part.column("uscc")) == [c for c in records.column("uscc") if unit[c] == key]
    inner = parts["unit3"].split(lambda code: code[-1], "uscc")  # a selection's own split
    assert [list(p.column("uscc")) for p in inner.values()] == [
        [c for c in parts["unit3"].column("uscc") if c[-1] == last] for last in inner
    ]
