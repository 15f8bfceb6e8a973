"""Concurrent report requests for the same facts fold them once; a new key folds again."""

from __future__ import annotations

import asyncio
import datetime as dt

from services.reporting.domain.state import CityState
from services.reporting.snapshots import Snapshots


async def test_concurrent_requests_share_one_fold() -> None:
    snapshots = Snapshots(size=2)
    builds = 0
    started, release = asyncio.Event(), asyncio.Event()

    async def build() -> CityState:
        nonlocal builds
        builds += 1
        started.set()
        await release.wait()  # held open until every request has asked for the same key
        return CityState()

    key = ("reporting_g1", 10, dt.date(2020, 6, 30), None)
    requests = [asyncio.create_task(snapshots.get(key, build)) for _ in range(4)]
    await started.wait()  # the other three ran up to the shared build in the same loop turn
    release.set()
    states = await asyncio.gather(*requests)
    assert builds == 1 and all(s is states[0] for s in states)
    await snapshots.get(("reporting_g1", 11, dt.date(2020, 6, 30), None), build)
    await snapshots.get(("reporting_g2", 11, dt.date(2020, 6, 30), None), build)
    assert builds == 3 and len(snapshots.entries) == 2
