"""Report answers cached by (generation, query), valid until a fact within their cut-off arrives.

A report as of a date (by occurrence, and by recording when asked) depends only on the facts
within that cut-off. Facts are never updated or deleted, so an answer read in snapshot S is
still exact while no fact within the cut-off has been committed after S: one indexed lookup
(`readmodel.snapshot_if_unchanged`) instead of a fold. Live facts of today leave answers for earlier
dates valid. Misses go to a fold worker process (foldworker.py); concurrent requests for the
same query share one computation, and the service's event loop never folds.

Two worker processes, two lanes: `live` for cut-offs that live facts still change (by
occurrence, today or later) and `history` for the rest. In one process a cold fold of a past
date (4 s at 200k facts, 30 s at a million) held every live answer behind it, and its state
pushed the live state out of the held ones, so the next live fact cost a whole fold too (issue
12: the 27 s requests of the 200k run were that). Each lane keeps its own held states.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import asyncpg

from servicekit.db import Connection
from servicekit.workers import worker_pool
from services.reporting import foldworker, readmodel
from services.reporting.domain.periods import local_date
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import Rendered, ReportQuery

CacheKey = tuple[str, int, ReportQuery]
Lane = str  # "live" | "history"
LANES: tuple[Lane, ...] = ("live", "history")


def lane_of(query: ReportQuery, now: dt.datetime) -> Lane:
    """`live` when facts arriving now can still change the answer: by occurrence, as of today
    or later (live facts take effect today). By recording, or as of a past day: `history`."""
    if query.recorded_until is None and query.day >= local_date(now):
        return "live"
    return "history"


@dataclass(frozen=True)
class Entry:
    snapshot: str
    rendered: Rendered


class ReportCache:
    def __init__(self, dsn: str, options: TargetOptions, size: int = 256) -> None:
        self.dsn = dsn
        self.options = options
        self.size = size
        self.entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self.pending: dict[CacheKey, asyncio.Future[Entry]] = {}
        self.executors: dict[Lane, ProcessPoolExecutor] = {}
        self.folds = 0  # answers computed by a worker (for tests and the benchmark)
        self.refolds = 0  # of which folded from the first fact (no held state could advance)
        self.table: tuple[str, int] | None = None  # (generation, file node) of the last answer

    def _executor(self, lane: Lane) -> ProcessPoolExecutor:
        if lane not in self.executors:
            self.executors[lane] = worker_pool(1)
        return self.executors[lane]

    async def start(self) -> None:
        """Start the worker processes now (spawning one imports the contracts: seconds on a
        busy host), so the first report does not wait for that."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor(lane), foldworker.started) for lane in LANES)
        )

    def stats(self) -> dict[str, int]:
        """What `/projection/status` shows of the cache (and the benchmark reads)."""
        return {
            "cached": len(self.entries),
            "computing": len(self.pending),
            "folds": self.folds,
            "refolds": self.refolds,
        }

    def close(self) -> None:
        for executor in self.executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        self.executors.clear()

    async def answer(self, pool: asyncpg.Pool, query: ReportQuery) -> Rendered:
        async with pool.acquire() as conn:
            found = await self._still_exact(conn, query)
            if found is not None:
                return found
            generation = await readmodel.current_generation(conn)
            filenode = await readmodel.facts_filenode(conn, generation)
            key = (generation, filenode, query)
            entry = self.entries.get(key)
            if entry is not None:
                current = await readmodel.snapshot_if_unchanged(
                    conn, generation, entry.snapshot, query.day, query.recorded_until
                )
                if current is not None:
                    self.entries[key] = Entry(current, entry.rendered)
                    self.entries.move_to_end(key)
                    self.table = (generation, filenode)
                    return entry.rendered
        future = self.pending.get(key)
        if future is None:
            future = asyncio.ensure_future(self._compute(generation, query))
            self.pending[key] = future
            future.add_done_callback(lambda _: self.pending.pop(key, None))
        entry = await asyncio.shield(future)
        return entry.rendered

    async def _still_exact(self, conn: Connection, query: ReportQuery) -> Rendered | None:
        """The cached answer in one round trip, when the table the last answer came from is
        still the current one (no switch-over, no reset) and the answer is still exact."""
        if self.table is None or (entry := self.entries.get((*self.table, query))) is None:
            return None
        generation, filenode = self.table
        try:
            now = await readmodel.still_exact(
                conn, generation, entry.snapshot, query.day, query.recorded_until
            )
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):  # dropped generation
            return None
        if now[:2] != self.table or now[2] is None:
            return None
        self.entries[(generation, filenode, query)] = Entry(now[2], entry.rendered)
        self.entries.move_to_end((generation, filenode, query))
        return entry.rendered

    async def _compute(self, generation: str, query: ReportQuery) -> Entry:
        loop = asyncio.get_running_loop()
        lane = lane_of(query, dt.datetime.now(dt.UTC))
        for attempt in range(2):
            try:
                answer = await loop.run_in_executor(
                    self._executor(lane),
                    foldworker.answer,
                    self.dsn,
                    generation,
                    [query],
                    self.options,
                )
                break
            except BrokenProcessPool:
                del self.executors[lane]  # the worker died (killed, out of memory): a new one
                if attempt:
                    raise
        self.folds += 1
        self.refolds += answer.refolded
        entry = Entry(answer.snapshot, answer.rendered[0])
        self.entries[(answer.generation, answer.filenode, query)] = entry
        self.table = (answer.generation, answer.filenode)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return entry
