"""The parsed facts a held state keeps apart from its base (its tail) hold few bytes each.

A live state keeps its last effective day's facts as parsed events, to fold again when a late
fact sorts among them: at a million facts 5,492 of them, 8.7 MiB of the live fold worker, of
which 3.8 MiB were each event's own set of the field names it was given (pydantic's fields set,
216-728 bytes an event; issue 12: reporting's RSS with its workers ≤ 300 MB).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker

FACTS = 5_000
ROOT = Path(__file__).resolve().parents[2]


def measured() -> dict[str, float]:
    """Bytes a parsed fact holds, and how many distinct fields sets the tail has: in this process
    alone (tracemalloc counts every thread's allocations)."""
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
    shared = {id(event.__pydantic_fields_set__) for _, event, _ in tail}
    return {"facts": len(tail), "per_fact": per_fact, "sets": len(shared)}


def test_parsed_facts_hold_few_bytes_each() -> None:
    # In a fresh interpreter: in the full suite, threads an earlier test left allocated while
    # this one measured (1,540 bytes a fact once, in one of four runs; 797 alone).
    done = subprocess.run(  # noqa: S603 - our interpreter, this module
        [sys.executable, "-c", f"import json, {__name__} as t; print(json.dumps(t.measured()))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["facts"] > FACTS * 0.9
    # Before the fields sets were shared: 1,443 bytes a fact (this history); after: 797.
    assert found["per_fact"] <= 1_000, found
    assert found["sets"] < found["facts"] / 100  # one per event class and set of names given
