"""Outbox relay: one leader among replicas, and committed events published after a restart."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from socialwork_contracts.registry import AgencyProfileAmended

from servicekit.eventstore import START, EventStore, LogPosition, NewEvent
from servicekit.kafka_admin import ensure_topics
from servicekit.leadership import LOST_CONNECTION
from servicekit.relay import OutboxRelay
from tests.conftest import Infra
from tests.integration.flaky_producer import FlakyProducer
from tests.integration.kafka_reader import read_until
from tests.support import metadata, staff_event, wait_for

pytestmark = pytest.mark.infra
STORE_SCHEMA = "relaytest"  # the `store` fixture's schema (tests/integration/conftest.py)


async def test_events_committed_while_no_relay_ran_are_published_on_start(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    for i in range(12):
        await store.append(f"x-{i}", [staff_event(f"x-{i}")], expected_version=0)
    stop = asyncio.Event()
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, poll_seconds=0.1)
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await read_until(infra.kafka, topic, lambda r: True, count=12)
        assert sorted(json.loads(r.value)["position"] for r in records) == list(range(1, 13))
        # Saved after Kafka's acknowledgement reaches the relay, which a reader can precede.

        async def checkpointed() -> bool:
            return (await store.checkpoint(relay.checkpoint_name)).position == 12

        await wait_for(checkpointed)
        # Commits after the start are woken by NOTIFY and published too.
        await store.append("x-late", [staff_event("x-late")], expected_version=0)
        late = await read_until(infra.kafka, topic, lambda r: r.key == b"x-late", count=1)
        assert len(late) == 1
    finally:
        stop.set()
        await task


async def test_only_one_relay_publishes_and_another_takes_over(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    stops = [asyncio.Event(), asyncio.Event()]
    relays = [
        OutboxRelay(store, producer, producer_name="registry", topic=topic, poll_seconds=0.1)
        for _ in stops
    ]
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:
        await wait_for(lambda: _leaders(relays, 1))
        await store.append("y-1", [staff_event("y-1")], expected_version=0)
        await read_until(infra.kafka, topic, lambda r: True, count=1)
        assert sum(r.is_leader for r in relays) == 1
        leader = next(i for i, r in enumerate(relays) if r.is_leader)
        stops[leader].set()
        await tasks[leader]
        follower = relays[1 - leader]
        await wait_for(lambda: _leaders([follower], 1))
        await store.append("y-2", [staff_event("y-2")], expected_version=0)
        records = await read_until(infra.kafka, topic, lambda r: True, count=2)
        assert [r.key for r in records] == [b"y-1", b"y-2"], "the new leader re-sent or lost events"
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)


async def _leaders(relays: list[OutboxRelay], n: int) -> bool:
    return sum(r.is_leader for r in relays) == n


async def test_relay_survives_an_unreachable_broker(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    await store.append("z-1", [staff_event("z-1")], expected_version=0)
    flaky = FlakyProducer(producer, failures=3)
    stop = asyncio.Event()
    relay = OutboxRelay(store, flaky, producer_name="registry", topic=topic, poll_seconds=0.05)
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await read_until(infra.kafka, topic, lambda r: True, count=1)
        assert [r.key for r in records] == [b"z-1"]
        assert flaky.failures == 0
        assert not task.done(), "the relay stopped after the broker failed"
    finally:
        stop.set()
        await task


async def test_an_event_kafka_refuses_is_parked_and_the_relay_goes_on(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    """One oversized event used to stop the topic: the relay retried that batch forever."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    huge = AgencyProfileAmended(
        uscc="big-1", name="名" * 400_000, priority=False, changed_fields=["name"]
    )  # ~1.2 MB of UTF-8
    await store.append("big-1", [NewEvent(huge, metadata())], expected_version=0)
    await store.append("after-1", [staff_event("after-1")], expected_version=0)
    stop = asyncio.Event()
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, poll_seconds=0.05)
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await read_until(infra.kafka, topic, lambda r: True, count=1)
        assert [r.key for r in records] == [b"after-1"]
        parked = await store.pool.fetch("SELECT stream_id, reason FROM relaytest.parked_events")
        assert [r["stream_id"] for r in parked] == ["big-1"]
        assert "TooLarge" in parked[0]["reason"]
        assert not task.done()
    finally:
        stop.set()
        await task


async def test_a_deposed_leader_cannot_move_the_checkpoint(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    """The old relay saved its checkpoint on any pooled connection, unconditionally: a leader
    whose session was killed kept publishing and moved the checkpoint back (600 -> 500)."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    for i in range(10):
        await store.append(f"f-{i}", [staff_event(f"f-{i}")], expected_version=0)
    events = await store.read_all(START, 100)
    leader = OutboxRelay(store, producer, producer_name="registry", topic=topic, batch_size=100)
    zombie = OutboxRelay(store, producer, producer_name="registry", topic=topic, batch_size=5)
    async with store.pool.acquire() as new_conn, store.pool.acquire() as old_conn:
        assert await leader.publish_batch(new_conn) == 10
        # The zombie read before it was deposed: it stands at event 0 and publishes 1..5 again.
        assert await zombie.publish_batch(old_conn) == 5
        assert await store.checkpoint(leader.checkpoint_name) == events[-1].log_position
        # And once its session is gone, it cannot write at all.
        pid = await old_conn.fetchval("SELECT pg_backend_pid()")
        await new_conn.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(LOST_CONNECTION):
            await zombie.publish_batch(old_conn)
    assert await store.checkpoint(leader.checkpoint_name) == events[-1].log_position


async def test_advancing_a_checkpoint_never_moves_it_back(store: EventStore) -> None:
    async with store.pool.acquire() as conn:
        assert await store.advance_checkpoint(conn, "c", LogPosition(7, 600))
        assert not await store.advance_checkpoint(conn, "c", LogPosition(7, 500))
        assert not await store.advance_checkpoint(conn, "c", LogPosition(6, 900))
        assert await store.advance_checkpoint(conn, "c", LogPosition(8, 1))
    assert await store.checkpoint("c") == LogPosition(8, 1)


async def test_a_batch_whose_delivery_fails_is_sent_again_and_the_checkpoint_waits(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    """The checkpoint moves only past what Kafka acknowledged: a batch whose delivery failed is
    read and sent again, so every event is published (once here: the failed one never left)."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    for i in range(5):
        await store.append(f"d-{i}", [staff_event(f"d-{i}")], expected_version=0)
    # The first batch expires in the producer, unacknowledged: its future fails after the
    # hand-over (a refused connection raises from the hand-over: test above).
    failing = FlakyProducer(
        producer, 1, lambda: KafkaTimeoutError("the batch expired (injected)"), in_delivery=True
    )
    relay = OutboxRelay(store, failing, producer_name="registry", topic=topic, poll_seconds=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await read_until(infra.kafka, topic, lambda r: True, count=5)
        assert failing.failures == 0
        assert sorted(json.loads(r.value)["position"] for r in records) == [1, 2, 3, 4, 5]

        async def checkpointed() -> bool:
            return (await store.checkpoint(relay.checkpoint_name)).position == 5

        await wait_for(checkpointed)
    finally:
        stop.set()
        await task
