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

import asyncpg
import pytest

from servicekit.ddl import apply_ddl
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra


async def _someone_waits_for_a_lock(pool: asyncpg.Pool, start: asyncio.Task[None]) -> bool:
    waiting = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return bool(waiting) or start.done()


async def test_a_start_beside_a_command_in_flight_never_deadlocks(database_url: str) -> None:
    schema = f"start_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url)
    try:
        store = EventStore(pool, schema)
        await store.create_schema()  # the first instance's start
        second = EventStore(pool, schema)
        async with pool.acquire() as command, command.transaction():
            loaded = await store.load("agency-1", command_id=str(uuid.uuid4()), conn=command)
            start = asyncio.create_task(second.create_schema())  # the second instance's start
            await wait_for(lambda: _someone_waits_for_a_lock(pool, start), timeout=10)
            await store.append(
                "agency-1", [staff_event("agency-1")], expected_version=0, conn=command
            )
            assert not loaded.events
        await asyncio.wait_for(start, timeout=10)
        assert [e.stream_id for e in await store.read_stream("agency-1")] == ["agency-1"]
    finally:
        await pool.close()


async def test_a_start_whose_ddl_is_applied_takes_no_table_lock(database_url: str) -> None:
    schema = f"start_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url)
    try:
        await EventStore(pool, schema).create_schema()
        async with pool.acquire() as reader, reader.transaction():
            # An open transaction holding what every ALTER and index build would wait for.
            await reader.execute(
                f"LOCK TABLE {schema}.events, {schema}.commands IN ROW EXCLUSIVE MODE"
            )
            await asyncio.wait_for(EventStore(pool, schema).create_schema(), timeout=5)
    finally:
        await pool.close()


async def test_new_ddl_is_applied_once_and_again_when_it_changes(database_url: str) -> None:
    schema = f"start_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url)
    try:
        await EventStore(pool, schema).create_schema()
        table = f"CREATE TABLE IF NOT EXISTS {schema}.extra (n int);"
        async with pool.acquire() as conn:
            assert await apply_ddl(conn, schema, "read model", table)
            assert not await apply_ddl(conn, schema, "read model", table)
            await conn.execute(f"DROP TABLE {schema}.extra")
            assert await apply_ddl(conn, schema, "read model", table, force=True)
            changed = table + f"ALTER TABLE {schema}.extra ADD COLUMN IF NOT EXISTS m int;"
            assert await apply_ddl(conn, schema, "read model", changed)
            columns = await conn.fetchval(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'extra'",
                schema,
            )
        assert columns == 2
    finally:
        await pool.close()
