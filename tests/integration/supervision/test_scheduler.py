"""servicekit.scheduler on the real database: one leader runs the job; another takes over, and a
leader whose connection (and lock) is lost stops."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from servicekit.eventstore.store import create_pool
from servicekit.scheduler import PeriodicJob
from tests.support import wait_for

pytestmark = pytest.mark.infra
FIXED = dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


async def test_one_leader_runs_the_job_and_another_takes_over(pool: asyncpg.Pool) -> None:
    seen: list[tuple[str, dt.datetime]] = []

    def job_of(who: str) -> PeriodicJob:
        async def job(now: dt.datetime) -> None:
            seen.append((who, now))

        return PeriodicJob(
            pool,
            name="test-job",
            job=job,
            interval_seconds=0.05,
            clock=lambda: FIXED,
            retry_seconds=0.05,
        )

    first, second = job_of("first"), job_of("second")
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    task_first = asyncio.create_task(first.run(stop_first))
    await wait_for(lambda: _true(first.runs >= 3))
    task_second = asyncio.create_task(second.run(stop_second))
    await wait_for(lambda: _true(first.runs >= 6))
    assert second.runs == 0 and not second.is_leader
    assert {now for _, now in seen} == {FIXED}  # the injected clock

    stop_first.set()
    await task_first
    await wait_for(lambda: _true(second.runs >= 2))
    assert second.is_leader
    stop_second.set()
    await task_second


async def test_a_failing_run_is_counted_and_the_next_tick_runs_again(pool: asyncpg.Pool) -> None:
    calls = 0

    async def flaky(now: dt.datetime) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first run fails")

    job = PeriodicJob(pool, name="flaky-job", job=flaky, interval_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(job.run(stop))
    try:  # a failed assertion must not leave the job running (the test would never end)
        await wait_for(lambda: _true(job.runs >= 2))
        assert job.failures == 1
    finally:
        stop.set()
        await task


async def test_a_leader_whose_connection_is_lost_stops_running_the_job(pool: asyncpg.Pool) -> None:
    """The lock lives on the leader's connection. When that connection is lost (its backend
    terminated, as by a PostgreSQL restart or a network cut), another instance takes the lock,
    and the old leader stops running the job at once, though the job never touches that
    connection. A scheduler that went on ticking passed every other test."""

    async def nothing(now: dt.datetime) -> None:
        return None

    first, second = (
        PeriodicJob(pool, name="check", job=nothing, interval_seconds=0.05, retry_seconds=0.05)
        for _ in range(2)
    )
    stop = asyncio.Event()
    running = [asyncio.create_task(first.run(stop))]
    try:
        await wait_for(lambda: _true(first.runs > 0))
        running.append(asyncio.create_task(second.run(stop)))
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        await wait_for(lambda: _true(second.is_leader and not first.is_leader))
        before, target = first.runs, second.runs + 5
        await wait_for(lambda: _true(second.runs >= target))  # five ticks of the new leader
        assert first.runs == before
    finally:
        stop.set()
        await asyncio.gather(*running)


async def _true(value: bool) -> bool:
    return value
