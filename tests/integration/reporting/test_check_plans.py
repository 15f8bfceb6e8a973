"""An answer's check is planned for its own snapshot and cut-off, never as a generic plan.

asyncpg prepares each statement once per connection; from the sixth execution PostgreSQL may
keep a generic plan, made without the parameters' values. For the check (`still_exact`) that
plan cannot use the tx index for "facts committed after this snapshot": at a million facts it
took 230-260 ms against 0.2-1 ms (four check connections busy, every cached report p50 1.4 s in
the report load of issue 12). The checks' pool plans every execution for its values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.reporting import readmodel
from services.reporting.cache import ReportCache
from services.reporting.domain.targets import TargetOptions
from tests.integration.reporting.prepared import generated_facts

CHECKS = 12  # more than the five custom plans after which PostgreSQL may go generic


@pytest.fixture
async def cache(database_url: str) -> AsyncIterator[ReportCache]:
    generation = await generated_facts(database_url, 3000, seed=44)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"ANALYZE {generation}.facts")
    finally:
        await conn.close()
    made = ReportCache(database_url, TargetOptions())
    await made.start()
    yield made
    made.close()


async def test_the_checks_are_never_planned_generically(cache: ReportCache) -> None:
    assert cache.checks is not None
    async with cache.checks.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
        for n in range(CHECKS):
            day = dt.date(2020, 1, 1) + dt.timedelta(days=200 * n)
            await readmodel.still_exact(conn, generation, snapshot, day, None)
        plans = await conn.fetch(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%pg_visible_in_snapshot%' "
            "AND statement NOT LIKE '%pg_prepared_statements%'"  # not this statement
        )
    assert [tuple(p) for p in plans] == [(0, CHECKS)]
