"""A sharded replay's index builds start once the other shards' facts are all committed.

A spawned shard folds its agencies' summaries after its last batch; the builds need only the
facts, so this process starts them when every span's checkpoint (written in the facts' own
transactions) is at its end, not when the shard returns. A shard's failure stops it, and a
checkpoint that never reaches its end (offsets with no record at the tail) falls back to the
shard's return.
"""

from __future__ import annotations

import asyncio

import pytest

from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.topic_reading import Span
from services.reporting import readmodel
from services.reporting.readmodel import replay_consumer
from services.reporting.replay import Counts, facts_loaded

pytestmark = pytest.mark.infra

G = "reporting_g2"
SPANS = [Span("t", 0, 0, 600), Span("t", 1, 100, 500)]


async def test_the_builds_wait_for_the_facts_not_for_the_shards_folds(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=2)
    loop = asyncio.get_running_loop()
    folding: asyncio.Future[Counts] = loop.create_future()  # a shard folding its agencies
    failed: asyncio.Future[Counts] = loop.create_future()
    returned: asyncio.Future[Counts] = loop.create_future()
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            await readmodel.ensure(conn)
            await readmodel.save_offsets(conn, replay_consumer(G), {("t", 0): 600, ("t", 1): 499})
        waiting = asyncio.ensure_future(facts_loaded(pool, G, SPANS, [folding]))
        done, _ = await asyncio.wait([waiting], timeout=0.5)
        assert not done  # partition 1 is one record short
        async with pool.acquire() as conn:
            await readmodel.save_offsets(conn, replay_consumer(G), {("t", 1): 500})
        await asyncio.wait_for(waiting, timeout=5)  # while the shard has not returned
        assert not folding.done()

        failed.set_exception(RuntimeError("shard failed"))
        with pytest.raises(RuntimeError, match="shard failed"):
            await facts_loaded(pool, G, [Span("t", 2, 0, 10)], [failed])

        returned.set_result(Counts())  # its tail had no record: the checkpoint stays short
        await asyncio.wait_for(facts_loaded(pool, G, [Span("t", 2, 0, 10)], [returned]), 5)
    finally:
        await pool.close()
