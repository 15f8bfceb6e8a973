"""A fold worker holds its state between calls, not the state's split by unit.

The split (views.by_unit: every unit's share of the agencies, stays and records) was kept with
the held state until the state moved: 10-18 MB of each worker's RSS at a million facts
(issue 12: reporting's RSS ≤ 300 MB with its workers), in the history lane for as long as it
was idle. It is made for one call's renders now.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc

from services.reporting import foldworker
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery, by_unit
from tests.integration.reporting.prepared import generated_facts

FACTS = 4000


async def test_a_worker_keeps_no_split_by_unit_between_calls(database_url: str) -> None:
    generation = await generated_facts(database_url, FACTS, seed=43)
    worker = foldworker.Worker()
    day = dt.date(2030, 1, 1)
    city = ReportQuery("half_year", day, None, None, year=2029, half="year_end")
    tracemalloc.start()
    try:
        await worker.answer(database_url, generation, [city], TargetOptions())
        gc.collect()
        after_call = tracemalloc.get_traced_memory()[0]
        (held,) = worker.held.values()
        held.units = None  # whatever the worker kept of a split, let go here
        gc.collect()
        kept_split = after_call - tracemalloc.get_traced_memory()[0]
        split = by_unit(held.state)  # what the call rendered from, made again
        split_bytes = tracemalloc.get_traced_memory()[0] - after_call + kept_split
    finally:
        tracemalloc.stop()
    assert len(split) > 1 and split_bytes > 10_000  # a split worth keeping out
    assert kept_split < split_bytes / 10, (kept_split, split_bytes)
