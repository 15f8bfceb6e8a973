"""The relay hands Kafka whole batches per partition (issue 12), with every record where a plain
`send` of its key would put it, and one stream's events in log order around a large record."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from socialwork_contracts.registry import AgencyProfileAmended

from servicekit.eventstore import EventStore, NewEvent
from servicekit.kafka_admin import ensure_topics
from servicekit.relay import OutboxRelay
from servicekit.relay_batches import LARGE_RECORD
from tests.conftest import Infra
from tests.integration.kafka_reader import read_until
from tests.support import metadata, staff_event

pytestmark = pytest.mark.infra
STORE_SCHEMA = "relaybatches"  # the `store` fixture's schema (tests/integration/conftest.py)


async def publish_all(store: EventStore, relay: OutboxRelay) -> int:
    published = 0
    async with store.pool.acquire() as conn:
        while sent := await relay.publish_batch(conn):
            published += sent
    return published


async def test_records_go_in_batches_where_a_plain_send_would_put_them(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    relayed, plain = (f"test.relay.{uuid.uuid4().hex[:8]}" for _ in range(2))
    await ensure_topics(infra.kafka, [(relayed, 6), (plain, 6)])
    keys = [f"k-{i}-{uuid.uuid4().hex[:6]}" for i in range(120)]
    for key in keys:
        await store.append(key, [staff_event(key, n) for n in (1, 2)], expected_version=0)
    sends: list[Any] = []
    send = producer.send

    async def counted(*args: Any, **kwargs: Any) -> Any:
        sends.append(args)
        return await send(*args, **kwargs)

    monkeypatch.setattr(producer, "send", counted)
    relay = OutboxRelay(store, producer, producer_name="registry", topic=relayed, batch_size=100)
    assert await publish_all(store, relay) == 240
    assert sends == []  # whole batches: not one `send` per record
    monkeypatch.undo()
    for key in keys:
        await producer.send_and_wait(plain, value=b"{}", key=key.encode())
    by_relay = await read_until(infra.kafka, relayed, lambda r: True, count=240)
    by_send = await read_until(infra.kafka, plain, lambda r: True, count=120)
    where = {r.key: r.partition for r in by_send}
    assert {(r.key, r.partition) for r in by_relay} == set(where.items())
    assert len(set(where.values())) == 6


async def test_one_streams_events_keep_log_order_around_a_large_record(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    large = AgencyProfileAmended(
        uscc="s-1", name="名" * (LARGE_RECORD // 2), priority=False, changed_fields=["name"]
    )  # over LARGE_RECORD in UTF-8, under the producer's request size
    await store.append("s-1", [staff_event("s-1", 1)], expected_version=0)
    await store.append("other", [staff_event("other", 1)], expected_version=0)
    await store.append("s-1", [NewEvent(large, metadata())], expected_version=1)
    await store.append("s-1", [staff_event("s-1", 3)], expected_version=2)
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic)
    assert await publish_all(store, relay) == 4
    records = await read_until(infra.kafka, topic, lambda r: r.key == b"s-1", count=3)
    in_partition_order = sorted(records, key=lambda r: r.offset)
    assert [json.loads(r.value)["streamversion"] for r in in_partition_order] == [1, 2, 3]
