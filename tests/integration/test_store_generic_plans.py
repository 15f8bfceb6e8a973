"""The store's batched read keeps to the stream index under PostgreSQL's cached generic plan.

asyncpg prepares every statement; after five runs PostgreSQL may keep a generic plan, made
without the parameters' values. `load_many`'s events join, flattened, became a hash join over a
sequential scan of every event: 2 ms a call at 200 commands/s (bench_visible --pg-statements).
The relay's look past its position, as an EXISTS, scanned the whole table: 5-15 ms a call at
30,000 events (profile_write's pg_stat_statements, issue 12).
"""

from __future__ import annotations

import pytest

from servicekit.db import Connection
from servicekit.eventstore import EventStore
from tests.support import staff_event

pytestmark = pytest.mark.infra
STORE_SCHEMA = "teststore_plans"  # the `store` fixture's schema (tests/integration/conftest.py)
STREAMS = 200


async def test_load_many_under_a_generic_plan_scans_no_table(store: EventStore) -> None:
    for n in range(STREAMS):
        await store.append(f"p-{n}", [staff_event(f"p-{n}")], expected_version=0)
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"ANALYZE {STORE_SCHEMA}.events")
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = await _sequential_scans(conn)
        loaded = await store.load_many(conn, [("p-7", "cmd-x"), ("p-9", None)])
        assert await _sequential_scans(conn) == before
    assert [len(s.events) for s in loaded] == [1, 1]


async def test_the_relays_look_past_its_position_under_a_generic_plan_scans_no_table(
    store: EventStore,
) -> None:
    for n in range(STREAMS):
        await store.append(f"r-{n}", [staff_event(f"r-{n}")], expected_version=0)
    last = (await store.read_all(limit=STREAMS))[-1]
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"ANALYZE {STORE_SCHEMA}.events")
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = await _sequential_scans(conn)
        assert not await store.any_after(last.log_position, conn=conn)
        assert await _sequential_scans(conn) == before


async def _sequential_scans(conn: Connection) -> int:
    """Sequential scans of the store's tables in this transaction so far."""
    scans: int = await conn.fetchval(
        "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables WHERE schemaname = $1",
        STORE_SCHEMA,
    )
    return scans
