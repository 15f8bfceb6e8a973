"""Leader-elected periodic jobs: one process in the fleet runs each job, every N seconds.

Leadership as for the outbox relay (servicekit.leadership, lock `scheduler:<name>`): the others
wait and take over when the leader's connection ends.
A job receives the time from an injected clock, so tests and operators can run it "as of" a
date; it must be idempotent (deterministic command ids), because a crash mid-run repeats it.
A failing run is logged and retried at the next tick; it never stops the scheduler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from servicekit.db import Connection
from servicekit.leadership import Leadership, still_held, wait

log = structlog.get_logger()

Clock = Callable[[], dt.datetime]
Job = Callable[[dt.datetime], Awaitable[object]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PeriodicJob:
    """Run `job(clock())` every `interval_seconds` while this process holds the job's lock."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        name: str,
        job: Job,
        interval_seconds: float,
        clock: Clock = utc_now,
        retry_seconds: float = 1.0,
    ) -> None:
        self.pool = pool
        self.name = name
        self.job = job
        self.interval_seconds = interval_seconds
        self.clock = clock
        self._leadership = Leadership(pool, f"scheduler:{name}", retry_seconds=retry_seconds)
        self.runs = 0
        self.failures = 0

    @property
    def is_leader(self) -> bool:
        return self._leadership.is_leader

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: wait for leadership, then run the job on every tick."""

        async def tick(conn: Connection) -> None:
            while not stop.is_set():
                still_held(conn, self._leadership.lock_name)
                await self.run_once()
                await wait(stop, self.interval_seconds)

        await self._leadership.run(stop, tick)

    async def run_once(self) -> bool:
        """One run of the job now (by the clock); False when it failed (and was logged)."""
        try:
            await self.job(self.clock())
        except Exception:
            self.failures += 1
            log.exception("scheduler.job_failed", job=self.name)
            return False
        self.runs += 1
        return True
