"""Reporting's schema as a test needs it before a replay or a fold."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg

from benchmarks.history_generator import fact_rows
from servicekit.eventstore import EventStore
from services.reporting import readmodel
from tests.support import wait_for

# A session waiting on a lock to insert a kept state (checkpoint) into the tests' generation.
KEEPING_BLOCKED = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND query LIKE 'INSERT INTO reporting_g1.checkpoints%'"
)


async def generated_facts(database_url: str, count: int, seed: int) -> str:
    """The current generation (made if absent) with `count` generated facts added: its name."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")
        generation = await readmodel.ensure(conn)
        async with conn.transaction():
            await readmodel.copy_fact_rows(conn, generation, list(fact_rows(count, seed=seed)))
        return generation
    finally:
        await conn.close()


async def reporting_schema(pool: asyncpg.Pool) -> str:
    """The service's own tables and its live generation, as its start makes them: its name."""
    await EventStore(pool, "reporting").create_schema()
    async with pool.acquire() as conn:
        return await readmodel.ensure(conn)


async def ready_to_replay(pool: asyncpg.Pool) -> str:
    """`reporting_schema`, then the name its live consumer saves its offsets under."""
    await reporting_schema(pool)
    async with pool.acquire() as conn:
        return await readmodel.live_consumer(conn)


async def killed_while_keeping(
    pool: asyncpg.Pool,
    database_url: str,
    script: str,
    lock: str,
    *arguments: object,
    blocked: str = KEEPING_BLOCKED,
) -> None:
    """Run `script` (Python, given `database_url` as its argument) while another session holds
    `lock` (a statement, in a transaction); SIGKILL it once it waits there to keep a state
    (`blocked` counts the sessions waiting so), then let the lock go."""
    blocker = await asyncpg.connect(database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(lock, *arguments)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, env={**os.environ}
        )

        async def waiting() -> bool:
            assert process.returncode is None  # not ended before it reached the lock
            # Not on the blocker's connection: in a transaction, pg_stat_activity stays as read.
            return bool(await pool.fetchval(blocked))

        await wait_for(waiting, timeout=60)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await transaction.rollback()
    finally:
        await blocker.close()
