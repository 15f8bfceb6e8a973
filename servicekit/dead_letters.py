"""Publishes the dead letters consumers wrote to their table, after their transactions committed.

A consumer never talks to Kafka inside its batch transaction; it writes the dead letter beside its
effects, and this publisher (one leader per store, as the relay) sends it on to
`socialwork.<service>.deadletter` for whoever watches that topic, then marks it published.
A crash between the send and the mark sends it again (the topic is at-least-once).
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from servicekit.db import Connection
from servicekit.eventstore.schema import checked_schema
from servicekit.leadership import Leadership, still_held, wait

log = structlog.get_logger()
BATCH = 100


class DeadLetterPublisher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        schema: str,
        topic: str,
        poll_seconds: float = 1.0,
    ) -> None:
        self.schema = checked_schema(schema)
        self.producer = producer
        self.topic = topic
        self.poll_seconds = poll_seconds
        self._leadership = Leadership(
            pool, f"dead-letters:{self.schema}", retry_seconds=poll_seconds
        )
        self._broker_down = False

    async def run(self, stop: asyncio.Event) -> None:
        async def publish(conn: Connection) -> None:
            while not stop.is_set():
                still_held(conn, self._leadership.lock_name)
                try:
                    sent = await self.publish_batch(conn)
                except KafkaError as exc:
                    if not self._broker_down:
                        log.warning("dead_letters.broker_unavailable", error=str(exc))
                    self._broker_down = True
                    sent = 0
                else:
                    if self._broker_down:
                        log.info("dead_letters.broker_available")
                    self._broker_down = False
                if sent < BATCH:
                    await wait(stop, self.poll_seconds)

        await self._leadership.run(stop, publish)

    async def publish_batch(self, conn: Connection) -> int:
        rows = await conn.fetch(
            f'SELECT id, consumer, topic, partition, "offset", key, value, reason, recorded_at '
            f"FROM {self.schema}.dead_letters WHERE published_at IS NULL ORDER BY id LIMIT $1",
            BATCH,
        )
        for row in rows:
            # Header names are part of the public contract (socialwork_contracts.topics).
            headers = [
                ("dlq_consumer", row["consumer"].encode()),
                ("dlq_original_topic", row["topic"].encode()),
                ("dlq_original_partition", str(row["partition"]).encode()),
                ("dlq_original_offset", str(row["offset"]).encode()),
                ("dlq_error", row["reason"][:1000].encode()),
                ("dlq_failed_at", row["recorded_at"].isoformat().encode()),
            ]
            key = row["key"].encode() if row["key"] is not None else None
            try:
                await self.producer.send_and_wait(
                    self.topic, value=row["value"], key=key, headers=headers
                )
            except MessageSizeTooLargeError:
                # The record itself is kept in the table; the topic gets the coordinates.
                await self.producer.send_and_wait(self.topic, value=None, key=key, headers=headers)
        if rows:
            await conn.execute(
                f"UPDATE {self.schema}.dead_letters SET published_at = clock_timestamp() "
                "WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        return len(rows)
