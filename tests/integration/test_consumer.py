"""The shared consumer on the real broker: idempotent, checkpointed with effects, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaTimeoutError
from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.registry import AgencyStaffChanged
from socialwork_contracts.topics import DEAD_LETTER_HEADERS

from servicekit import consumer as consumer_module
from servicekit.consumer import AlreadyRedriven, EventConsumer, Refused, hold_partitions
from servicekit.db import Connection
from servicekit.dead_letters import DeadLetterPublisher
from servicekit.eventstore import START, EventStore
from servicekit.eventstore.store import create_pool, init_connection
from servicekit.kafka_admin import ensure_topics
from servicekit.kafka_records import Delivery, parse
from servicekit.relay import OutboxRelay, make_producer
from tests.conftest import Infra
from tests.integration.flaky_producer import FlakyProducer
from tests.integration.kafka_reader import read_until
from tests.support import envelope, staff_event, wait_for

pytestmark = pytest.mark.infra


@dataclass
class StaffLog:
    """A test projection: one row per applied event, so a duplicate would show as a second row."""

    name: str
    topics: Sequence[str]
    fail_on_staff: int = -1
    deadlocks: int = 0  # how many times to fail as a deadlock victim would, before succeeding

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        assert isinstance(event, AgencyStaffChanged)
        if self.deadlocks > 0:
            self.deadlocks -= 1
            await conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = 'deadlock_detected'; "
                "END $$"
            )
        if event.full_time_staff == self.fail_on_staff:
            raise ValueError("this projection refuses 13 staff")
        await conn.execute(
            "INSERT INTO consumertest.staff_log (event_id, uscc, staff) VALUES ($1, $2, $3)",
            envelope.id,
            event.uscc,
            event.full_time_staff,
        )

    async def reset(self, conn: Connection) -> None:
        await conn.execute("DELETE FROM consumertest.staff_log")


@dataclass
class Rig:
    store: EventStore
    relay_producer: AIOKafkaProducer
    raw_producer: AIOKafkaProducer
    topic: str
    dlq: str
    pool: asyncpg.Pool


@pytest.fixture
async def rig(infra: Infra, database_url: str) -> AsyncIterator[Rig]:
    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"test.events.{suffix}", f"test.deadletter.{suffix}"
    await ensure_topics(infra.kafka, [(topic, 3), (dlq, 1)])
    pool = await create_pool(database_url)
    store = EventStore(pool, "consumertest")
    await store.create_schema()
    await pool.execute("CREATE TABLE consumertest.staff_log (event_id text, uscc text, staff int)")
    relay_producer = make_producer(infra.kafka)
    raw_producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await relay_producer.start()
    await raw_producer.start()
    yield Rig(store, relay_producer, raw_producer, topic, dlq, pool)
    await relay_producer.stop()
    await raw_producer.stop()
    await pool.close()


async def start_consumer(
    rig: Rig, infra: Infra, projection: StaffLog, **options: Any
) -> tuple[KafkaBroker, EventConsumer]:
    """A consumer of the projection, started (`options`: EventConsumer's settings)."""
    broker = KafkaBroker(infra.kafka, logger=None)
    consumer = EventConsumer(
        broker=broker, pool=rig.pool, schema="consumertest", projection=projection, **options
    )
    await broker.start()
    consumer.start()
    return broker, consumer


async def publish_all(relay: OutboxRelay, rig: Rig) -> None:
    async with rig.pool.acquire() as conn:
        while await relay.publish_batch(conn):
            pass


async def rows(rig: Rig) -> list[asyncpg.Record]:
    return await rig.pool.fetch("SELECT event_id, uscc, staff FROM consumertest.staff_log")


def relay_for(rig: Rig) -> OutboxRelay:
    return OutboxRelay(
        rig.store, rig.relay_producer, producer_name="registry", topic=rig.topic, batch_size=7
    )


def fresh_consumer(rig: Rig, infra: Infra, pool: asyncpg.Pool | None = None) -> EventConsumer:
    """A consumer of the rig's topic under a new name (no checkpoint yet), not subscribed: a
    test hands it batches (`apply_batch`)."""
    return EventConsumer(
        broker=KafkaBroker(infra.kafka, logger=None),
        pool=pool or rig.pool,
        schema="consumertest",
        projection=StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic]),
    )


@contextlib.asynccontextmanager
async def logged_pool(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, list[str]]]:
    """A one-connection pool, so every statement of a batch is seen, and those statements."""
    statements: list[str] = []

    async def logged(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        conn.add_query_logger(lambda query: statements.append(query.query))

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, init=logged)
    try:
        yield pool, statements
    finally:
        await pool.close()


async def assert_checkpoints_at_ends(
    pool: asyncpg.Pool, consumer: str, records: Sequence[ConsumerRecord[bytes, bytes]]
) -> None:
    """The consumer's saved offsets: each partition's last record + 1."""
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), 0), r.offset + 1)
    saved = await pool.fetch(
        "SELECT topic, partition, next_offset FROM consumertest.consumer_offsets "
        "WHERE consumer = $1",
        consumer,
    )
    assert {(r["topic"], r["partition"]): r["next_offset"] for r in saved} == ends


async def test_relay_republish_after_a_crash_is_deduplicated(rig: Rig, infra: Infra) -> None:
    for i in range(20):
        await rig.store.append(
            f"a-{i % 4}", [staff_event(f"a-{i % 4}", 3 + i)], expected_version=None
        )
    relay = relay_for(rig)
    await publish_all(relay, rig)
    # A relay that died after Kafka acknowledged but before it saved the checkpoint: the next
    # one starts from the old checkpoint and publishes the same events again.
    second = relay_for(rig)
    second.published = (await rig.store.read_all(START, 5))[-1].log_position
    await rig.pool.execute("DELETE FROM consumertest.checkpoints")
    await publish_all(second, rig)
    on_wire = await read_until(infra.kafka, rig.topic, lambda r: True, count=35)
    assert len(on_wire) == 35, "the duplicates did reach Kafka"

    broker, consumer = await start_consumer(
        rig, infra, StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    )
    try:
        await wait_for(lambda: _count(rig, 20))
        applied = await rows(rig)
        assert len({r["event_id"] for r in applied}) == len(applied) == 20
        await wait_for(lambda: _duplicates_seen(consumer, 15))
    finally:
        await broker.stop()


async def _count(rig: Rig, n: int) -> bool:
    return len(await rows(rig)) == n


async def _duplicates_seen(consumer: EventConsumer, n: int) -> bool:
    return consumer.stats.duplicates >= n


async def test_bad_messages_are_dead_lettered_and_nothing_blocks(rig: Rig, infra: Infra) -> None:
    """Malformed, keyless, unknown, invalid and failing records: each dead-lettered or skipped,
    published to the dead-letter topic after the batch, and the valid records around applied.
    A stream whose version k failed waits (parked) until k is re-driven: never out of order."""
    await rig.store.append("b-1", [staff_event("b-1", 4)], expected_version=None)
    await rig.store.append("b-1", [staff_event("b-1", 13)], expected_version=None)  # handler fails
    relay = relay_for(rig)
    await publish_all(relay, rig)
    await rig.raw_producer.send_and_wait(rig.topic, b"{this is not json", key=b"x-1")
    unknown = staff_envelope("b-2", type_="AgencyTeleported.v1")
    await rig.raw_producer.send_and_wait(rig.topic, unknown, key=b"b-2")
    wrong = staff_envelope("b-3", data={"uscc": "b-3", "full_time_staff": "many"})
    await rig.raw_producer.send_and_wait(rig.topic, wrong, key=b"b-3")
    upcast = staff_envelope("b-4", type_="AgencyRegistered.v1", data={"uscc": "b-4"})
    await rig.raw_producer.send_and_wait(rig.topic, upcast, key=b"b-4")
    await rig.raw_producer.send_and_wait(rig.topic, staff_envelope("b-5"), key=b"not-b-5")
    await rig.store.append("b-1", [staff_event("b-1", 5)], expected_version=None)
    await rig.store.append("b-6", [staff_event("b-6", 6)], expected_version=None)
    await publish_all(relay, rig)

    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic], fail_on_staff=13)
    broker, consumer = await start_consumer(rig, infra, projection)
    publisher = DeadLetterPublisher(
        rig.pool, rig.raw_producer, schema="consumertest", topic=rig.dlq
    )
    stop = asyncio.Event()
    publishing = asyncio.create_task(publisher.run(stop))
    try:
        await wait_for(lambda: _count(rig, 2))
        assert sorted(r["staff"] for r in await rows(rig)) == [4, 6]
        dead = await read_until(infra.kafka, rig.dlq, lambda r: True, count=5)
        reasons = sorted(dict(r.headers)["dlq_error"].decode() for r in dead)
        assert len(dead) == 5, reasons
        assert any("ValueError" in r for r in reasons)
        assert any("KeyError" in r or "locality" in r for r in reasons), reasons
        assert any("differs from streamid" in r for r in reasons), reasons
        for record in dead:
            documented = {k for k, _ in record.headers if k.startswith("dlq_")}
            assert documented == set(DEAD_LETTER_HEADERS)
        stored = await rig.pool.fetchval("SELECT count(*) FROM consumertest.dead_letters")
        skipped = await rig.pool.fetchval("SELECT count(*) FROM consumertest.skipped_events")
        parked = await rig.pool.fetch(
            "SELECT stream_id, stream_version FROM consumertest.parked_records"
        )
        assert (stored, skipped) == (5, 1)
        assert [(r["stream_id"], r["stream_version"]) for r in parked] == [("b-1", 3)]
        # The cause is fixed and the failed version re-driven: it and the parked one apply.
        projection.fail_on_staff = -1
        letter = await rig.pool.fetchval(
            "SELECT id FROM consumertest.dead_letters WHERE reason LIKE 'ValueError%'"
        )
        assert await consumer.redrive(letter) == "applied"
        assert sorted(r["staff"] for r in await rows(rig)) == [4, 5, 6, 13]
        with pytest.raises(AlreadyRedriven):
            await consumer.redrive(letter)
    finally:
        stop.set()
        await publishing
        await broker.stop()


async def test_checkpoint_survives_restart_and_reset_rebuilds(rig: Rig, infra: Infra) -> None:
    relay = relay_for(rig)
    for i in range(10):
        await rig.store.append(f"r-{i}", [staff_event(f"r-{i}", 3)], expected_version=0)
    await publish_all(relay, rig)
    name = f"c-{uuid.uuid4().hex[:6]}"
    broker, consumer = await start_consumer(rig, infra, StaffLog(name, [rig.topic]))
    await wait_for(lambda: _count(rig, 10))
    await broker.stop()

    for i in range(10, 15):
        await rig.store.append(f"r-{i}", [staff_event(f"r-{i}", 3)], expected_version=0)
    await publish_all(relay, rig)
    broker, consumer = await start_consumer(rig, infra, StaffLog(name, [rig.topic]))
    try:
        await wait_for(lambda: _count(rig, 15))
        assert len(await rows(rig)) == 15
        before = sorted(r["event_id"] for r in await rows(rig))
        await wait_for(lambda: _assigned(consumer))
        await consumer.reset()
        await wait_for(lambda: _count(rig, 15))
        assert sorted(r["event_id"] for r in await rows(rig)) == before
    finally:
        await broker.stop()


async def _assigned(consumer: EventConsumer) -> bool:
    return bool(consumer.subscriber.consumer and consumer.subscriber.consumer.assignment())


def staff_envelope(
    uscc: str, *, type_: str = "AgencyStaffChanged.v1", data: dict[str, object] | None = None
) -> bytes:
    staff = data or {"uscc": uscc, "full_time_staff": 3, "qualified_staff": 1}
    return envelope(type_, staff, uscc).model_dump_json().encode()


async def test_a_fresh_database_folds_from_offset_zero_despite_kafka_offsets(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """The checkpoint lives in PostgreSQL: a new or reset database starts from the beginning
    even when Kafka holds committed offsets for the same consumer group."""
    relay = relay_for(rig)
    for i in range(12):
        await rig.store.append(f"f-{i}", [staff_event(f"f-{i}", 3)], expected_version=0)
    await publish_all(relay, rig)
    name = f"c-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        broker, _consumer = await start_consumer(rig, infra, StaffLog(name, [rig.topic]))
        try:
            await wait_for(lambda: _count(rig, 12))
        finally:
            await broker.stop()
        # Forget everything in PostgreSQL (a new database), keep Kafka's committed offsets.
        await rig.pool.execute("DELETE FROM consumertest.staff_log")
        await rig.pool.execute("DELETE FROM consumertest.consumer_offsets")
        await rig.pool.execute("DELETE FROM consumertest.consumer_streams")


async def test_a_dead_letter_is_redriven_to_its_consumer_never_to_the_topic(
    rig: Rig, infra: Infra
) -> None:
    await rig.store.append("d-1", [staff_event("d-1", 13)], expected_version=None)
    await publish_all(relay_for(rig), rig)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic], fail_on_staff=13)
    broker, consumer = await start_consumer(rig, infra, projection)
    try:
        await wait_for(lambda: _dead_lettered(consumer, 1))
        assert await rows(rig) == []
        letter = await rig.pool.fetchval("SELECT id FROM consumertest.dead_letters")
        failed = await consumer.redrive(letter)  # the cause is not fixed yet: recorded, kept
        assert isinstance(failed, Refused)
        projection.fail_on_staff = -1  # the cause is fixed
        assert await consumer.redrive(letter) == "applied"
        assert [r["staff"] for r in await rows(rig)] == [13]
        with pytest.raises(AlreadyRedriven):
            await consumer.redrive(letter)
        on_topic = await read_until(infra.kafka, rig.topic, lambda r: True, count=1)
        assert len(on_topic) == 1, "a re-drive wrote to the shared topic"
    finally:
        await broker.stop()


async def test_a_redrive_waits_for_a_batch_holding_its_partition(rig: Rig, infra: Infra) -> None:
    await rig.store.append("w-1", [staff_event("w-1", 13)], expected_version=None)
    await publish_all(relay_for(rig), rig)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic], fail_on_staff=13)
    broker, consumer = await start_consumer(rig, infra, projection)
    try:
        # The row, not the counter: the counter moves before the batch's transaction commits.
        async def letter_row() -> asyncpg.Record | None:
            return await rig.pool.fetchrow(
                "SELECT id, topic, partition FROM consumertest.dead_letters WHERE consumer = $1",
                consumer.name,
            )

        await wait_for(letter_row)
        letter = await letter_row()
        assert letter is not None
        projection.fail_on_staff = -1
        async with rig.pool.acquire() as batch, batch.transaction():
            # What a batch on that partition holds while it applies from its stream versions.
            tp = (letter["topic"], letter["partition"])
            await hold_partitions(batch, "consumertest", consumer.name, [tp], epoch=True)
            redrive = asyncio.create_task(consumer.redrive(letter["id"]))
            await wait_for(lambda: _waiting_on_a_lock(rig))
            assert not redrive.done()
        assert await redrive == "applied"
        assert [r["staff"] for r in await rows(rig)] == [13]
    finally:
        await broker.stop()


async def _waiting_on_a_lock(rig: Rig) -> bool:
    waiting: int = await rig.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock%'"
    )
    return waiting > 0


async def _dead_lettered(consumer: EventConsumer, n: int) -> bool:
    return consumer.stats.dead_lettered >= n


async def test_a_rebuild_with_two_instances_loses_no_history(rig: Rig, infra: Infra) -> None:
    """`reset()` on one instance used to rewind only its own partitions: the other carried on,
    and the old records it saw again were dropped as duplicates. Now every instance rewinds."""
    relay = relay_for(rig)
    for i in range(30):
        await rig.store.append(f"m-{i}", [staff_event(f"m-{i}", 3)], expected_version=0)
    await publish_all(relay, rig)
    name = f"c-{uuid.uuid4().hex[:6]}"
    first = await start_consumer(rig, infra, StaffLog(name, [rig.topic]))
    second = await start_consumer(rig, infra, StaffLog(name, [rig.topic]))
    stop = asyncio.Event()
    watchers = [asyncio.create_task(c.watch_epoch(stop)) for _, c in (first, second)]
    try:
        await wait_for(lambda: _count(rig, 30))
        await wait_for(lambda: _split(first[1], second[1]), timeout=60)
        await first[1].reset()  # one instance holds only some of the three partitions
        for i in range(30, 40):
            await rig.store.append(f"m-{i}", [staff_event(f"m-{i}", 3)], expected_version=0)
        await publish_all(relay, rig)
        await wait_for(lambda: _count(rig, 40), timeout=60)
        applied = await rows(rig)
        assert len({r["event_id"] for r in applied}) == len(applied) == 40
    finally:
        stop.set()
        await asyncio.gather(*watchers)
        for broker, _ in (first, second):
            await broker.stop()


async def _split(*consumers: EventConsumer) -> bool:
    held = [
        c.subscriber.consumer.assignment() if c.subscriber.consumer else set() for c in consumers
    ]
    return all(held)


async def test_a_transient_database_error_is_retried_not_dead_lettered(
    rig: Rig, infra: Infra
) -> None:
    """A deadlock (or serialization failure) used to dead-letter a perfectly good record."""
    await rig.store.append("t-1", [staff_event("t-1", 7)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic], deadlocks=2)
    broker, consumer = await start_consumer(rig, infra, projection)
    try:
        await wait_for(lambda: _count(rig, 1))
        assert consumer.stats.dead_lettered == 0
        assert projection.deadlocks == 0
    finally:
        await broker.stop()


async def test_a_batch_waits_for_no_kafka_offset_commit(rig: Rig, infra: Infra) -> None:
    """The checkpoint that counts is PostgreSQL's: committing Kafka's group offsets after every
    batch was a broker round trip (and a write to __consumer_offsets) per batch for nothing.
    Kafka's offsets are copied on the consumer's timer, for lag tools only."""
    for i in range(6):
        await rig.store.append(f"k-{i}", [staff_event(f"k-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    broker = KafkaBroker(infra.kafka, logger=None)
    consumer = EventConsumer(
        broker=broker,
        pool=rig.pool,
        schema="consumertest",
        projection=projection,
        offset_commit_ms=600_000,  # never within this test
    )
    await broker.start()
    consumer.start()
    try:
        await wait_for(lambda: _count(rig, 6))
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(projection.name)
        finally:
            await admin.close()
        assert committed == {}
    finally:
        await broker.stop()


async def test_a_batch_that_fails_every_attempt_is_delivered_again(
    rig: Rig, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is away for longer than the batch's retries: the consumer goes back to the
    batch's first offsets, so the records are applied once it returns, never skipped."""
    monkeypatch.setattr(consumer_module, "BATCH_ATTEMPTS", 2)
    for i in range(5):
        await rig.store.append(f"r-{i}", [staff_event(f"r-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    projection = Unreachable(f"c-{uuid.uuid4().hex[:6]}", [rig.topic], failures=5)
    broker, consumer = await start_consumer(rig, infra, projection)
    try:
        await wait_for(lambda: _count(rig, 5))
        assert projection.failures == 0  # every failure was met: the batch ran out of attempts
        applied = await rows(rig)
        assert len({r["event_id"] for r in applied}) == 5
        assert consumer.stats.dead_lettered == 0
    finally:
        await broker.stop()


@dataclass
class Unreachable(StaffLog):
    """Fails with a lost connection (the whole batch is retried) `failures` times."""

    failures: int = 0

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionResetError("the database went away")
        await super().apply(conn, envelope, event)


async def test_a_batch_with_nothing_parked_never_looks_for_parked_records_per_record(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """Looking for a parked successor after every applied record was a round trip per record
    for a table that is nearly always empty: one look per batch says whether to."""
    for i in range(8):
        await rig.store.append(f"p-{i}", [staff_event(f"p-{i}", 3)], expected_version=0)
    await rig.store.append("p-0", [staff_event("p-0", 4)], expected_version=None)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=9)
    async with logged_pool(database_url) as (pool, statements):
        await fresh_consumer(rig, infra, pool).apply_batch(records)
    assert len(await rows(rig)) == 9
    assert sum("parked_records" in s for s in statements) <= 1, statements


async def test_a_batch_reads_and_writes_its_streams_once_not_per_record(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """Each record read its stream's last version and wrote the next: two round trips per
    record. A batch reads every stream of its records in one statement and writes the streams it
    advanced in one, with its offsets; a batch seen again is dropped by what it read."""
    for i in range(6):
        await rig.store.append(f"s-{i}", [staff_event(f"s-{i}", 3)], expected_version=0)
    for staff in (4, 5, 6):  # one stream several times in the batch, in order
        await rig.store.append("s-0", [staff_event("s-0", staff)], expected_version=None)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=9)
    async with logged_pool(database_url) as (pool, statements):
        consumer = fresh_consumer(rig, infra, pool)
        name = consumer.name
        await consumer.apply_batch(records)
        first = [s for s in statements if "consumer_streams" in s]
        # The same records again past the checkpoint (as after a lost checkpoint): duplicates.
        await rig.pool.execute(
            "DELETE FROM consumertest.consumer_offsets WHERE consumer = $1", name
        )
        statements.clear()
        await consumer.apply_batch(records)
        again = [s for s in statements if "consumer_streams" in s]
    assert len(first) == 2, first  # one read, one write: not 2 per record
    assert len(again) == 1, again  # one read, nothing advanced
    assert consumer.stats.duplicates == 9
    assert sorted(r["staff"] for r in await rows(rig)) == [3, 3, 3, 3, 3, 3, 4, 5, 6]
    versions = await rig.pool.fetch(
        "SELECT stream_id, version FROM consumertest.consumer_streams WHERE consumer = $1", name
    )
    assert sorted((r["stream_id"], r["version"]) for r in versions) == [
        ("s-0", 4),
        ("s-1", 1),
        ("s-2", 1),
        ("s-3", 1),
        ("s-4", 1),
        ("s-5", 1),
    ]


async def test_a_partitions_first_batch_past_its_start_is_sent_back_not_taken_as_its_start(
    rig: Rig, infra: Infra
) -> None:
    """A batch handled in memory but never committed (its transaction lost with the database
    while the client moved on) leaves the next batch past the checkpoint: a gap, and the
    consumer rewinds. A partition the consumer had no checkpoint for yet took the first offset
    it received as its start, so the records before it were never applied (the fault suite's
    "PostgreSQL immediate stop": a stream missing from supervision's residencies)."""
    for i in range(12):
        await rig.store.append(f"g-{i}", [staff_event(f"g-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=12)
    later = [r for r in records if r.offset >= 1]  # every partition's first record skipped
    assert len(later) < len(records)
    consumer = fresh_consumer(rig, infra)

    await consumer.apply_batch(later)
    assert await rows(rig) == []  # each partition past its start: rewound, nothing applied
    await consumer.apply_batch(records)  # delivered again from the start
    assert sorted(r["uscc"] for r in await rows(rig)) == sorted(f"g-{i}" for i in range(12))


async def test_a_partitions_start_removed_by_retention_is_accepted_when_met_twice(
    rig: Rig, infra: Infra
) -> None:
    """Where the log itself starts past offset 0 (retention), the rewind brings the same gap
    again: the second time it is taken as the partition's start, so the consumer goes on."""
    for i in range(6):
        await rig.store.append(f"r-{i}", [staff_event(f"r-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=6)
    kept = [r for r in records if r.offset >= 1]  # as if retention removed each first record
    consumer = fresh_consumer(rig, infra)

    await consumer.apply_batch(kept)
    assert await rows(rig) == []
    await consumer.apply_batch(kept)  # the rewind found the same start
    assert sorted(r["event_id"] for r in await rows(rig)) == sorted(
        CloudEvent.model_validate_json(r.value).id for r in kept
    )


async def test_a_batchs_stream_versions_are_read_by_key_under_a_generic_plan(
    rig: Rig, infra: Infra
) -> None:
    """asyncpg prepares every statement, and after five runs PostgreSQL may keep a generic plan
    made without the parameters' values: the batch's `IN (SELECT * FROM unnest(…))` read of its
    streams then scanned every stream row of the consumer (0.8 ms a command at 200/s,
    bench_visible --pg-statements). Each stream is one look-up by the table's key."""
    for i in range(300):
        await rig.store.append(f"v-{i}", [staff_event(f"v-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=300)
    consumer = fresh_consumer(rig, infra)
    await consumer.apply_batch(records)
    received = {d: parse(d) for d in (Delivery.of(r) for r in records[:5])}
    async with rig.pool.acquire() as conn, conn.transaction():
        await conn.execute("ANALYZE consumertest.consumer_streams")
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = await _stream_scans(conn)
        streams = await consumer._read_streams(conn, received)
        assert await _stream_scans(conn) == before
    assert sorted(v for v in streams.values() if v is not None) == sorted(
        (1, p.envelope.id) for p in received.values() if not isinstance(p, Refused)
    )


async def _stream_scans(conn: Connection) -> int:
    scans: int = await conn.fetchval(
        "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables "
        "WHERE schemaname = 'consumertest' AND relname = 'consumer_streams'"
    )
    return scans


@dataclass
class PausedStaffLog(StaffLog):
    """Stops before its first write until let go: a batch past its locks and reads, deciding."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        self.reached.set()
        await self.go.wait()
        await super().apply(conn, envelope, event)


async def test_a_batch_holds_back_no_relay_until_it_writes(rig: Rig, infra: Infra) -> None:
    """A relay takes only events below the oldest transaction holding an id anywhere in the
    database, and a batch took one with its first statement (the epoch row locked FOR SHARE):
    every service's relay waited for every consumer's whole batch (bench_visible --xact-sample
    at 200/s: consumer batches held an id p99 394-573 ms, the tail of visibility). A batch now
    locks without writing and takes its id with its first write."""
    relay = relay_for(rig)
    consumer = fresh_consumer(rig, infra)
    records = []
    for staff in (3, 4):  # one stream: one partition, whose rows the first batch made
        await rig.store.append("p-1", [staff_event("p-1", staff)], expected_version=None)
        await publish_all(relay, rig)
        records = await read_until(infra.kafka, rig.topic, lambda r: True, count=staff - 2)
    await consumer.apply_batch(records[:1])
    projection = consumer.projection = PausedStaffLog(consumer.name, [rig.topic])
    batch = asyncio.create_task(consumer.apply_batch(records[1:]))
    try:
        await asyncio.wait_for(projection.reached.wait(), 10)
        await rig.store.append("p-2", [staff_event("p-2", 5)], expected_version=0)
        async with rig.pool.acquire() as conn:
            published = await relay.publish_batch(conn)
        assert published == 1  # not held back by the batch in progress
    finally:
        projection.go.set()
        await batch
    assert sorted(r["staff"] for r in await rows(rig)) == [3, 4]


async def test_a_consumer_gathering_bytes_per_fetch_still_applies_a_lone_event(
    rig: Rig, infra: Infra
) -> None:
    """CONSUMER_FETCH_MIN_BYTES lets the broker gather records into fewer fetches (its CPU per
    command at 200/s); a lone small event must still arrive, after the fetch's longest wait."""
    await rig.store.append("f-1", [staff_event("f-1", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    broker, consumer = await start_consumer(
        rig, infra, projection, fetch_min_bytes=1_048_576, fetch_max_wait_ms=200
    )
    try:
        await wait_for(lambda: _count(rig, 1))
        kafka = consumer.subscriber.consumer
        assert kafka is not None
        assert kafka._fetcher._fetch_min_bytes == 1_048_576  # the client's own setting
    finally:
        await broker.stop()


async def start_gathering(
    rig: Rig, infra: Infra, interval_ms: int, max_records: int = 500
) -> tuple[KafkaBroker, EventConsumer, list[int]]:
    """A consumer of the rig's topic applying at most one batch per `interval_ms`, and the size
    of each batch it applied (in order)."""
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    broker, consumer = await start_consumer(
        rig, infra, projection, max_records=max_records, batch_interval_ms=interval_ms
    )
    sizes: list[int] = []
    apply_batch = consumer.apply_batch

    async def recorded(records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        sizes.append(len(records))
        await apply_batch(records)

    # Before any record is sent: the loop looks the method up at each batch.
    consumer.apply_batch = recorded  # type: ignore[method-assign]
    await wait_for(lambda: _assigned(consumer))
    return broker, consumer, sizes


async def test_records_fetched_within_the_batch_interval_are_applied_in_one_batch(
    rig: Rig, infra: Infra
) -> None:
    """Each batch is a transaction of a dozen statements whatever its size: at 50 live events a
    second the reporting consumer's batches of one or two took a quarter of the service's loop
    under the report load (issue 12). A consumer now starts at most one batch per
    CONSUMER_BATCH_INTERVAL_MS: the first after a quiet moment at once, records fetched sooner
    than that after it wait and join the next."""
    interval = 5.0
    broker, consumer, sizes = await start_gathering(rig, infra, round(interval * 1000))
    kafka = consumer.subscriber.consumer
    assert kafka is not None
    try:
        sent = asyncio.get_running_loop().time()
        await rig.raw_producer.send_and_wait(rig.topic, staff_envelope("g-1"), key=b"g-1")
        await wait_for(lambda: _count(rig, 1))
        assert asyncio.get_running_loop().time() - sent < interval / 2  # the first: at once
        second = await rig.raw_producer.send_and_wait(rig.topic, staff_envelope("g-2"), key=b"g-2")
        tp = TopicPartition(rig.topic, second.partition)

        async def fetched() -> bool:
            return bool(await kafka.position(tp) > second.offset)

        await wait_for(fetched)  # in the client's hands: applied at once, it is a batch alone
        await rig.raw_producer.send_and_wait(rig.topic, staff_envelope("g-3"), key=b"g-3")
        await wait_for(lambda: _count(rig, 3))
        assert sizes == [1, 2]
    finally:
        await broker.stop()


async def test_a_full_batch_waits_for_no_interval(rig: Rig, infra: Infra) -> None:
    """A batch that has `max_records` is applied at once, however soon after the last (and
    asks the client for no more: it refuses a fetch of no record)."""
    interval = 5.0
    broker, _, sizes = await start_gathering(rig, infra, round(interval * 1000), max_records=2)
    try:
        with structlog.testing.capture_logs() as logs:
            await rig.raw_producer.send_and_wait(rig.topic, staff_envelope("f-1"), key=b"f-1")
            await wait_for(lambda: _count(rig, 1))
            sent = asyncio.get_running_loop().time()
            for uscc in ("f-2", "f-3"):
                await rig.raw_producer.send_and_wait(
                    rig.topic, staff_envelope(uscc), key=uscc.encode()
                )
            await wait_for(lambda: _count(rig, 3))
        assert asyncio.get_running_loop().time() - sent < interval / 2
        assert sizes == [1, 2]
        assert [e for e in logs if e["log_level"] in {"warning", "error"}] == []
    finally:
        await broker.stop()


async def test_a_gap_found_by_an_attempt_that_failed_is_not_taken_for_the_logs_own(
    rig: Rig, infra: Infra
) -> None:
    """A gap met twice is taken for the log's own start (retention), so the second meeting
    must be a second delivery. An attempt that met a gap and then failed (the database went
    away while another partition applied) ran again on the same records, met the same gap a
    second time and applied past it: the records before it were lost."""
    for i in range(12):
        await rig.store.append(f"h-{i}", [staff_event(f"h-{i}", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=12)
    gap_at = records[0].partition  # this partition's batch lacks its start
    batch = [r for r in records if r.partition != gap_at or r.offset >= 1]
    consumer = fresh_consumer(rig, infra)
    consumer.projection = Unreachable(consumer.name, [rig.topic], failures=1)
    await consumer.apply_batch(batch)
    applied = {r["uscc"] for r in await rows(rig)}
    gapped = {
        CloudEvent.model_validate_json(r.value).streamid for r in records if r.partition == gap_at
    }
    assert applied and not applied & gapped  # the others applied, the gapped partition sent back
    await consumer.apply_batch(records)  # delivered again from its start
    assert sorted(r["uscc"] for r in await rows(rig)) == sorted(f"h-{i}" for i in range(12))


async def test_a_record_claiming_a_version_another_event_holds_is_parked_not_dropped(
    rig: Rig, infra: Infra
) -> None:
    """Version 1 of a stream is applied; another event (a forged or mistaken record, another
    id) then claims version 1. It is no republished duplicate (same id), so it is parked with
    its reason, never dropped unseen; the stream's version 2 still applies."""
    stream = f"v-{uuid.uuid4().hex[:6]}"

    def staff(n: int, version: int) -> bytes:
        data = {"uscc": stream, "full_time_staff": n, "qualified_staff": 1}
        return envelope("AgencyStaffChanged.v1", data, stream, version).model_dump_json().encode()

    for n, version in ((4, 1), (9, 1), (5, 2)):
        await rig.raw_producer.send_and_wait(rig.topic, staff(n, version), key=stream.encode())
    broker, consumer = await start_consumer(rig, infra, StaffLog(f"c-{stream}", [rig.topic]))
    try:
        await wait_for(lambda: _count(rig, 2))
        assert sorted(r["staff"] for r in await rows(rig)) == [4, 5]
        parked = await rig.pool.fetch(
            "SELECT stream_id, stream_version, reason FROM consumertest.parked_records"
        )
        assert [(r["stream_id"], r["stream_version"]) for r in parked] == [(stream, 1)]
        assert "a different event holds it" in parked[0]["reason"]
        assert consumer.stats.duplicates == 0
    finally:
        await broker.stop()


async def test_dead_letters_whose_send_fails_are_sent_again_and_marked_once_sent(
    rig: Rig, infra: Infra
) -> None:
    """A dead letter is marked published only after Kafka acknowledged it: a send that fails
    leaves the batch unmarked, and the next look sends it, so the topic loses none."""
    for n in range(3):
        await rig.pool.execute(
            'INSERT INTO consumertest.dead_letters (consumer, topic, partition, "offset", key, '
            "value, reason) VALUES ('c-letters', $1, 0, $2, $3, $4, $5)",
            rig.topic,
            n,
            f"k-{n}",
            b"{not json",
            f"reason {n}",
        )
    failing = FlakyProducer(
        rig.raw_producer, 1, lambda: KafkaTimeoutError("no acknowledgement (injected)")
    )
    publisher = DeadLetterPublisher(
        rig.pool, failing, schema="consumertest", topic=rig.dlq, poll_seconds=0.1
    )
    stop = asyncio.Event()
    publishing = asyncio.create_task(publisher.run(stop))
    try:
        dead = await read_until(infra.kafka, rig.dlq, lambda r: True, count=3)
        assert failing.failures == 0
        assert sorted(r.key for r in dead) == [b"k-0", b"k-1", b"k-2"]

        async def all_marked() -> bool:
            waiting: int = await rig.pool.fetchval(
                "SELECT count(*) FROM consumertest.dead_letters WHERE published_at IS NULL"
            )
            return waiting == 0

        await wait_for(all_marked)
    finally:
        stop.set()
        await publishing
