"""A replay from the beginning of a log that holds every kind of fact (the generated history and
every_kind.py's: issue 11's operation records, closed and refitted bases, extended stays, stays
re-linked to another credit code, groups in preparation, annual reports, listings, follow-ups,
some recorded late), split over two processes, stores what the live path stores and answers
every report as the fold of its facts does (issue 12: the integrators' replay).

The bulk path computes the summaries and the versions from the facts each shard has just
loaded, not from the table; the generated history alone never gave it a re-linked stay, a
closed base or an operation record."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from benchmarks.history_generator import (
    Item,
    envelope,
    fact_rows,
    history,
    occurred_recorded,
    topic_names,
)
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting import readmodel
from services.reporting.cache import ReportCache
from services.reporting.domain.facts import fact_of
from services.reporting.domain.periods import local_date
from services.reporting.domain.state import fold
from services.reporting.rebuild import keep_checkpoints
from services.reporting.replay import replay
from services.reporting.versions_refresh import changed_by_facts, refresh_versions
from services.reporting.views import ReportQuery, render
from tests.conftest import Infra
from tests.integration.reporting.every_kind import every_kind_items
from tests.integration.reporting.fold_oracle import OPTIONS
from tests.integration.reporting.prepared import reporting_schema
from tests.integration.reporting.test_every_route import asked

pytestmark = pytest.mark.infra

SEED = int(os.environ.get("EVERY_ROUTE_SEED", "41"))  # the generated history's, the extras'
REPLAYED, ARRIVED = "reporting_g2", "reporting_g3"  # a replay's, the live path's


Published = list[tuple[Item, bytes, bytes]]  # an item, its record's key and value


async def published(
    bootstrap: str, prefix: str, items: list[Item], keyed: bool
) -> tuple[list[str], Published]:
    """The items as the relays publish them, each producer's to its 6-partition topic: by key
    (an entity's events in one partition), or not (as after a change of the partition count,
    docs/capacity.md: a shard then reads part of an entity's facts)."""
    topics = topic_names(prefix)
    await ensure_topics(bootstrap, [(t, 6) for t in topics.values()])
    rng = random.Random(SEED)
    records = [(item, *envelope(item, n, rng)) for n, item in enumerate(items, start=1)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for item, key, value in records:
            partition = None if keyed else rng.randrange(6)
            await producer.send(topics[item.event.producer], value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
    return list(topics.values()), records


async def checksum(pool: asyncpg.Pool, generation: str) -> dict[str, Any]:
    """Every table of the generation (facts, summaries, versions), hashed in one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        summed = await readmodel.checksum(conn, generation)
    return {**summed["tables"], "rows": summed["rows"]}


async def applied_live(pool: asyncpg.Pool, records: Published) -> None:
    """The same events as the live consumer applies a batch (LiveProjection.apply_together,
    into ARRIVED): their facts, then the versions those facts change."""
    for start in range(0, len(records), 500):
        facts = [
            fact_of(
                json.loads(value)["id"],
                item.event,
                str(getattr(item.event, item.event.stream_field)),
                *occurred_recorded(item),
            )
            for item, _, value in records[start : start + 500]
        ]
        async with pool.acquire() as conn, conn.transaction():
            await readmodel.insert_facts(conn, ARRIVED, facts)
            await refresh_versions(conn, ARRIVED, changed_by_facts(facts))


@pytest.mark.parametrize("keyed", [True, False], ids=["by key", "an entity over partitions"])
async def test_a_replay_of_every_kind_stores_and_answers_as_the_live_path_and_the_fold(
    infra: Infra, database_url: str, keyed: bool
) -> None:
    items = list(history(3000, SEED))
    rows = list(fact_rows(3000, seed=SEED))
    items += every_kind_items(rows, SEED)
    random.Random(SEED).shuffle(items)  # a log's order is not the facts' order
    prefix = f"test.replay-every-kind.{uuid.uuid4().hex[:8]}"
    topics, records = await published(infra.kafka, prefix, items, keyed)
    pool = await create_pool(database_url, max_size=6)
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        await reporting_schema(pool)
        result = await replay(
            pool,
            infra.kafka,
            topics,
            generation=REPLAYED,
            switch=True,
            max_records=300,
            dsn=database_url,
            workers=2,
        )
        assert result.events == len(items)
        async with pool.acquire() as conn:
            await conn.execute(readmodel.generation_ddl(ARRIVED))  # as a live one is made
        await applied_live(pool, records)
        assert await checksum(pool, REPLAYED) == await checksum(pool, ARRIVED)

        await keep_checkpoints(database_url, REPLAYED)  # as after the switch-over
        rng, today = random.Random(SEED), local_date(dt.datetime.now(dt.UTC))
        for n in range(12):
            for query in asked(rng, rows, today, live=n == 11):
                assert await cache.answer(pool, query) == await oracle(pool, query), (n, query)
        assert cache.projected and cache.folds
    finally:
        cache.close()
        await pool.close()


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> Any:
    async with pool.acquire() as conn:
        facts = await readmodel.load_facts(
            conn, REPLAYED, effective_until=query.day, recorded_until=query.recorded_until
        )
    return render(fold(facts), query, OPTIONS)
