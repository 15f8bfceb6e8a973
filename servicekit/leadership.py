"""One leader among a service's replicas, for work that must not run twice at once.

Leadership is a session advisory lock held on a dedicated pooled connection. asyncpg resets a
connection on release, which unlocks its advisory locks, so leadership ends with the connection
(a crashed or partitioned leader loses it); the others poll and take over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from servicekit.db import Connection
from servicekit.locks import lock_key

log = structlog.get_logger()
# What a session killed mid-statement raises (asyncpg's InternalClientError included: the
# protocol breaks when the server's termination notice lands inside an operation).
LOST_CONNECTION = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

# Runs while this process leads; returns when `stop` is set (or raises on a lost connection).
LeaderWork = Callable[[Connection], Awaitable[None]]


class Leadership:
    def __init__(self, pool: asyncpg.Pool, lock_name: str, *, retry_seconds: float) -> None:
        self.pool = pool
        self.lock_name = lock_name
        self.retry_seconds = retry_seconds
        self.is_leader = False
        self._lost = False  # the database was unreachable at the last attempt (logged once)

    async def run(self, stop: asyncio.Event, work: LeaderWork) -> None:
        """Until `stop`: wait for the lock, then do `work` while holding it."""
        while not stop.is_set():
            try:
                await self._lead(stop, work)
            except LOST_CONNECTION as exc:
                self.is_leader = False
                if not self._lost:  # once per outage, not once per retry
                    log.warning("leadership.connection_lost", lock=self.lock_name, error=str(exc))
                self._lost = True
                await wait(stop, self.retry_seconds)
            except Exception:
                # A background duty must outlive any one failure: log it, let go, try again.
                self.is_leader = False
                log.exception("leadership.work_failed", lock=self.lock_name)
                await wait(stop, self.retry_seconds)

    async def _lead(self, stop: asyncio.Event, work: LeaderWork) -> None:
        async with self.pool.acquire() as conn:
            try:
                while not stop.is_set():
                    if await conn.fetchval(
                        "SELECT pg_try_advisory_lock($1::bigint)",
                        lock_key("leader", self.lock_name),
                    ):
                        break
                    await wait(stop, self.retry_seconds)
                if stop.is_set():
                    return
                self.is_leader = True
                self._lost = False
                log.info("leadership.acquired", lock=self.lock_name)
                await work(conn)
            finally:
                self.is_leader = False


def still_held(conn: Connection, lock_name: str) -> None:
    """Raise when the leader's connection is gone (and with it the lock)."""
    try:
        closed = conn.is_closed()
    except asyncpg.InterfaceError:
        # The pool takes a lost connection back at once and detaches its proxy: every call
        # then says "released back to the pool", which read as a bug in the leader's logs.
        closed = True
    if closed:
        raise asyncpg.InterfaceError(f"connection holding {lock_name} closed")


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
