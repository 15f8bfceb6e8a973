"""Folded states shared between concurrent report requests asking for the same facts.

The key includes the generation and the live consumer's checkpoint total, so any newly applied
event or a switch-over makes a new key; the dashboard's parallel calls fold the facts once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from services.reporting.domain.state import CityState

Key = tuple[str, int, dt.date, dt.datetime | None]


class Snapshots:
    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.entries: OrderedDict[Key, asyncio.Task[CityState]] = OrderedDict()

    async def get(self, key: Key, build: Callable[[], Awaitable[CityState]]) -> CityState:
        task = self.entries.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(build())
            self.entries[key] = task
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
        return await asyncio.shield(task)
