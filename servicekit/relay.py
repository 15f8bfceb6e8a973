"""Transactional outbox relay: publishes what the store committed, in commit order, to Kafka.

The events table is the outbox. One relay per store publishes at a time (servicekit.leadership);
the others wait to take over. The published position is saved only after Kafka acknowledged the
batch, so a crash republishes at most one batch (consumers drop duplicates by event id) and never
loses one.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from servicekit.cloudevents import to_kafka_record
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.leadership import Leadership, still_held

log = structlog.get_logger()


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    # Idempotent producer: retries never duplicate or reorder within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        producer: AIOKafkaProducer,
        *,
        producer_name: str,
        topic: str,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        drain_seconds: float = 10.0,
    ) -> None:
        self.store = store
        self.producer = producer
        self.producer_name = producer_name
        self.topic = topic
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.drain_seconds = drain_seconds
        self.checkpoint_name = f"relay:{topic}"
        self._leadership = Leadership(
            store.pool, f"relay:{store.schema}", retry_seconds=poll_seconds
        )
        self.published_position = 0
        self._wake = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leadership.is_leader

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; survives lost database connections by retaking the lock."""

        async def relay(conn: Connection) -> None:
            await conn.add_listener(self.store.notify_channel, self._on_notify)
            try:
                await self._publish_until(stop, conn)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.store.notify_channel, self._on_notify)

        await self._leadership.run(stop, relay)

    async def _publish_until(self, stop: asyncio.Event, conn: Connection) -> None:
        log.info("relay.leading", topic=self.topic)
        self.published_position = await self.store.checkpoint(self.checkpoint_name)
        while not stop.is_set():
            still_held(conn, self._leadership.lock_name)
            self._wake.clear()  # before reading, so a commit during the read still wakes us
            try:
                published = await self.publish_batch()
            except KafkaError as exc:
                # Broker unreachable: nothing was checkpointed, so the batch is sent again.
                log.warning("relay.publish_failed", topic=self.topic, error=str(exc))
                published = 0
            if published == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        # Graceful stop: publish what was committed before letting go of the lock, so a
        # shutdown leaves nothing waiting (a crash would leave it for the next leader).
        deadline = asyncio.get_running_loop().time() + self.drain_seconds
        while asyncio.get_running_loop().time() < deadline and await self.publish_batch():
            pass

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish the next batch after the checkpoint; returns how many events were sent."""
        batch = await self.store.read_all(self.published_position, self.batch_size)
        if not batch:
            return 0
        deliveries = []
        for event in batch:
            key, value, headers = to_kafka_record(event, self.producer_name)
            deliveries.append(
                await self.producer.send(self.topic, value=value, key=key, headers=headers)
            )
        await asyncio.gather(*deliveries)
        self.published_position = batch[-1].position
        await self.store.save_checkpoint(self.checkpoint_name, self.published_position)
        log.debug("relay.published", count=len(batch), position=self.published_position)
        return len(batch)
