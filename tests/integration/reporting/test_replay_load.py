"""The replay's bulk path: facts COPYed once per event id, topics read to the ends taken first."""

from __future__ import annotations

import random
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks.history_generator import envelope, fact_rows, publish, published, topic_names
from servicekit import topic_reading
from servicekit.db import Connection
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting import readmodel
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import reporting_schema

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


async def test_a_record_larger_than_a_fetch_is_read_whole(infra: Infra) -> None:
    """The log reader fetches 1 MiB a partition (its memory at a million events): a record of
    3 MiB between small ones is still read, whole, and the records after it too."""
    topic = f"test.topic-reading-large.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
    await admin.start()
    try:
        config = {"max.message.bytes": str(8 * 1024 * 1024)}
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=config)])
    finally:
        await admin.close()
    large = bytes(random.Random(5).getrandbits(8) for _ in range(3 * 1024 * 1024))
    values = [b"before", large, b"after"]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()
    partitions = await topic_reading.partitions(infra.kafka, [topic])
    read: list[bytes] = []
    async with topic_reading.log_reader(infra.kafka) as kafka:
        ends = await topic_reading.end_offsets(kafka, partitions)
        async for records, _ in topic_reading.read(kafka, topic_reading.spans({}, ends), 100):
            read.extend(r.value or b"" for r in records)
    assert read == values


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
        await reporting_schema(pool)
        await replay(
            pool,
            infra.kafka,
            list(topic_names(prefix).values()),
            generation="reporting_g2",
            switch=True,
        )
        async with pool.acquire() as conn:
            columns = await conn.fetch(
                "SELECT tablename, count(*) FROM pg_stats "
                "WHERE schemaname = 'reporting_g2' GROUP BY tablename"
            )
            options = await conn.fetchval(
                "SELECT reloptions FROM pg_class WHERE oid = $1::regclass", "reporting_g2.facts"
            )
            keys = await index_keys(conn, "reporting_g2.facts")
    finally:
        await pool.close()
    assert {"facts", "agencies"} <= {r["tablename"] for r in columns if r["count"] > 0}
    assert not options
    # No index is another's leading columns: the longer one serves the same scans, and each
    # index is a sort of every fact after a bulk load (about a CPU second at a million).
    assert not [(a, b) for a in keys for b in keys if a != b and b[: len(a)] == a], keys


async def index_keys(conn: Connection, table: str) -> list[tuple[str, ...]]:
    """The key columns of each plain (not partial, not unique) index of `table`."""
    rows = await conn.fetch(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = $1::regclass AND i.indpred IS NULL AND NOT i.indisunique "
        "GROUP BY i.indexrelid",
        table,
    )
    return [tuple(r[0]) for r in rows]


async def republish(bootstrap: str, prefix: str, total: int, every: int) -> int:
    """Every `every`-th event of `publish`'s history sent again, key and value as before: what
    the relay does when it publishes a batch again after a failure (at least once)."""
    topics = topic_names(prefix)
    rng = random.Random(7)  # publish's: the same event ids
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    again = 0
    try:
        for position, item in enumerate(published(total), start=1):
            key, value = envelope(item, position, rng)
            if position % every == 0:
                await producer.send(topics[item.event.producer], value, key=key)
                again += 1
        await producer.flush()
    finally:
        await producer.stop()
    return again


async def test_a_republished_event_is_one_fact_of_a_replay(infra: Infra, database_url: str) -> None:
    """The bulk load stores facts without their key and builds it after: an event that recurs on
    the topics (in a later batch than its first copy) is still one fact, the summaries fold it
    once (the same tables as a replay of the topics without repeats), and the generation has its
    primary key (the live consumer's inserts rely on it after the switch)."""
    events, run = 3000, uuid.uuid4().hex[:8]
    once, twice = f"test.replay-once.{run}", f"test.replay-twice.{run}"
    for prefix in (once, twice):
        await publish(infra.kafka, prefix, events)
    sent = sum(1 for _ in published(events))
    assert await republish(infra.kafka, twice, events, every=7) > 0
    pool = await create_pool(database_url, max_size=6)
    try:
        await reporting_schema(pool)
        for generation, prefix, workers in (("reporting_g2", once, 1), ("reporting_g3", twice, 2)):
            await replay(
                pool,
                infra.kafka,
                list(topic_names(prefix).values()),
                generation=generation,
                switch=False,
                max_records=250,  # a repeat lands in a later batch than its first copy
                dsn=database_url,
                workers=workers,
            )
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            plain = await readmodel.checksum(conn, "reporting_g2")
            repeated = await readmodel.checksum(conn, "reporting_g3")
            keyed = await conn.fetchval(
                "SELECT count(*) FROM pg_constraint "
                "WHERE conrelid = 'reporting_g3.facts'::regclass AND contype = 'p'"
            )
    finally:
        await pool.close()
    assert repeated["rows"]["facts"] == sent == events
    assert repeated["tables"] == plain["tables"]
    assert keyed == 1


async def test_the_facts_key_compares_bytes(database_url: str) -> None:
    """The facts' key column is bytewise (COLLATE "C"): its build after a bulk load sorts a
    million ids in a third of a libc locale's time; equality, and so one fact per event id,
    is the same."""
    rows = list(fact_rows(50, seed=13))
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")
            generation = await readmodel.ensure(conn)
            collation = await conn.fetchval(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'facts' AND column_name = 'event_id'",
                generation,
            )
            async with conn.transaction():
                await readmodel.copy_fact_rows(conn, generation, rows + rows[:5])
            stored = await conn.fetchval(f"SELECT count(*) FROM {generation}.facts")
    finally:
        await pool.close()
    assert collation == "C"
    assert stored == len(rows)
