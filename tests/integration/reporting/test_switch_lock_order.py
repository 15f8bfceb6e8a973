"""The switch to a rebuilt generation and the live consumer's batches lock in one order.

A live batch (servicekit.consumer) locks its partitions (`hold_partitions`), then the
generation row FOR SHARE (services.reporting.readmodel_live). A switch that locked the
generation first and the checkpoints second deadlocked with it: the batch's record was retried
in its savepoint while the batch still held the checkpoints, so it lost every time and a valid
event was dead-lettered (and its stream's next version parked), or the switch lost and the
rebuild failed.
Found by the fault suite (tests/faults, "rebuild, two instances").
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from servicekit.consumer import hold_partitions
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from services.reporting import readmodel
from services.reporting.readmodel_live import generation_for_write
from tests.support import wait_for

pytestmark = pytest.mark.infra


async def blocked_on_a_lock(pool: asyncpg.Pool) -> bool:
    waiting: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting > 0


async def switch(pool: asyncpg.Pool, live: str) -> bool:
    async with pool.acquire() as conn:
        return await readmodel.switch_generation(
            conn,
            new="reporting_g2",
            live_consumer=live,
            offsets={("socialwork.registry.events", 0): 5},
        )


async def test_a_switch_waits_for_a_live_batch_instead_of_deadlocking_with_it(
    database_url: str,
) -> None:
    pool = await create_pool(database_url)
    try:
        await EventStore(pool, readmodel.CONTROL).create_schema()
        async with pool.acquire() as conn:
            await readmodel.ensure(conn)
            await conn.execute(readmodel.generation_tables_ddl("reporting_g2"))  # the rebuilt one
            live = await readmodel.live_consumer(conn)
        await pool.execute(
            "INSERT INTO reporting.consumer_offsets (consumer, topic, partition, next_offset) "
            "VALUES ($1, 'socialwork.registry.events', 0, 5)",
            live,
        )
        async with pool.acquire() as batch, batch.transaction():
            # A live batch, as the consumer runs it: its partitions' locks first...
            partition = ("socialwork.registry.events", 0)
            await hold_partitions(batch, readmodel.CONTROL, live, [partition], epoch=True)
            switching = asyncio.create_task(switch(pool, live))
            await wait_for(lambda: blocked_on_a_lock(pool))  # the switch waits for the batch
            # ...then the generation it writes into: granted, not a deadlock.
            assert await generation_for_write(batch) == "reporting_g1"
        assert await asyncio.wait_for(switching, 60)  # and the switch follows the batch
        async with pool.acquire() as conn:
            assert await readmodel.current_generation(conn) == "reporting_g2"
    finally:
        await pool.close()
