"""Reporting's schema as a test needs it before a replay or a fold."""

from __future__ import annotations

import asyncpg

from benchmarks.history_generator import fact_rows
from servicekit.eventstore import EventStore
from services.reporting import readmodel


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
