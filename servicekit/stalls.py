"""A process too busy to answer on time shows here: how late its event loop runs what is due,
and how long the garbage collector stopped it (issue 12: at 200 commands/s accepted answers
took up to 1.7 s while group commit's own wait and length stayed under 0.1 s)."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from servicekit.leadership import wait
from servicekit.metrics import GC_PAUSE_SECONDS, LOOP_LAG_SECONDS

LAG_INTERVAL_SECONDS = 0.1
_started: dict[int, float] = {}


async def watch_loop(stop: asyncio.Event) -> None:
    """Every 0.1 s, how much later than due the loop woke this task up."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + LAG_INTERVAL_SECONDS
        await wait(stop, LAG_INTERVAL_SECONDS)
        if not stop.is_set():
            LOOP_LAG_SECONDS.observe(max(0.0, loop.time() - due))


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
    elif (began := _started.pop(generation, None)) is not None:
        GC_PAUSE_SECONDS.labels(str(generation)).observe(time.perf_counter() - began)


def watch_gc() -> None:
    """Time every collection by its generation (once per process)."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
