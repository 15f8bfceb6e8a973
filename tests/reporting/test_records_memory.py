"""A folded state's append-only records (inspections, trainings, funding) as columns.

A fold worker holding a million facts held 542k such records as objects (64-88 bytes each and a
list slot: 40 of its ~100 MB of state; issue 12: reporting's RSS ≤ 300 MB). Measured with
tracemalloc in bytes per fact, not as a process's RSS (noisy, shared host).
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from dataclasses import replace
from pathlib import Path

from services.reporting import foldworker
from services.reporting.domain import checkpoint
from services.reporting.domain.records import VALUES, Records, by_ref
from services.reporting.domain.state import Funding, Inspection, Training
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


def test_records_read_back_as_appended_and_restored() -> None:
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
    restored = checkpoint.decode(checkpoint.encode(state))
    assert restored == state
    assert list(restored.funding) == list(state.funding)
    copied = foldworker._copy(state)  # as a held state's base is copied
    copied.funding.append(next(iter(state.funding)))
    assert len(copied.funding) == len(state.funding) + 1  # a copy grows apart from its source


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


def test_a_base_catches_up_after_re_owning_its_records_with_the_state_ahead() -> None:
    """As a held state's base is moved up to its mark (foldworker.Held.set_mark): the state,
    sharing the base's columns, has appended records; the base, catching up, re-owns some
    (an identity link: `replace` gives it a column of its own, as long as its records) and then
    appends. Only the other columns were longer: reading the next record of each raised
    IndexError (a held state, or the recording pass, ended on it)."""
    state = folded(2_000, seed=17)
    base = state.funding
    before = list(base)
    ahead = type(base)(base)  # the held state, sharing the base's columns
    first, second = before[0], before[-1]
    ahead.append(second)
    ahead.append(first)
    base.replace("uscc", first.uscc, "linked")
    base.append(second)  # the record the state holds next: its first column is the same
    relinked = [replace(f, uscc="linked") if f.uscc == first.uscc else f for f in before]
    assert list(base) == [*relinked, second]
    assert list(ahead) == [*before, second, first]  # the state's records as they were


def test_a_span_is_the_rows_of_a_date_range_and_refs_read_them() -> None:
    records = Records(Inspection)
    days = [dt.date(2023, 1, 1) + dt.timedelta(days=n // 3) for n in range(30)]  # in order
    for n, day in enumerate(days):
        records.add(uscc=f"u{n % 4}", year=2022, conclusion="qualified", concluded_on=day)
    start, end = dt.date(2023, 1, 3), dt.date(2023, 1, 6)
    rows = records.span("concluded_on", start, end)
    assert list(rows) == [n for n, day in enumerate(days) if start <= day <= end]
    assert [VALUES[r] for r in records.refs("uscc", rows)] == [f"u{n % 4}" for n in rows]
    assert not records.span("concluded_on", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    units = by_ref({"u1": "erqi", "u3": "jinshui", "never-held": "zhongyuan"})
    assert sorted(map(VALUES.__getitem__, units)) == ["u1", "u3"]
    assert [units.get(r) for r in records.refs("uscc", range(4))] == [None, "erqi", None, "jinshui"]
