"""Transactional outbox relay: publishes what the store committed, in commit order, to Kafka.

The events table is the outbox. One relay per store publishes at a time (servicekit.leadership);
the others wait to take over. The leader reads and checkpoints on the connection that holds its
lock, and the checkpoint only moves forward: a leader whose session was killed can no longer
write it, and a stale one cannot move it back. The checkpoint is saved only after Kafka
acknowledged the batch, so a crash republishes at most one batch (consumers drop what they have
seen) and never loses one. An event Kafka refuses for itself (too large) is parked with the
reason, counted, and the relay goes on. Each event is read as the pieces of its record
(servicekit.relay_records) and the records go to the producer as one batch per partition
(servicekit.relay_batches).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from asyncpg import Record

from servicekit.cloudevents import Envelopes
from servicekit.db import Connection
from servicekit.eventstore import START, EventStore, LogPosition
from servicekit.kafka_security import KafkaSecurity
from servicekit.leadership import Leadership, still_held, wait
from servicekit.metrics import PARKED_EVENTS, RELAY_BATCHES
from servicekit.relay_batches import PARTITIONER, REFUSED, Delivery, send_batches
from servicekit.relay_records import identity, log_position, read_pieces

log = structlog.get_logger()


def make_producer(bootstrap: str, security: KafkaSecurity | None = None) -> AIOKafkaProducer:
    # Idempotent producer: retries never duplicate or reorder within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **(security or KafkaSecurity()).client_options(),
        enable_idempotence=True,
        acks="all",
        partitioner=PARTITIONER,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


# While committed events wait behind an older transaction, how long at most between looks.
HELD_RECHECK_MAX_SECONDS = 0.04


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
        gather_seconds: float = 0.01,
    ) -> None:
        self.store = store
        self.producer = producer
        self.producer_name = producer_name
        self.topic = topic
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.drain_seconds = drain_seconds
        # After a batch that was not full, how long the commits that follow may gather before
        # the next read: each group commit wakes the relay, and a batch of a group or two cost
        # its reads, checkpoint and Kafka request for a handful of events (issue 12).
        self.gather_seconds = gather_seconds
        self.checkpoint_name = f"relay:{topic}"
        self._leadership = Leadership(
            store.pool, f"relay:{store.schema}", retry_seconds=poll_seconds
        )
        self.published = START
        self.store_id: str | None = None  # read from the store when leading
        self._wake = asyncio.Event()
        self._broker_down = False
        self._envelopes = Envelopes(producer_name)
        # (connection, read after, events): the next batch, read while Kafka acknowledged one.
        self._prefetched: tuple[Connection, LogPosition, list[Record]] | None = None

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
        self.published = await self.store.checkpoint(self.checkpoint_name, conn=conn)
        self.store_id = await self.store.installation_id()
        backoff = self.poll_seconds
        held = self.gather_seconds  # the wait for events behind an older transaction
        while not stop.is_set():
            still_held(conn, self._leadership.lock_name)
            self._wake.clear()  # before reading, so a commit during the read still wakes us
            try:
                published = await self.publish_batch(conn)
            except KafkaError as exc:
                # Broker unreachable: nothing was checkpointed, so the batch is sent again.
                self._broker_unavailable(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._broker_available()
            backoff = self.poll_seconds
            if published == self.batch_size:
                continue
            if await self.store.any_after(self.published, conn=conn):
                # Committed events wait behind an older transaction still running anywhere in
                # the database (a consumer's batch, another service's group): its end notifies
                # nobody, so look again soon (issue 12: the tail of visibility was this poll).
                # Steadily, not backing off to the poll: a doubling wait made an event held
                # 320 ms wait 630 ms, and the look is one EXISTS on the log's index.
                await wait(stop, held)
                held = min(held * 2, HELD_RECHECK_MAX_SECONDS, self.poll_seconds)
                continue
            held = self.gather_seconds
            if published == 0:
                await _woken(stop, self._wake, self.poll_seconds)
            await wait(stop, self.gather_seconds)  # a stop ends the wait at once
        # Graceful stop: publish what was committed before letting go of the lock, so a
        # shutdown leaves nothing waiting (a crash would leave it for the next leader).
        deadline = asyncio.get_running_loop().time() + self.drain_seconds
        with contextlib.suppress(KafkaError):
            while asyncio.get_running_loop().time() < deadline and await self.publish_batch(conn):
                pass

    def _broker_unavailable(self, exc: Exception) -> None:
        if not self._broker_down:  # once per outage, not once per retry
            log.warning("relay.broker_unavailable", topic=self.topic, error=str(exc))
        self._broker_down = True

    def _broker_available(self) -> None:
        if self._broker_down:
            log.info("relay.broker_available", topic=self.topic)
        self._broker_down = False

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self, conn: Connection) -> int:
        """Publish the next batch after the checkpoint; returns how many events were handled.

        `conn` must hold the relay's leadership: the batch is read and the checkpoint moved on it.
        While Kafka acknowledges this batch, the next one is read on the same connection (issue
        12): rows below the oldest running transaction never change, so that read is exactly
        what a read after the checkpoint would return, and the checkpoint still moves only
        after its own batch was acknowledged.
        """
        batch = self._take_prefetched(conn)
        if batch is None:
            batch = await read_pieces(self.store, self.published, self.batch_size, conn=conn)
        if not batch:
            return 0
        deliveries = await self._send(batch)
        last = log_position(batch[-1])
        # A batch that was not full had read the whole log: the next read waits for more.
        full = len(batch) == self.batch_size
        ahead = await read_pieces(self.store, last, self.batch_size, conn=conn) if full else []
        outcomes = await asyncio.gather(*(d for _, d in deliveries), return_exceptions=True)
        for (rows, _), outcome in zip(deliveries, outcomes, strict=True):
            if isinstance(outcome, REFUSED):
                for row in rows:
                    await self._park(conn, identity(row), outcome)
            elif isinstance(outcome, BaseException):
                raise outcome  # the broker, not the record: send the batch again
        if not await self.store.advance_checkpoint(conn, self.checkpoint_name, last):
            # Someone published past us (we were deposed and have come back): continue from
            # the checkpoint, never move it back.
            self.published = await self.store.checkpoint(self.checkpoint_name, conn=conn)
            log.warning("relay.checkpoint_ahead", topic=self.topic, position=self.published)
            return len(batch)
        self.published = last
        RELAY_BATCHES.labels(self.topic).inc()
        if ahead:
            self._prefetched = (conn, last, ahead)
        log.debug("relay.published", count=len(batch), position=last.position)
        return len(batch)

    def _take_prefetched(self, conn: Connection) -> list[Record] | None:
        """The batch read ahead, if it follows the checkpoint and was read on this connection."""
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is None:
            return None
        on, after, batch = prefetched
        return batch if on is conn and after == self.published else None

    async def _send(self, batch: list[Record]) -> list[Delivery]:
        if self._envelopes.store_id != self.store_id:
            self._envelopes = Envelopes(self.producer_name, self.store_id)
        return await send_batches(self.producer, self.topic, batch, self._envelopes.record)

    async def _park(
        self, conn: Connection, event: tuple[int, str, str], exc: BaseException
    ) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        await self.store.park(conn, event, self.topic, reason)
        PARKED_EVENTS.labels(self.topic).inc()
        position, _, stream_id = event
        log.error(
            "relay.event_parked",
            topic=self.topic,
            position=position,
            stream_id=stream_id,
            reason=reason,
        )


async def _woken(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait up to `seconds` for a commit's notification, or a stop: a shutdown must not wait
    for the poll."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
