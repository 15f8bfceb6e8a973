"""The parsed facts a held state keeps apart from its base (its tail) hold few bytes each.

A live state keeps its last effective day's facts as parsed events, to fold again when a late
fact sorts among them: at a million facts 5,492 of them, 8.7 MiB of the live fold worker, of
which 3.8 MiB were each event's own set of the field names it was given (pydantic's fields set,
216-728 bytes an event; issue 12: reporting's RSS with its workers ≤ 300 MB).
"""

from __future__ import annotations

import gc
import tracemalloc

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker

FACTS = 5_000


def test_parsed_facts_hold_few_bytes_each() -> None:
    rows = [(r[2], r[3], r[7], r[8], r[9], r[0], r[10].decode()) for r in fact_rows(FACTS, 31)]
    foldworker._parsed(rows[0])  # the first sight of a value is the values' table's, not a fact's
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tail = [p for r in rows if (p := foldworker._parsed(r)) is not None]
        per_fact = (tracemalloc.get_traced_memory()[0] - before) / len(tail)
    finally:
        tracemalloc.stop()
    assert len(tail) > FACTS * 0.9
    # Before the fields sets were shared: 1,443 bytes a fact (this history); after: 797.
    assert per_fact <= 1_000, per_fact
    shared = {id(event.__pydantic_fields_set__) for _, event, _ in tail}
    assert len(shared) < len(tail) / 100  # one per event class and set of names given
