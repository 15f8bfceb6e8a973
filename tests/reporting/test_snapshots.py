"""Concurrent report requests for the same facts fold them once; a new key folds again."""

from __future__ import annotations

import asyncio
import datetime as dt

from services.reporting.domain.state import CityState
from services.reporting.snapshots import Snapshots


async def test_concurrent_requests_share_one_fold() -> None:
    snapshots = Snapshots(size=2)
    builds = 0

    async def build() -> CityState:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.01)
        return CityState()

    key = ("reporting_g1", 10, dt.date(2020, 6, 30), None)
    states = await asyncio.gather(*(snapshots.get(key, build) for _ in range(4)))
    assert builds == 1 and all(s is states[0] for s in states)
    await snapshots.get(("reporting_g1", 11, dt.date(2020, 6, 30), None), build)
    await snapshots.get(("reporting_g2", 11, dt.date(2020, 6, 30), None), build)
    assert builds == 3 and len(snapshots.entries) == 2
