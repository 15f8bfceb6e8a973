"""Leader-elected periodic jobs: one process in the fleet runs each job, every N seconds.

Like the outbox relay, leadership is a session advisory lock held on a dedicated pooled
connection (`scheduler:<name>`); the others wait and take over when the leader's connection ends.
A job receives the time from an injected clock, so tests and operators can run it "as of" a
date; it must be idempotent (deterministic command ids), because a crash mid-run repeats it.
A failing run is logged and retried at the next tick; it never stops the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

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
        self.retry_seconds = retry_seconds
        self.is_leader = False
        self.runs = 0
        self.failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: wait for leadership, then run the job on every tick."""
        while not stop.is_set():
            try:
                await self._lead(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.is_leader = False
                log.warning("scheduler.connection_lost", job=self.name, error=str(exc))
                await _wait(stop, self.retry_seconds)

    async def _lead(self, stop: asyncio.Event) -> None:
        # asyncpg resets the connection on release, which unlocks its advisory locks: leadership
        # ends with the connection.
        async with self.pool.acquire() as conn:
            try:
                while not stop.is_set():
                    if await conn.fetchval(
                        "SELECT pg_try_advisory_lock(hashtext($1))", f"scheduler:{self.name}"
                    ):
                        break
                    await _wait(stop, self.retry_seconds)
                if stop.is_set():
                    return
                self.is_leader = True
                log.info("scheduler.leading", job=self.name)
                while not stop.is_set():
                    if conn.is_closed():
                        raise asyncpg.InterfaceError("scheduler lock connection closed")
                    await self.run_once()
                    await _wait(stop, self.interval_seconds)
            finally:
                self.is_leader = False

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


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
