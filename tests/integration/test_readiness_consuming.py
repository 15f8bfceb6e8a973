"""Ready means consuming: `/health/ready` answers 200 only once every consumer of the instance
has joined its group, so a record produced then is applied without waiting for a join.

Readiness used to say ready as soon as the database answered. A service's start waits for its
consumers' assignment, but not for their seek to the checkpoints that follows it (reporting's
18 partitions, one offset look-up each: 0.7 s on a loaded host; now one look-up for all), so a
record produced once ready was applied 0.64-1.40 s later (5 runs before this change).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Iterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from devstack.kafka import KafkaProcess
from faststream.kafka import KafkaBroker
from socialwork_contracts.topics import EVENT_TOPICS, REGISTRY

from servicekit.consumer import EventConsumer
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from tests.conftest import Infra
from tests.integration.apphost import running
from tests.integration.reporting.dataset import publish, registered
from tests.integration.test_consumer_idle import Arrivals
from tests.support import app_factory, auth, uscc_for, wait_for
from tests.support import own_kafka as support_own_kafka

pytestmark = pytest.mark.infra

# Now 0.22-0.34 s; the fetch in flight when the consumer sought its checkpoints may first run out
# its wait (CONSUMER_FETCH_MAX_WAIT_MS, 0.5 s).
APPLIED_WITHIN_SECONDS = 1.0


@pytest.fixture
def own_kafka() -> Iterator[KafkaProcess]:
    """A broker of this test's own: no other test's records for a new group to catch up with."""
    with support_own_kafka("ready-kafka-") as kafka:
        yield kafka


async def visible(client: httpx.AsyncClient, uscc: str) -> bool:
    return (await client.get(f"/agencies/{uscc}", headers=auth())).status_code == 200


async def test_a_record_produced_once_ready_is_applied_promptly(
    service_env: dict[str, str],
    database_url: str,
    own_kafka: KafkaProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_kafka.bootstrap)
    await ensure_topics(own_kafka.bootstrap, [(t.name, t.partitions) for t in EVENT_TOPICS])
    uscc = uscc_for(7_310_000, unit_code="410102")
    producer = AIOKafkaProducer(bootstrap_servers=own_kafka.bootstrap)
    await producer.start()
    try:
        await producer.partitions_for(REGISTRY.name)  # its first send not slowed by a look-up
        async with running(app_factory("reporting")) as reporting:

            async def ready() -> httpx.Response:
                return await reporting.get("/health/ready")

            await wait_for(lambda: _ok(ready()), timeout=60, interval=0.01)
            ready_at = time.monotonic()
            await publish(producer, [registered(1, uscc, "zhongyuan", "410102", "2009-03-02")])
            await wait_for(lambda: visible(reporting, uscc), timeout=60, interval=0.01)
            elapsed = time.monotonic() - ready_at
            checks = (await ready()).json()["checks"]
    finally:
        await producer.stop()
    assert checks["consuming"] is True
    assert checks["reports_warm"] is True  # today's state held before traffic (cache.warm_up)
    assert elapsed <= APPLIED_WITHIN_SECONDS, f"applied {elapsed:.2f} s after ready"


async def _ok(answer: Awaitable[httpx.Response]) -> bool:
    return (await answer).status_code == 200


async def test_an_instance_without_partitions_is_ready_and_a_rebalance_keeps_it_so(
    infra: Infra, database_url: str
) -> None:
    """Two instances, one partition: the one left without it has joined all the same; the
    first, rebalanced when the second joined, stays joined (readiness does not flap)."""
    topic = f"test.ready.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    pool = await create_pool(database_url)
    await EventStore(pool, "idletest").create_schema()
    name = f"ready-{uuid.uuid4().hex[:6]}"
    instances: list[tuple[KafkaBroker, EventConsumer]] = []
    try:
        for _ in range(2):
            broker = KafkaBroker(infra.kafka, logger=None)
            consumer = EventConsumer(
                broker=broker, pool=pool, schema="idletest", projection=Arrivals(name, [topic])
            )
            await broker.start()
            consumer.start()
            instances.append((broker, consumer))

            async def joined(consumer: EventConsumer = consumer) -> bool:
                return consumer.joined

            await wait_for(joined, timeout=60)

        async def split() -> bool:
            return sorted(len(_assignment(c)) for _, c in instances) == [0, 1]

        await wait_for(split, timeout=60)
        assert all(consumer.joined for _, consumer in instances)
    finally:
        for broker, consumer in instances:
            await consumer.stop()
            await broker.stop()
        await pool.close()


def _assignment(consumer: EventConsumer) -> set[object]:
    kafka = consumer.subscriber.consumer
    return set(kafka.assignment()) if kafka is not None else set()
