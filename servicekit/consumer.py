"""Consumers that fold other services' events into a local table, exactly once in effect.

Each batch is applied in one PostgreSQL transaction together with its checkpoint (the next
offset per topic-partition) and the ids of the events applied, so a redelivered message or a
relay duplicate changes nothing. On partition assignment the consumer seeks to the checkpoint kept
in PostgreSQL, not to Kafka's committed offset. A message that cannot be parsed or handled goes
to the dead-letter topic (and the `dead_letters` table) with its reason and coordinates; an event
of a type or version this build does not know is skipped with a record in `skipped_events`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from faststream import AckPolicy, Context
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import UnknownEventType, load
from socialwork_contracts.envelope import CloudEvent

from servicekit.cloudevents import split_type
from servicekit.db import Connection
from servicekit.eventstore.schema import checked_schema
from servicekit.metrics import DEAD_LETTERS, EVENTS_APPLIED

log = structlog.get_logger()

# Connection-level failures are retried (the batch is redelivered), never dead-lettered.
TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


class Projection(Protocol):
    """What a consuming service supplies: how to apply one event, and how to forget everything."""

    @property
    def name(self) -> str:
        """Consumer group id and checkpoint name."""

    @property
    def topics(self) -> Sequence[str]:
        """The topics it folds."""

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        """Apply one event inside the batch transaction. Raise to dead-letter it."""

    async def reset(self, conn: Connection) -> None:
        """Delete everything this projection wrote (for a rebuild from offset 0)."""


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


async def _raw_decoder(message: StreamMessage[Any]) -> Any:
    # Parsing is ours: a malformed body must reach the handler to be dead-lettered.
    return message.body


class EventConsumer:
    def __init__(
        self,
        *,
        broker: KafkaBroker,
        pool: asyncpg.Pool,
        schema: str,
        projection: Projection,
        dead_letter_producer: AIOKafkaProducer,
        dead_letter_topic: str,
        max_records: int = 500,
        group_id: str | None = None,
    ) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.projection = projection
        self.dlq_producer = dead_letter_producer
        self.dlq_topic = dead_letter_topic
        self.stats = ConsumerStats()
        self.subscriber = broker.subscriber(
            *projection.topics,
            group_id=group_id or projection.name,
            batch=True,
            max_records=max_records,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            listener=_SeekToCheckpoint(self),
            decoder=_raw_decoder,
        )
        self.subscriber(self._handle)

    async def _handle(self, body: Any, message: KafkaMessage = Context("message")) -> None:  # noqa: B008 - FastStream's injection idiom
        records: tuple[ConsumerRecord[bytes, bytes], ...] = message.raw_message
        await self.apply_batch(records)

    async def apply_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply records (any topics/partitions) in one transaction with their checkpoints."""
        s, name = self.schema, self.projection.name
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT topic, partition, next_offset FROM {s}.consumer_offsets "
                "WHERE consumer = $1 FOR UPDATE",
                name,
            )
            next_offset = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
            touched: dict[tuple[str, int], int] = {}
            for record in records:
                tp = (record.topic, record.partition)
                if record.offset < next_offset.get(tp, 0):
                    self.stats.duplicates += 1
                    continue
                await self._apply_one(conn, record)
                next_offset[tp] = touched[tp] = record.offset + 1
            if touched:
                await conn.executemany(
                    f"INSERT INTO {s}.consumer_offsets (consumer, topic, partition, next_offset) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, topic, partition) DO UPDATE "
                    "SET next_offset = excluded.next_offset, updated_at = clock_timestamp()",
                    [(name, t, p, o) for (t, p), o in touched.items()],
                )
        self.stats.positions.update(touched)

    async def _apply_one(self, conn: Connection, record: ConsumerRecord[bytes, bytes]) -> None:
        s, name = self.schema, self.projection.name
        try:
            envelope = CloudEvent.model_validate_json(record.value or b"")
            event_type, version = split_type(envelope.type)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(conn, record, f"not a valid CloudEvent: {exc}")
            return
        seen = await conn.fetchval(
            f"SELECT true FROM {s}.processed_events WHERE consumer = $1 AND event_id = $2",
            name,
            envelope.id,
        )
        if seen:
            self.stats.duplicates += 1  # a relay republish: same event id, new offset
            return
        try:
            event = load(event_type, version, envelope.data)
        except UnknownEventType as exc:
            await conn.execute(
                f"INSERT INTO {s}.skipped_events (consumer, event_id, event_type, reason) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                name,
                envelope.id,
                envelope.type,
                str(exc),
            )
            await self._mark_processed(conn, envelope.id)
            self.stats.skipped += 1
            return
        except ValidationError as exc:
            await self._dead_letter(conn, record, f"data does not match {envelope.type}: {exc}")
            return
        try:
            # A savepoint: a failed apply leaves nothing behind, not even the processed mark,
            # so the dead letter can be re-driven once its cause is fixed.
            async with conn.transaction():
                await self.projection.apply(conn, envelope, event)
                await self._mark_processed(conn, envelope.id)
        except TRANSIENT:
            raise
        except Exception as exc:
            await self._dead_letter(conn, record, f"{type(exc).__name__}: {exc}")
            return
        self.stats.applied += 1
        EVENTS_APPLIED.labels(self.projection.name).inc()

    async def _mark_processed(self, conn: Connection, event_id: str) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.processed_events (consumer, event_id) VALUES ($1, $2)",
            self.projection.name,
            event_id,
        )

    async def _dead_letter(
        self, conn: Connection, record: ConsumerRecord[bytes, bytes], reason: str
    ) -> None:
        reason = reason[:2000]
        await conn.execute(
            f'INSERT INTO {self.schema}.dead_letters (consumer, topic, partition, "offset", key, '
            "value, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.projection.name,
            record.topic,
            record.partition,
            record.offset,
            record.key.decode(errors="replace") if record.key else None,
            record.value,
            reason,
        )
        # Header names are part of the public contract (socialwork_contracts.topics).
        headers = [
            ("dlq_consumer", self.projection.name.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_error", reason[:1000].encode()),
            ("dlq_failed_at", dt.datetime.now(dt.UTC).isoformat().encode()),
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq_")],
        ]
        # Awaited before the batch commits: if the commit then fails, a redelivery may
        # dead-letter the message twice, but it is never lost.
        await self.dlq_producer.send_and_wait(
            self.dlq_topic, value=record.value, key=record.key, headers=headers
        )
        self.stats.dead_lettered += 1
        DEAD_LETTERS.labels(self.projection.name).inc()
        log.warning(
            "consumer.dead_lettered",
            consumer=self.projection.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason[:200],
        )

    async def reset(self) -> None:
        """Forget everything applied and start again from offset 0 (a rebuild)."""
        s, name = self.schema, self.projection.name
        async with self.pool.acquire() as conn, conn.transaction():
            await self.projection.reset(conn)
            for table in ("consumer_offsets", "processed_events", "skipped_events"):
                await conn.execute(f"DELETE FROM {s}.{table} WHERE consumer = $1", name)
        consumer = self.subscriber.consumer
        if consumer is not None:
            assigned = consumer.assignment()
            if assigned:
                await consumer.seek_to_beginning(*assigned)
        self.stats = ConsumerStats()

    async def checkpoints(self) -> dict[tuple[str, int], int]:
        rows = await self.pool.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.consumer_offsets "
            "WHERE consumer = $1",
            self.projection.name,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


class _SeekToCheckpoint(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from PostgreSQL's checkpoint (the one written with the effects)."""

    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.owner.subscriber.consumer
        if consumer is None or not assigned:
            return
        saved = await self.owner.checkpoints()
        for tp in assigned:
            offset = saved.get((tp.topic, tp.partition))
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
