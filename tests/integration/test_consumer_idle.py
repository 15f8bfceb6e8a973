"""A consumer gone idle applies a record as soon as it comes (issue 12).

FastStream's batch loop, after a fetch that waited 50 ms for nothing, slept 50 ms more: a record
produced during that sleep waited for it, at every consumer hop after an idle moment. Here each
record is produced the moment the consumer's Kafka client has answered a fetch with nothing (the
client's `getmany` is watched, not changed), and must be applied within `WITHIN` of its
production: with the sleep every one waited for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.consumer import EventConsumer
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from tests.conftest import Infra
from tests.support import envelope, wait_for

pytestmark = pytest.mark.infra

ROUNDS = 8  # each waits for an empty fetch: up to the loop's idle wait, 1 s
WITHIN = dt.timedelta(milliseconds=25)
LATE_ALLOWED = 2  # a busy host may delay one now and then; the sleep delayed all


@dataclass
class Arrivals:
    """A test projection: when each event was applied, by the database's clock."""

    name: str
    topics: Sequence[str]

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        await conn.execute(
            "INSERT INTO idletest.arrivals (event_id, applied_at) VALUES ($1, clock_timestamp())",
            envelope.id,
        )

    async def reset(self, conn: Connection) -> None:
        await conn.execute("DELETE FROM idletest.arrivals")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await EventStore(pool, "idletest").create_schema()
    await pool.execute("CREATE TABLE idletest.arrivals (event_id text, applied_at timestamptz)")
    yield pool
    await pool.close()


def staff_changed(uscc: str) -> bytes:
    data = {"uscc": uscc, "full_time_staff": 3, "qualified_staff": 1}
    return envelope("AgencyStaffChanged.v1", data, uscc).model_dump_json().encode()


async def applied_at(pool: asyncpg.Pool, event_id: str) -> dt.datetime | None:
    found: dt.datetime | None = await pool.fetchval(
        "SELECT applied_at FROM idletest.arrivals WHERE event_id = $1", event_id
    )
    return found


async def produce_and_wait(
    producer: AIOKafkaProducer, pool: asyncpg.Pool, topic: str
) -> dt.timedelta:
    """One record of a new stream; how long after its sending it was applied."""
    uscc = f"idle-{uuid.uuid4().hex[:8]}"
    value = staff_changed(uscc)
    event_id = CloudEvent.model_validate_json(value).id
    sent = dt.datetime.now(dt.UTC)  # the host's clock, as PostgreSQL's on the same host
    await producer.send_and_wait(topic, value, key=uscc.encode())
    at = await wait_for(lambda: applied_at(pool, event_id), timeout=30, interval=0.005)
    assert at is not None  # wait_for returns a truthy value
    return at - sent


def watch_empty_fetches(consumer: EventConsumer) -> asyncio.Event:
    """An event set each time the consumer's Kafka client answers a fetch with no record."""
    kafka = consumer.subscriber.consumer
    assert kafka is not None  # the broker has started: its client exists
    fetch = kafka.getmany
    idle = asyncio.Event()

    async def watched(*partitions: Any, **options: Any) -> Any:
        fetched = await fetch(*partitions, **options)
        if not fetched:
            idle.set()
        return fetched

    kafka.getmany = watched
    return idle


async def test_a_record_reaching_an_idle_consumer_is_applied_at_once(
    infra: Infra, pool: asyncpg.Pool
) -> None:
    topic = f"test.idle.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    broker = KafkaBroker(infra.kafka, logger=None)
    consumer = EventConsumer(
        broker=broker,
        pool=pool,
        schema="idletest",
        projection=Arrivals(f"idle-{uuid.uuid4().hex[:6]}", [topic]),
    )
    await broker.start()
    idle = watch_empty_fetches(consumer)
    consumer.start()
    try:
        await produce_and_wait(producer, pool, topic)  # joined, and the first batch's cost paid
        delays: list[dt.timedelta] = []
        for _ in range(ROUNDS):
            idle.clear()
            await asyncio.wait_for(idle.wait(), timeout=30)  # a fetch just came back empty
            delays.append(await produce_and_wait(producer, pool, topic))
    finally:
        await consumer.stop()
        await broker.stop()
        await producer.stop()
    late = sorted(d for d in delays if d > WITHIN)
    assert len(late) <= LATE_ALLOWED, [f"{d.total_seconds() * 1000:.0f} ms" for d in late]
