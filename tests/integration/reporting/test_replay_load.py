"""The replay's bulk path: facts COPYed once per event id, topics read to the ends taken first."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from benchmarks.history_generator import fact_rows, publish, topic_names
from servicekit import topic_reading
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting import readmodel
from services.reporting.replay import replay
from tests.conftest import Infra

pytestmark = pytest.mark.infra


async def test_a_fact_is_stored_once_whatever_a_batch_repeats(database_url: str) -> None:
    rows = list(fact_rows(300, seed=11))
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")
            generation = await readmodel.ensure(conn)
            async with conn.transaction():
                await readmodel.copy_fact_rows(conn, generation, rows[:200])
            # A republished event (same id) among new ones: the batch still goes in, once each.
            async with conn.transaction():
                await readmodel.copy_fact_rows(conn, generation, rows[150:] + rows[:1])
            stored = await conn.fetch(f"SELECT event_id, data FROM {generation}.facts")
    finally:
        await pool.close()
    assert sorted(r["event_id"] for r in stored) == sorted(r[0] for r in rows)
    one = next(r for r in stored if r["event_id"] == rows[0][0])
    assert isinstance(one["data"], dict)  # the pool's codec still decodes jsonb to dicts


async def test_reading_stops_at_the_ends_taken_first(infra: Infra) -> None:
    topic = f"test.topic-reading.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 3)])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for i in range(40):
            await producer.send_and_wait(topic, f"{i}".encode(), key=f"k{i % 7}".encode())
        partitions = await topic_reading.partitions(infra.kafka, [topic])
        assert sorted(p for _, p in partitions) == [0, 1, 2]
        async with topic_reading.log_reader(infra.kafka) as kafka:
            ends = await topic_reading.end_offsets(kafka, partitions)
            for i in range(40, 60):  # written after the ends were taken: not read
                await producer.send_and_wait(topic, f"{i}".encode(), key=f"k{i % 7}".encode())
            seen: list[int] = []
            last: topic_reading.Offsets = {}
            async for records, positions in topic_reading.read(
                kafka, topic_reading.spans({}, ends), max_records=7
            ):
                assert len(records) <= 7
                seen.extend(int(r.value or b"") for r in records)
                last = positions
    finally:
        await producer.stop()
    assert sorted(seen) == list(range(40))
    assert last == {tp: end for tp, end in ends.items() if end > 0}


async def test_a_replayed_generation_has_planner_statistics(
    infra: Infra, database_url: str
) -> None:
    """Readers switched to a replayed generation get plans from its statistics at once (not
    from an empty table's until autovacuum happens to analyse it), and autovacuum, off for the
    bulk load, is on again."""
    prefix = f"test.replay-stats.{uuid.uuid4().hex[:8]}"
    await publish(infra.kafka, prefix, 3000)
    pool = await create_pool(database_url, max_size=4)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            await readmodel.ensure(conn)
        await replay(
            pool,
            infra.kafka,
            list(topic_names(prefix).values()),
            generation="reporting_g2",
            switch=True,
        )
        async with pool.acquire() as conn:
            columns = await conn.fetchval(
                "SELECT count(*) FROM pg_stats "
                "WHERE schemaname = 'reporting_g2' AND tablename = 'facts'"
            )
            options = await conn.fetchval(
                "SELECT reloptions FROM pg_class WHERE oid = $1::regclass", "reporting_g2.facts"
            )
    finally:
        await pool.close()
    assert columns > 0
    assert not options
