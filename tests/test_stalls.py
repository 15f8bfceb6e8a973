"""servicekit.stalls: a blocked event loop and a garbage collection show in the metrics."""

from __future__ import annotations

import asyncio
import gc
import time

from servicekit import stalls
from servicekit.metrics import REGISTRY
from tests.support import wait_for


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0


def _over(name: str, bound: str) -> float:
    """Observations above `bound` seconds."""
    total = _count(name)
    below = REGISTRY.get_sample_value(f"{name}_bucket", {"le": bound}) or 0.0
    return total - below


async def test_a_blocked_loop_shows_as_lag() -> None:
    stop = asyncio.Event()
    before = _over("socialwork_event_loop_lag_seconds", "0.1")
    ticks = _count("socialwork_event_loop_lag_seconds")
    watcher = asyncio.create_task(stalls.watch_loop(stop))

    async def ticking() -> bool:  # it observed once, and waits for its next tick
        return _count("socialwork_event_loop_lag_seconds") > ticks

    await wait_for(ticking)
    time.sleep(0.3)  # noqa: ASYNC251 - the blocking call is the point: a stalled loop

    async def seen() -> bool:  # the watcher woke, late
        return _over("socialwork_event_loop_lag_seconds", "0.1") > before

    await wait_for(seen, timeout=5)
    stop.set()
    await watcher
    assert _over("socialwork_event_loop_lag_seconds", "0.1") == before + 1


def test_a_full_collection_is_timed() -> None:
    stalls.watch_gc()
    stalls.watch_gc()  # once per process, however often asked
    before = _count("socialwork_gc_pause_seconds", generation="2")
    gc.collect()
    assert _count("socialwork_gc_pause_seconds", generation="2") == before + 1
