"""Consumers that fold other services' events into a local table, exactly once in effect.

Each batch is applied in one PostgreSQL transaction together with its checkpoint (the next
offset per topic-partition, locked per partition) and, per stream, the last version applied
(read for all the batch's streams in one statement once its partitions are locked, written for
those it advanced in one before its checkpoint: not a round trip each per record). A
consumer expects the next version of each stream: what it has seen is dropped, what comes early
is parked and applied when the gap closes. The batch's events are applied together, after its
records were sorted out (in one statement each where the projection has a form for many,
`AppliesTogether`); if a statement fails, the batch's transaction is rolled back and the batch
runs again with every record alone in its own savepoint, so the one at fault is refused alone
(as servicekit.group_commit does for commands). On assignment the consumer seeks to the
checkpoint kept in PostgreSQL, not to Kafka's committed offset, and a record past the checkpoint
sends it back.

Nothing a record holds can stop a partition: a record that cannot be parsed, loaded or applied
is written to `dead_letters` in the same transaction (published to the dead-letter topic
afterwards by servicekit.dead_letters: no Kafka I/O inside a transaction) with its reason; an
event of a type this build does not know is skipped with a record in `skipped_events`. Transient
database errors are retried with backoff, per record and then per batch.

A rebuild bumps the consumer's epoch in PostgreSQL; every instance compares it before each
batch and polls it, so all of them rewind together.

The loop is ours, not FastStream's (the broker makes, starts and stops the Kafka client): a
fetch that brings records hands them over at once, and an idle consumer waits in the fetch,
never in a sleep after it (FastStream's batch loop slept after every empty wait, and a record
arriving meanwhile waited for the sleep). Under a steady trickle, though, a batch starts at most
once per `batch_interval` (CONSUMER_BATCH_INTERVAL_MS): records fetched sooner join the next one
(`_gather`). An instance is ready once its client has joined its group (`joined`), an empty
assignment included.

Kafka's group offsets are only a copy for lag tools, refreshed on the client's timer
(`offset_commit_ms`), never after each batch: that was a broker round trip, and a write to
`__consumer_offsets`, per batch of every consumer (the largest part of the broker's CPU per
command), and it held the next batch back. A batch that still fails after its retries sends
the consumer back to its first offsets itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field, fields
from typing import Protocol, runtime_checkable

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import ConsumerStoppedError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.db import Connection
from servicekit.eventstore import StaleTransaction
from servicekit.eventstore.schema import checked_schema
from servicekit.kafka_records import Delivery, Received, Unknown, build_parser, parse
from servicekit.kafka_records import Refused as Refused  # part of the consumer's answers
from servicekit.leadership import wait
from servicekit.locks import lock_key
from servicekit.metrics import (
    CONSUMER_RETRIES,
    DEAD_LETTERS,
    EVENTS_APPLIED,
    OFFSET_GAPS,
    PARKED_RECORDS,
)

log = structlog.get_logger()

# The connection or the transaction's place in the log is lost: the whole batch runs again.
RETRY_BATCH = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, StaleTransaction)
# One statement lost a race (deadlock, serialization failure, lock timeout): run the record again.
RETRY_RECORD = (asyncpg.TransactionRollbackError, asyncpg.LockNotAvailableError)
RECORD_ATTEMPTS = 4
BATCH_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 5.0
EPOCH_POLL_SECONDS = 1.0
# How long an idle consumer's fetch waits before it asks again. A fetch returns as soon as any
# record has come, so this bounds only how often an idle loop wakes (issue 12: FastStream's batch
# loop slept as long as it had waited after each empty wait, 50 ms, and a record that came
# meanwhile waited for the sleep, at every consumer hop after an idle moment).
IDLE_WAIT_MS = 1000
# After the Kafka client raised (an authorization or coordination error), before it asks again.
KAFKA_ERROR_PAUSE_SECONDS = 1.0


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


@runtime_checkable
class AppliesTogether(Protocol):
    """A projection with a form for many events (issue 12: a few statements a batch instead of
    a few a record); `apply` stays its form for one, used when a record runs alone."""

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        """Apply the events in their order. Raises if a statement failed: the consumer then
        undoes all of them and applies each alone."""


class _TogetherFailed(Exception):
    """A statement of a batch applied together failed: the batch runs again record by record."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


Applied = tuple[CloudEvent, DomainEvent]


def runs(
    events: Sequence[Applied], key: Callable[[DomainEvent], Hashable | None]
) -> Iterator[tuple[bool, list[Applied]]]:
    """`events` in order, as runs of consecutive events with a `key` (one statement for the
    run: True) and single events without one (False). A run ends where a key comes again, so a
    many-row statement never meets one row twice."""
    run: list[Applied] = []
    keys: set[Hashable] = set()
    for applied in events:
        k = key(applied[1])
        if run and (k is None or k in keys):
            yield True, run
            run, keys = [], set()
        if k is None:
            yield False, [applied]
        else:
            run.append(applied)
            keys.add(k)
    if run:
        yield True, run


async def apply_runs(
    conn: Connection,
    events: Sequence[Applied],
    key: Callable[[DomainEvent], Hashable | None],
    many: Callable[[Connection, list[Applied]], Awaitable[None]],
    one: Callable[[Connection, CloudEvent, DomainEvent], Awaitable[None]],
) -> None:
    """A projection's `apply_together` from a form for a run (`many`) and its `apply` (`one`),
    in the events' order (`runs`)."""
    for together, run in runs(events, key):
        if together:
            await many(conn, run)
        else:
            await one(conn, *run[0])


# What became of one record: "applied", "skipped", "duplicate", "parked", or a refusal.
Outcome = str | Refused


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    parked: int = 0
    dead_lettered: int = 0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


# A stream as a consumer keys it: (topic, store_id, stream_id).
StreamKey = tuple[str, str, str]


@dataclass
class _Batch:
    """What one pass over a batch knows once: whether any record of the consumer waits parked
    (nearly never), so an applied record looks for a parked successor only then; each record
    parsed once; and the last (version, event_id) of its streams, read in one statement at the
    start (None: no row yet). Records read and advance `streams`; the streams in `advanced` are
    written in one statement at the end, in the batch's transaction.

    `together` collects the events to apply together at the pass's end (None: each is applied
    alone, in a savepoint of its own, as its record comes). `tally` is what became of the
    records, added to the consumer's stats once the pass stands: a pass rolled back counts
    nothing. A rerun or a retried batch starts from a new one."""

    parked: bool
    received: dict[Delivery, Received | Refused] = field(default_factory=dict)
    streams: dict[StreamKey, tuple[int, str] | None] = field(default_factory=dict)
    advanced: set[StreamKey] = field(default_factory=set)
    together: list[tuple[CloudEvent, DomainEvent]] | None = None
    tally: ConsumerStats = field(default_factory=ConsumerStats)


class DeadLetterNotFound(Exception):
    pass


class AlreadyRedriven(Exception):
    pass


class EventConsumer:
    def __init__(
        self,
        *,
        broker: KafkaBroker,
        pool: asyncpg.Pool,
        schema: str,
        projection: Projection,
        max_records: int = 500,
        group_id: str | None = None,
        fetch_max_wait_ms: int = 500,
        fetch_min_bytes: int = 1,
        offset_commit_ms: int = 5000,
        batch_interval_ms: int = 0,
    ) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.projection = projection
        self.stats = ConsumerStats()
        self.epoch: int | None = None
        # A gap seen once sends the consumer back; the same gap seen again is real (retention).
        self._last_gap: dict[tuple[str, int], tuple[int, int]] = {}
        self.max_records = max_records
        build_parser()
        # The least time from one batch's start to the next's (settings.py:
        # CONSUMER_BATCH_INTERVAL_MS); records fetched sooner join the next batch.
        self.batch_interval = batch_interval_ms / 1000
        self._batch_started = -math.inf  # the loop's clock
        # Whether this instance's Kafka client has joined its group (its assignment sought to
        # the checkpoints, an empty one included) since it was last stopped: readiness.
        self.joined = False
        self._loop: asyncio.Task[None] | None = None
        # The broker makes, starts and stops the Kafka client (its settings, credentials and
        # rebalance logging); no handler: the batch loop is ours (`start`).
        self.subscriber = broker.subscriber(
            *projection.topics,
            group_id=group_id or projection.name,
            auto_offset_reset="earliest",
            # A fetch returns once `fetch_min_bytes` are there (by default: any record), or
            # after `fetch_max_wait_ms`.
            fetch_max_wait_ms=fetch_max_wait_ms,
            fetch_min_bytes=fetch_min_bytes,
            # ACK_FIRST is FastStream's name for "the client commits on its timer", not per batch.
            ack_policy=AckPolicy.ACK_FIRST,
            auto_commit_interval_ms=offset_commit_ms,
            listener=_SeekToCheckpoint(self),
        )

    @property
    def name(self) -> str:
        return self.projection.name

    # -- the loop -----------------------------------------------------------------------------

    def start(self) -> None:
        """Consume in a task of its own, once the broker has started (its Kafka client exists).
        The task ends when the broker stops that client, or at `stop`."""
        kafka = self.subscriber.consumer
        if kafka is None:
            raise RuntimeError(f"{self.name}: start the broker before its consumers")
        self._loop = asyncio.create_task(self._batches(kafka), name=f"consumer {self.name}")

    async def stop(self) -> None:
        """End the loop now: a batch in flight is rolled back and delivered again later."""
        self.joined = False  # a later start joins again (its listener may run before `start`)
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    async def _batches(self, kafka: AIOKafkaConsumer) -> None:
        """Apply each batch as soon as a fetch brings it; never sleep after an empty wait."""
        while True:
            try:
                fetched = await kafka.getmany(timeout_ms=IDLE_WAIT_MS, max_records=self.max_records)
            except ConsumerStoppedError:
                return
            except Exception as exc:  # the loop must outlive it, as FastStream's did
                log.warning("consumer.fetch_failed", consumer=self.name, error=repr(exc)[:300])
                await asyncio.sleep(KAFKA_ERROR_PAUSE_SECONDS)
                continue
            if not fetched:
                continue
            records = [r for records in fetched.values() for r in records]
            try:
                await self._gather(kafka, records)
            except ConsumerStoppedError:
                return
            self._batch_started = asyncio.get_running_loop().time()
            try:
                await self.apply_batch(records)
            except Exception:
                # Its records come again: `apply_batch` sought back, or the next batch's gap does.
                log.exception("consumer.batch_failed", consumer=self.name)

    async def _gather(
        self, kafka: AIOKafkaConsumer, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Add the records fetched until `batch_interval` has passed since the last batch
        began, or the batch is full. A batch is a transaction of a dozen statements whatever
        its size: at 50 live events a second, batches of one or two took a quarter of the
        reporting service's loop (issue 12). After a quiet moment, the first record goes at
        once."""
        loop = asyncio.get_running_loop()
        until = self._batch_started + self.batch_interval
        while len(records) < self.max_records and (left := until - loop.time()) > 0:
            try:
                fetched = await kafka.getmany(
                    timeout_ms=math.ceil(left * 1000), max_records=self.max_records - len(records)
                )
            except ConsumerStoppedError:
                raise
            except Exception as exc:  # what was fetched is applied; the loop's fetch reports it
                log.warning("consumer.gather_failed", consumer=self.name, error=repr(exc)[:300])
                return
            records.extend(r for got in fetched.values() for r in got)

    # -- batches ----------------------------------------------------------------------------

    async def apply_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply records (any topics/partitions) in one transaction with their checkpoints."""
        deliveries = [Delivery.of(r) for r in records]
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                seeks = await self._apply_once(deliveries)
            except RETRY_BATCH as exc:
                if attempt == BATCH_ATTEMPTS:
                    self._seek(_firsts(deliveries))  # delivered again, never skipped
                    raise
                CONSUMER_RETRIES.labels(self.name).inc()
                log.warning("consumer.batch_retry", consumer=self.name, error=repr(exc)[:300])
                await asyncio.sleep(_backoff(attempt))
                continue
            self._seek(seeks)
            return

    async def _apply_once(self, deliveries: Sequence[Delivery]) -> dict[tuple[str, int], int]:
        """One attempt at the batch; returns the partitions to rewind (after the commit).

        Its events applied together first; if a statement of that fails, the transaction is
        rolled back and the batch runs again with each record alone in a savepoint of its own,
        so the one at fault is refused by itself (no savepoint for the batch: a round trip
        every batch paid for a failure that seldom comes)."""
        by_partition: dict[tuple[str, int], list[Delivery]] = {}
        for d in deliveries:
            by_partition.setdefault((d.topic, d.partition), []).append(d)
        parsed = {d: parse(d) for d in deliveries}  # each record once: `handle` reads it here
        try:
            return await self._attempt(by_partition, parsed, together=True)
        except _TogetherFailed as failed:
            log.info("consumer.batch_rerun_alone", consumer=self.name, error=failed.error)
            return await self._attempt(by_partition, parsed, together=False)

    async def _attempt(
        self,
        by_partition: dict[tuple[str, int], list[Delivery]],
        parsed: dict[Delivery, Received | Refused],
        *,
        together: bool,
    ) -> dict[tuple[str, int], int]:
        """One transaction over the batch."""
        async with self._gaps_kept_if_failed(), self.pool.acquire() as conn, conn.transaction():
            # Locks first, then the reads they guard: no write yet, so no transaction id until
            # the batch's first write (`hold_partitions`).
            await hold_partitions(conn, self.schema, self.name, by_partition, epoch=True)
            epoch, expected, parked = await self._positions(conn, by_partition)
            if self._epoch_moved(epoch):
                return expected  # a reset: every partition from its saved offset (0)
            runs, seeks, seen = self._runs(by_partition, expected)
            streams = await self._read_streams(conn, parsed)
            batch = _Batch(parked, parsed, streams, together=[] if together else None)
            try:
                await self._pass(conn, runs, batch)
            except RETRY_BATCH:
                raise
            except Exception as exc:
                if not together or conn.is_closed():
                    raise  # alone, each record's own error was its answer; or the link is gone
                raise _TogetherFailed(repr(exc)[:300]) from exc  # rolls the transaction back
            touched = {tp: run[-1].offset + 1 for tp, run in runs.items() if run}
            await self._save(conn, batch, touched)
        batch.tally.duplicates += seen
        self._count(batch.tally)
        self.stats.positions.update(touched)
        return seeks

    @contextlib.asynccontextmanager
    async def _gaps_kept_if_failed(self) -> AsyncIterator[None]:
        """A gap counts as met only by an attempt that committed: met again by the rerun of one
        that failed (a lost connection, a failed together-apply, its commit), it would be taken
        for the log's own and what precedes it skipped."""
        gaps = dict(self._last_gap)
        try:
            yield
        except BaseException:
            self._last_gap = gaps
            raise

    def _runs(
        self,
        by_partition: dict[tuple[str, int], list[Delivery]],
        expected: dict[tuple[str, int], int],
    ) -> tuple[dict[tuple[str, int], list[Delivery]], dict[tuple[str, int], int], int]:
        """Per partition, the records to handle (from its checkpoint on, up to a gap); the
        partitions to rewind; how many records were seen before (redelivered after a rebalance
        or a retry). Decided once per attempt: a rerun handles the same records."""
        runs: dict[tuple[str, int], list[Delivery]] = {}
        seeks: dict[tuple[str, int], int] = {}
        seen = 0
        for tp, received in sorted(by_partition.items()):
            next_offset = expected[tp]
            run = runs[tp] = []
            for delivery in received:
                if delivery.offset < next_offset:
                    seen += 1
                    continue
                if delivery.offset > next_offset and self._go_back(tp, next_offset, delivery):
                    seeks[tp] = next_offset
                    break
                run.append(delivery)
                next_offset = delivery.offset + 1
        return runs, seeks, seen

    async def _pass(
        self, conn: Connection, runs: dict[tuple[str, int], list[Delivery]], batch: _Batch
    ) -> None:
        """Handle every record in order; then, in the first pass, apply their events together."""
        for run in runs.values():
            for delivery in run:
                await self._consume(conn, delivery, batch)
        events = batch.together
        if not events:
            return
        if isinstance(self.projection, AppliesTogether):
            await self.projection.apply_together(conn, events)
        else:  # one after another, with no savepoint each
            for envelope, event in events:
                await self.projection.apply(conn, envelope, event)
        batch.tally.applied += len(events)

    def _count(self, tally: ConsumerStats) -> None:
        """What a committed pass did, into the stats and metrics."""
        for f in fields(ConsumerStats):
            if f.name != "positions":
                setattr(self.stats, f.name, getattr(self.stats, f.name) + getattr(tally, f.name))
        EVENTS_APPLIED.labels(self.name).inc(tally.applied)
        PARKED_RECORDS.labels(self.name).inc(tally.parked)
        DEAD_LETTERS.labels(self.name).inc(tally.dead_lettered)

    def _go_back(self, tp: tuple[str, int], expected: int, delivery: Delivery) -> bool:
        """A record past the checkpoint: rewind once; a gap met twice is in the log itself."""
        gap = (expected, delivery.offset)
        if self._last_gap.get(tp) == gap:
            log.warning("consumer.offset_gap_accepted", consumer=self.name, tp=tp, gap=gap)
            return False
        self._last_gap[tp] = gap
        OFFSET_GAPS.labels(self.name).inc()
        log.warning("consumer.offset_gap", consumer=self.name, tp=tp, gap=gap)
        return True

    async def _positions(
        self, conn: Connection, by_partition: dict[tuple[str, int], list[Delivery]]
    ) -> tuple[int, dict[tuple[str, int], int], bool]:
        """The consumer's epoch, this batch's checkpoints and whether it has parked records,
        read under their locks in one statement; missing rows are made at epoch 0 and offset 0.
        Offset 0, not the first offset received: a batch handled in memory but never committed
        (lost with the database) leaves the next batch past a partition's start, and that gap
        must rewind it. Where retention removed the start, the same gap comes twice
        (`_go_back`)."""
        tps = sorted(by_partition)
        topics, partitions = [t for t, _ in tps], [p for _, p in tps]
        s = self.schema
        rows = await conn.fetch(
            f"SELECT e.epoch, e.parked, o.topic, o.partition, o.next_offset "
            f"FROM (SELECT max(epoch) AS epoch, EXISTS (SELECT 1 FROM {s}.parked_records "
            f"WHERE consumer = $1) AS parked FROM {s}.consumer_epochs WHERE consumer = $1) e "
            f"LEFT JOIN {s}.consumer_offsets o ON o.consumer = $1 AND (o.topic, o.partition) IN "
            "(SELECT * FROM unnest($2::text[], $3::int[]))",
            self.name,
            topics,
            partitions,
        )
        epoch: int | None = rows[0]["epoch"]  # the aggregate's one row
        if epoch is None:  # the consumer's first batch: a concurrent one may make it too
            await conn.execute(
                f"INSERT INTO {s}.consumer_epochs (consumer, epoch) VALUES ($1, 0) "
                "ON CONFLICT DO NOTHING",
                self.name,
            )
            epoch = 0  # a reset (the only other writer) waits for this batch's shared hold
        saved = {(r["topic"], r["partition"]): r["next_offset"] for r in rows if r["topic"]}
        if len(saved) < len(tps):  # only this batch, holding the partitions, makes their rows
            await conn.execute(
                f"INSERT INTO {s}.consumer_offsets (consumer, topic, partition, next_offset) "
                "SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) "
                "AS x(t, p) ON CONFLICT DO NOTHING",
                self.name,
                topics,
                partitions,
            )
        return epoch, {tp: saved.get(tp, 0) for tp in tps}, rows[0]["parked"]

    async def _read_streams(
        self, conn: Connection, received: dict[Delivery, Received | Refused]
    ) -> dict[StreamKey, tuple[int, str] | None]:
        """The last (version, event_id) of every stream the batch's records belong to, in one
        statement (not one per record); None for a stream with no row yet."""
        streams: dict[StreamKey, tuple[int, str] | None] = {}
        for delivery, parsed in received.items():
            if not isinstance(parsed, Refused):
                envelope = parsed.envelope
                streams[(delivery.topic, envelope.storeid or "", envelope.streamid)] = None
        if not streams:
            return streams
        keys = sorted(streams)
        # One look-up by the key per stream: as `IN (SELECT * FROM unnest(…))`, the generic
        # plan PostgreSQL caches after five runs scanned every stream row of the consumer.
        rows = await conn.fetch(
            "SELECT w.topic, w.store_id, w.stream_id, c.version, c.event_id "
            "FROM unnest($2::text[], $3::text[], $4::text[]) AS w(topic, store_id, stream_id) "
            "CROSS JOIN LATERAL (SELECT version, event_id "
            f"FROM {self.schema}.consumer_streams s WHERE s.consumer = $1 "
            "AND s.topic = w.topic AND s.store_id = w.store_id AND s.stream_id = w.stream_id "
            "LIMIT 1) c",
            self.name,
            *_columns(keys),
        )
        for r in rows:
            streams[(r["topic"], r["store_id"], r["stream_id"])] = (r["version"], r["event_id"])
        return streams

    async def _save(
        self, conn: Connection, batch: _Batch, touched: dict[tuple[str, int], int]
    ) -> None:
        """Every stream the batch advanced and every partition's next offset, in one statement
        (in the batch's transaction: effects, stream versions and offsets commit together)."""
        keys: list[StreamKey] = []
        versions: list[int] = []
        event_ids: list[str] = []
        for key in sorted(batch.advanced):
            last = batch.streams[key]
            if last is not None:  # always: an advanced stream holds what advanced it
                keys.append(key)
                versions.append(last[0])
                event_ids.append(last[1])
        if not keys and not touched:
            return
        tps = sorted(touched)
        s = self.schema
        offsets = (
            f"UPDATE {s}.consumer_offsets AS o SET next_offset = x.n, "
            "updated_at = clock_timestamp() "
            "FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, n) "
            "WHERE o.consumer = $1 AND o.topic = x.t AND o.partition = x.p"
        )
        touched_columns = [t for t, _ in tps], [p for _, p in tps], [touched[tp] for tp in tps]
        if not keys:  # nothing advanced (a batch seen before): the offsets alone
            await conn.execute(offsets, self.name, *touched_columns)
            return
        await conn.execute(
            f"WITH streams AS (INSERT INTO {s}.consumer_streams AS s (consumer, topic, store_id, "
            "stream_id, version, event_id) "
            "SELECT $1, t, st, sid, v, e FROM unnest($5::text[], $6::text[], $7::text[], "
            "$8::int[], $9::text[]) AS x(t, st, sid, v, e) "
            "ON CONFLICT (consumer, topic, store_id, stream_id) DO UPDATE "
            f"SET version = excluded.version, event_id = excluded.event_id) {offsets}",
            self.name,
            *touched_columns,
            *_columns(keys),
            versions,
            event_ids,
        )

    def _seek(self, seeks: dict[tuple[str, int], int]) -> None:
        consumer = self.subscriber.consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        for (topic, partition), offset in seeks.items():
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                consumer.seek(tp, offset)

    # -- one record ---------------------------------------------------------------------------

    async def _consume(self, conn: Connection, delivery: Delivery, batch: _Batch) -> Outcome:
        """Handle one record from the broker: its outcome, a refusal dead-lettered."""
        outcome = await self.handle(conn, delivery, batch)
        if isinstance(outcome, Refused):
            await self._dead_letter(conn, delivery, outcome.reason, batch)
        return outcome

    async def handle(self, conn: Connection, delivery: Delivery, batch: _Batch) -> Outcome:
        """Apply one record in stream order: drop what was seen, park what is early. The
        stream's last version is the batch's (read once, written at its end)."""
        received = batch.received.get(delivery)
        if received is None:
            received = parse(delivery)
        if isinstance(received, Refused):
            return received
        envelope = received.envelope
        last = await self._last(conn, delivery.topic, envelope, batch)
        version = last[0] if last is not None else 0
        if envelope.streamversion <= version:
            if (
                last is not None
                and envelope.streamversion == version != 0
                and envelope.id != last[1]
            ):
                return await self._park(
                    conn, delivery, envelope, "a different event holds it", batch
                )
            batch.tally.duplicates += 1  # a republished batch: seen before
            return "duplicate"
        if envelope.streamversion > version + 1:
            why = f"expected version {version + 1}"
            return await self._park(conn, delivery, envelope, why, batch)
        outcome = await self._apply(conn, received, batch)
        if isinstance(outcome, Refused):
            return outcome
        self._advance(delivery.topic, envelope, batch)
        if batch.parked:
            await self._unpark(conn, delivery.topic, envelope, batch)
        return outcome

    async def _apply(self, conn: Connection, received: Received, batch: _Batch) -> Outcome:
        envelope, event = received.envelope, received.event
        if isinstance(event, Refused):
            return event
        if isinstance(event, Unknown):
            await conn.execute(
                f"INSERT INTO {self.schema}.skipped_events (consumer, event_id, event_type, "
                "reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                self.name,
                envelope.id,
                envelope.type,
                event.reason,
            )
            batch.tally.skipped += 1
            return "skipped"
        if batch.together is not None:
            batch.together.append((envelope, event))  # applied at the pass's end
            return "applied"
        return await self._apply_alone(conn, envelope, event, batch)

    async def _apply_alone(
        self, conn: Connection, envelope: CloudEvent, event: DomainEvent, batch: _Batch
    ) -> Outcome:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                # A savepoint: a failed apply leaves nothing behind, and the batch goes on.
                async with conn.transaction():
                    await self.projection.apply(conn, envelope, event)
            except RETRY_BATCH:
                raise
            except RETRY_RECORD as exc:
                CONSUMER_RETRIES.labels(self.name).inc()
                if attempt == RECORD_ATTEMPTS:
                    return Refused(f"gave up after {attempt} attempts: {type(exc).__name__}")
                await asyncio.sleep(_backoff(attempt))
                continue
            except Exception as exc:
                return Refused(f"{type(exc).__name__}: {exc}")
            batch.tally.applied += 1
            return "applied"
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    async def _last(
        self, conn: Connection, topic: str, envelope: CloudEvent, batch: _Batch
    ) -> tuple[int, str] | None:
        """The stream's last applied (version, event_id), None before its first."""
        key = (topic, envelope.storeid or "", envelope.streamid)
        if key in batch.streams:
            return batch.streams[key]
        # A re-drive's stream, or one the batch did not read ahead (none expected: a parked
        # record belongs to a stream of the record that unparks it).
        row = await conn.fetchrow(
            f"SELECT version, event_id FROM {self.schema}.consumer_streams "
            "WHERE consumer = $1 AND topic = $2 AND store_id = $3 AND stream_id = $4",
            self.name,
            *key,
        )
        last = batch.streams[key] = (row["version"], row["event_id"]) if row is not None else None
        return last

    def _advance(self, topic: str, envelope: CloudEvent, batch: _Batch) -> None:
        """Written with the batch's other streams at its end (`_save`)."""
        key = (topic, envelope.storeid or "", envelope.streamid)
        batch.streams[key] = (envelope.streamversion, envelope.id)
        batch.advanced.add(key)

    async def _park(
        self,
        conn: Connection,
        delivery: Delivery,
        envelope: CloudEvent,
        why: str,
        batch: _Batch,
    ) -> Outcome:
        reason = f"version {envelope.streamversion} of {envelope.streamid} out of order: {why}"
        await conn.execute(
            f'INSERT INTO {self.schema}.parked_records (consumer, topic, partition, "offset", '
            "store_id, stream_id, stream_version, key, value, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            self.name,
            delivery.topic,
            delivery.partition,
            delivery.offset,
            envelope.storeid or "",
            envelope.streamid,
            envelope.streamversion,
            delivery.key,
            delivery.value,
            reason,
        )
        batch.parked = True  # a later record of this batch may be its predecessor
        batch.tally.parked += 1
        log.warning("consumer.parked", consumer=self.name, reason=reason)
        return "parked"

    async def _unpark(
        self, conn: Connection, topic: str, envelope: CloudEvent, batch: _Batch
    ) -> None:
        """The stream moved on: apply the record parked for its next version, if any."""
        row = await conn.fetchrow(
            f"DELETE FROM {self.schema}.parked_records WHERE id = (SELECT id FROM "
            f"{self.schema}.parked_records WHERE consumer = $1 AND topic = $2 AND store_id = $3 "
            "AND stream_id = $4 AND stream_version = $5 ORDER BY id LIMIT 1) "
            'RETURNING topic, partition, "offset", key, value',
            self.name,
            topic,
            envelope.storeid or "",
            envelope.streamid,
            envelope.streamversion + 1,
        )
        if row is not None:
            await self._consume(conn, Delivery(**dict(row)), batch)

    async def _dead_letter(
        self, conn: Connection, delivery: Delivery, reason: str, batch: _Batch
    ) -> None:
        reason = reason[:2000]
        await conn.execute(
            f'INSERT INTO {self.schema}.dead_letters (consumer, topic, partition, "offset", key, '
            "value, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.name,
            delivery.topic,
            delivery.partition,
            delivery.offset,
            delivery.key.decode(errors="replace") if delivery.key else None,
            delivery.value,
            reason,
        )
        batch.tally.dead_lettered += 1
        log.warning(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            reason=reason[:200],
        )

    # -- operator actions ---------------------------------------------------------------------

    async def redrive(self, letter_id: int) -> Outcome:
        """Deliver one dead letter again to this consumer (never to the shared log).

        Refused for a letter already re-driven successfully; a failure is recorded on the
        letter, which stays re-drivable once the cause is fixed.
        """
        s = self.schema
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f'SELECT topic, partition, "offset", key, value, redrive_outcome '
                f"FROM {s}.dead_letters WHERE id = $1 AND consumer = $2 FOR UPDATE",
                letter_id,
                self.name,
            )
            if row is None:
                raise DeadLetterNotFound(letter_id)
            if row["redrive_outcome"] in ("applied", "skipped", "duplicate", "parked"):
                raise AlreadyRedriven(row["redrive_outcome"])
            # The partition's lock, as a batch takes it: a batch works from the stream versions
            # it read at its start, so a re-drive must not apply beside it on the same partition.
            tp = (row["topic"], row["partition"])
            await hold_partitions(conn, s, self.name, [tp], epoch=True)
            delivery = Delivery(
                row["topic"],
                row["partition"],
                row["offset"],
                row["key"].encode() if row["key"] is not None else None,
                row["value"],
            )
            # Alone, looking for a parked successor whatever the batches saw.
            batch = _Batch(parked=True)
            outcome = await self.handle(conn, delivery, batch)
            await self._save(conn, batch, {})
            text = f"failed: {outcome.reason}"[:2000] if isinstance(outcome, Refused) else outcome
            await conn.execute(
                f"UPDATE {s}.dead_letters SET redriven_at = clock_timestamp(), "
                "redrive_outcome = $2 WHERE id = $1",
                letter_id,
                text,
            )
        self._count(batch.tally)
        log.info("consumer.redriven", consumer=self.name, letter=letter_id, outcome=text)
        return outcome

    async def reset(self) -> None:
        """Forget everything applied and start again from offset 0 (a rebuild), on every
        instance: the epoch moves, and each instance rewinds when it sees it."""
        s = self.schema
        async with self.pool.acquire() as conn, conn.transaction():
            # Waits for batches in flight (they hold the epoch shared), and they for it.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _epoch_lock(s, self.name))
            epoch = await conn.fetchval(
                f"INSERT INTO {s}.consumer_epochs AS e (consumer, epoch) VALUES ($1, 1) "
                "ON CONFLICT (consumer) DO UPDATE SET epoch = e.epoch + 1 RETURNING epoch",
                self.name,
            )
            await self.projection.reset(conn)
            await conn.execute(
                f"UPDATE {s}.consumer_offsets SET next_offset = 0 WHERE consumer = $1", self.name
            )
            for table in ("consumer_streams", "parked_records", "skipped_events"):
                await conn.execute(f"DELETE FROM {s}.{table} WHERE consumer = $1", self.name)
        self.epoch = epoch
        self.stats = ConsumerStats()
        await self._rewind()
        log.info("consumer.reset", consumer=self.name, epoch=epoch)

    def _epoch_moved(self, epoch: int) -> bool:
        """Whether a reset moved the epoch since this instance last looked (it then rewinds)."""
        if self.epoch is None:
            self.epoch = epoch
        if epoch == self.epoch:
            return False
        log.info("consumer.epoch_changed", consumer=self.name, epoch=epoch)
        self.epoch = epoch
        self._last_gap.clear()
        return True

    async def watch_epoch(self, stop: asyncio.Event) -> None:
        """Rewind when another instance reset the view, even with no new records arriving."""
        while not stop.is_set():
            with contextlib.suppress(*RETRY_BATCH):
                epoch = await self.pool.fetchval(
                    f"SELECT epoch FROM {self.schema}.consumer_epochs WHERE consumer = $1",
                    self.name,
                )
                if epoch is not None and self.epoch is not None and self._epoch_moved(epoch):
                    await self._rewind()
            await wait(stop, EPOCH_POLL_SECONDS)

    async def _rewind(self) -> None:
        consumer = self.subscriber.consumer
        if consumer is None:
            return
        saved = await self.checkpoints()
        for tp in consumer.assignment():
            consumer.seek(tp, saved.get((tp.topic, tp.partition), 0))

    async def wait_caught_up(self, within_seconds: float) -> bool:
        """Wait until this instance's partitions are applied up to their current ends."""
        consumer = self.subscriber.consumer
        if consumer is None:
            return True
        assigned = list(consumer.assignment())
        ends = await consumer.end_offsets(assigned) if assigned else {}
        deadline = asyncio.get_running_loop().time() + within_seconds
        while asyncio.get_running_loop().time() < deadline:
            saved = await self.checkpoints()
            if all(saved.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items()):
                return True
            await asyncio.sleep(0.2)
        return False

    async def checkpoints(self) -> dict[tuple[str, int], int]:
        async with self.pool.acquire() as conn:
            return await self._checkpoints(conn)

    async def _checkpoints(self, conn: Connection) -> dict[tuple[str, int], int]:
        rows = await conn.fetch(
            f"SELECT topic, partition, next_offset FROM {self.schema}.consumer_offsets "
            "WHERE consumer = $1",
            self.name,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def hold_partitions(
    conn: Connection,
    schema: str,
    consumer: str,
    partitions: Iterable[tuple[str, int]],
    *,
    epoch: bool = False,
) -> None:
    """Take `consumer`'s locks on `partitions` (and its epoch, shared) for the transaction.

    Advisory locks, not row locks: a row lock gives the transaction an id, and a relay takes
    only events below the oldest transaction holding one anywhere in the database, so a batch
    that locked its rows first held every service's relay back for its whole length (issue
    12). The caller reads the rows in a later statement, whose snapshot sees what the previous
    holder committed. In one statement, epoch first, then the partitions in ascending key
    order: holders never wait for each other in a cycle (a reporting switch-over takes the
    live consumer's partitions this way too)."""
    keys = sorted({_partition_lock(schema, consumer, tp) for tp in partitions})
    shared = [True] if epoch else []
    if epoch:
        keys.insert(0, _epoch_lock(schema, consumer))
    await conn.execute(
        "SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k) "
        "ELSE pg_advisory_xact_lock(k) END "
        "FROM unnest($1::bigint[], $2::bool[]) WITH ORDINALITY AS t(k, s, n) ORDER BY n",
        keys,
        shared + [False] * (len(keys) - len(shared)),
    )


def _epoch_lock(schema: str, consumer: str) -> int:
    return lock_key("consumer-epoch", f"{schema}.{consumer}")


def _partition_lock(schema: str, consumer: str, tp: tuple[str, int]) -> int:
    return lock_key("consumer-partition", f"{schema}.{consumer}:{tp[0]}:{tp[1]}")


def _firsts(deliveries: Sequence[Delivery]) -> dict[tuple[str, int], int]:
    """The first offset of each partition in a batch."""
    firsts: dict[tuple[str, int], int] = {}
    for d in deliveries:
        firsts.setdefault((d.topic, d.partition), d.offset)
    return firsts


def _columns(keys: Sequence[StreamKey]) -> tuple[list[str], list[str], list[str]]:
    """Stream keys as the three arrays a statement unnests: topics, store ids, stream ids."""
    return [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


def _backoff(attempt: int) -> float:
    return float(min(0.05 * 2**attempt, MAX_BACKOFF_SECONDS))


class _SeekToCheckpoint(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from PostgreSQL's checkpoint (the one written with the effects)."""

    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.owner.subscriber.consumer
        if consumer is None:
            return
        saved = await self.owner.checkpoints() if assigned else {}
        fresh = [tp for tp in assigned if (tp.topic, tp.partition) not in saved]
        for tp in assigned:
            if tp not in fresh:
                consumer.seek(tp, saved[(tp.topic, tp.partition)])
        if fresh:  # one offset look-up for all: it waits for the broker's answer (issue 12:
            # one each, 18 for reporting, took 0.7 s after each join on a loaded host)
            await consumer.seek_to_beginning(*fresh)
        # Joined, even with no partition (more instances than partitions): ready. It stays so
        # through later rebalances, which revoke and assign again in a moment.
        self.owner.joined = True
