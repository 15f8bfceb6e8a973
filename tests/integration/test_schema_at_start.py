"""A second instance starting while the first one serves (a scale-out, a rolling restart, a
restart after SIGKILL) must neither deadlock with nor stall the commands in flight.

Every start ran the store's and the read model's whole DDL in one transaction: `CREATE INDEX IF
NOT EXISTS` takes a SHARE lock on its table and `ALTER TABLE … IF NOT EXISTS` an ACCESS
EXCLUSIVE one even when there is nothing to do, each held to the end. A command that had read
`commands` (which a later ALTER waits for) and then appended (which waits for the SHARE lock on
`events` taken before) closed a cycle. Now a start whose DDL is already applied takes no table
lock at all; DDL that is new (an upgrade) runs once, with a lock timeout, and is retried.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from servicekit.ddl import apply_ddl
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    """A store of a schema of its own, created as the first instance's start creates it."""
    pool = await create_pool(database_url)
    try:
        first = EventStore(pool, f"start_{uuid.uuid4().hex[:8]}")
        await first.create_schema()
        yield first
    finally:
        await pool.close()


async def _someone_waits_for_a_lock(pool: asyncpg.Pool, start: asyncio.Task[None]) -> bool:
    waiting = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return bool(waiting) or start.done()


async def test_a_start_beside_a_command_in_flight_never_deadlocks(store: EventStore) -> None:
    second = EventStore(store.pool, store.schema)
    async with store.pool.acquire() as command, command.transaction():
        loaded = await store.load("agency-1", command_id=str(uuid.uuid4()), conn=command)
        start = asyncio.create_task(second.create_schema())  # the second instance's start
        await wait_for(lambda: _someone_waits_for_a_lock(store.pool, start), timeout=10)
        await store.append("agency-1", [staff_event("agency-1")], expected_version=0, conn=command)
        assert not loaded.events
    await asyncio.wait_for(start, timeout=10)
    assert [e.stream_id for e in await store.read_stream("agency-1")] == ["agency-1"]


async def test_a_start_whose_ddl_is_applied_takes_no_table_lock(store: EventStore) -> None:
    s = store.schema
    async with store.pool.acquire() as writer, writer.transaction():
        # An open transaction holding what every ALTER and index build would wait for.
        await writer.execute(f"LOCK TABLE {s}.events, {s}.commands IN ROW EXCLUSIVE MODE")
        await asyncio.wait_for(EventStore(store.pool, s).create_schema(), timeout=5)


async def test_new_ddl_is_applied_once_and_again_when_it_changes(store: EventStore) -> None:
    s = store.schema
    table = f"CREATE TABLE IF NOT EXISTS {s}.extra (n int);"
    async with store.pool.acquire() as conn:
        assert await apply_ddl(conn, s, "read model", table)
        assert not await apply_ddl(conn, s, "read model", table)
        await conn.execute(f"DROP TABLE {s}.extra")
        assert await apply_ddl(conn, s, "read model", table, force=True)
        changed = table + f"ALTER TABLE {s}.extra ADD COLUMN IF NOT EXISTS m int;"
        assert await apply_ddl(conn, s, "read model", changed)
        columns = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = 'extra'",
            s,
        )
    assert columns == 2
