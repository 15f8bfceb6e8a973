"""A sharded replay's statistics taken while a spawned shard's last batches land.

This process's share loaded first, it takes the facts' statistics while the others finish (the
index builds after the load would otherwise hold ANALYZE back to the finish's last step), but
only once most of the load is in: a sample of half the facts would mislead the planner. Not
once all of it is in: then the index builds come first, and the statistics after them.
"""

from __future__ import annotations

import pytest

from benchmarks.history_generator import fact_rows
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.topic_reading import Span
from services.reporting import readmodel
from services.reporting.readmodel import replay_consumer
from services.reporting.replay import EARLY_STATISTICS, statistics_while_loading

pytestmark = pytest.mark.infra

G = "reporting_g2"
SPANS = [Span("t", 0, 0, 600), Span("t", 1, 100, 500)]  # 1,000 records to read


@pytest.mark.parametrize(
    ("read", "analysed"), [(480, False), (880, False), (900, True), (1000, False)]
)
async def test_statistics_are_taken_once_most_of_the_load_is_in(
    database_url: str, read: int, analysed: bool
) -> None:
    assert EARLY_STATISTICS == 0.9  # the cases below straddle it
    pool = await create_pool(database_url, max_size=2)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            await readmodel.ensure(conn)
            await conn.execute(readmodel.generation_tables_ddl(G))
            async with conn.transaction():
                await readmodel.copy_fact_rows(conn, G, list(fact_rows(read, seed=51)))
                # Partition 0 read first, then partition 1 from its start (100).
                offsets = {("t", 0): min(600, read), ("t", 1): 100 + max(0, read - 600)}
                await readmodel.save_offsets(conn, replay_consumer(G), offsets)
        taken = await statistics_while_loading(pool, G, SPANS)
        async with pool.acquire() as conn:
            columns = await conn.fetchval(
                "SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = 'facts'", G
            )
    finally:
        await pool.close()
    assert taken is analysed
    assert (columns > 0) is analysed
