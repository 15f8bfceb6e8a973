"""A restored checkpoint's memory (issue 12: reporting's RSS at a million facts).

Measured with tracemalloc, in bytes per fact, not as a process's RSS (noisy, shared host).
A restore used to hold every view's values as tuples beside the views (its peak) and to make a
separate object per field of each value a fold shares (credit codes, years, dates).
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from typing import Any

import pytest

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker
from services.reporting.domain import checkpoint
from services.reporting.domain.state import CityState, apply_event
from services.reporting.views import render
from tests.integration.reporting.fold_oracle import OPTIONS, queries

FACTS = 20_000


def folded(total: int, seed: int) -> CityState:
    """The fold worker's fold of a generated history (its values shared as it parses them)."""
    rows = sorted(fact_rows(total, seed), key=lambda r: (r[7], r[8], r[9], r[0]))
    state = CityState()
    for r in rows:
        parsed = foldworker._parsed((r[2], r[3], r[7], r[8], r[9], r[0], r[10].decode()))
        if parsed is not None:
            apply_event(state, parsed[1], parsed[2])
    return state


@pytest.fixture(scope="module")
def state() -> CityState:
    return folded(FACTS, seed=12)


def test_a_restored_state_is_the_state_kept(state: CityState) -> None:
    restored = checkpoint.decode(checkpoint.encode(state))
    assert repr(restored) == repr(state)  # every value, Decimals' exponents included
    for query in queries(dt.date(2026, 6, 30), None):
        assert render(restored, query, OPTIONS) == render(state, query, OPTIONS)


def test_an_empty_state_is_restored() -> None:
    assert checkpoint.decode(checkpoint.encode(CityState())) == CityState()


def _views(state: CityState) -> list[Any]:
    return [
        *state.agencies.values(),
        *state.incubations.values(),
        *state.funding,
        *state.trainings,
        *state.inspections,
        *state.violations.values(),
        *state.rectifications.values(),
        *state.listings.values(),
    ]


def test_a_restored_state_holds_one_object_per_distinct_value(state: CityState) -> None:
    restored = checkpoint.decode(checkpoint.encode(state))
    values = [getattr(v, slot) for v in _views(restored) for slot in type(v).__slots__]
    values += [*restored.agencies, *restored.incubations, *restored.violations]  # dict keys
    shared = [
        v for v in values if isinstance(v, str | int | dt.date | tuple) and type(v) is not bool
    ]
    shared = [v for v in shared if not isinstance(v, tuple) or all(type(c) is str for c in v)]
    assert len(shared) > 10 * FACTS // 10
    assert len({id(v) for v in shared}) == len({(type(v), v) for v in shared})


def test_a_restore_holds_few_bytes_per_fact_at_its_peak(state: CityState) -> None:
    blob = checkpoint.encode(state)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        restored = checkpoint.decode(blob)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    resident, top = (held - before) / FACTS, (peak - before) / FACTS
    # At 20,000 facts, resident and peak bytes a fact: format 2 144 and 189, format 3 83 and
    # 103, format 4 (records as columns) 41 and 70.
    assert resident <= 50 and top <= 80, (resident, top)
    assert restored.inspections
