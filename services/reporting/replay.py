"""Replay the whole event log into a fresh generation, then switch readers over to it.

The live views stay up throughout: the live consumer keeps folding into the current generation
while the replay builds the next one from offset 0 in bulk batches (facts and checkpoint in one
transaction per batch). When the replay has caught up, the pointer and the live consumer's
checkpoint move to the new generation in one transaction (see readmodel.switch_generation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from socialwork_contracts.catalog import UnknownEventType, load
from socialwork_contracts.envelope import CloudEvent

from servicekit.cloudevents import split_type
from services.reporting import readmodel
from services.reporting.consumers import LIVE_CONSUMER
from services.reporting.domain.facts import Fact, fact_of

log = structlog.get_logger()
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class ReplayResult:
    generation: str
    events: int
    facts: int
    skipped: int
    dead_lettered: int
    seconds: float
    switched: bool


@dataclass
class Batch:
    facts: list[Fact]
    skipped: list[tuple[str, str, str]]
    dead: list[tuple[str, int, int, str | None, bytes, str]]


def parse_batch(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Batch:
    """Records -> facts; unknown types are skipped with a record, invalid ones dead-lettered."""
    batch = Batch([], [], [])
    for record in records:
        value = record.value or b""
        key = record.key.decode(errors="replace") if record.key else None
        coords = (record.topic, record.partition, record.offset, key, value)
        try:
            envelope = CloudEvent.model_validate_json(value)
            event_type, version = split_type(envelope.type)
        except (ValidationError, ValueError) as exc:
            batch.dead.append((*coords, f"not a valid CloudEvent: {exc}"[:2000]))
            continue
        try:
            event = load(event_type, version, envelope.data)
        except UnknownEventType as exc:
            batch.skipped.append((envelope.id, envelope.type, str(exc)))
            continue
        except ValidationError as exc:
            batch.dead.append((*coords, f"data does not match {envelope.type}: {exc}"[:2000]))
            continue
        batch.facts.append(
            fact_of(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
        )
    return batch


async def apply_batch(
    pool: asyncpg.Pool,
    generation: str,
    consumer: str,
    batch: Batch,
    offsets: dict[tuple[str, int], int],
) -> None:
    """One transaction: the batch's facts, agency summaries, records and checkpoint."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.insert_facts(conn, generation, batch.facts)
        usccs = [f.uscc for f in batch.facts if f.service == "registry" and f.uscc is not None]
        await readmodel.refresh_agencies(conn, generation, usccs)
        if batch.skipped:
            await readmodel.record_skipped(conn, consumer, batch.skipped)
        if batch.dead:
            # The live consumer already published these to the dead-letter topic; a rebuild
            # records them again in the table only.
            await readmodel.record_dead_letters(conn, consumer, batch.dead)
        await readmodel.save_offsets(conn, consumer, offsets)


async def next_generation(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        await readmodel.ensure(conn)
        existing = await readmodel.generations(conn)
    numbers = [int(g.removeprefix("reporting_g")) for g in existing] or [1]
    return readmodel.generation_name(max(numbers) + 1)


async def replay(
    pool: asyncpg.Pool,
    bootstrap: str,
    topics: Sequence[str],
    *,
    generation: str,
    switch: bool,
    live_consumer: str = LIVE_CONSUMER,
    progress: Progress | None = None,
    max_records: int = 5000,
) -> ReplayResult:
    """Fold every event of `topics` from offset 0 into `generation`; optionally switch to it."""
    consumer_name = f"reporting.replay.{generation}"
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_ddl(generation))
        saved = await readmodel.replay_offsets(conn, consumer_name)
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await kafka.start()
    started = time.monotonic()
    switched = False
    try:
        # aiokafka's public topics() returns fresh metadata without keeping it; this keeps it.
        await kafka._client.force_metadata_update()
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(kafka.partitions_for_topic(t) or ())
        ]
        kafka.assign(partitions)
        offsets: dict[tuple[str, int], int] = {}
        for tp in partitions:
            offset = saved.get((tp.topic, tp.partition), 0)
            kafka.seek(tp, offset)
            offsets[(tp.topic, tp.partition)] = offset
        ends = await kafka.end_offsets(partitions)
        total = sum(max(0, ends[tp] - offsets[(tp.topic, tp.partition)]) for tp in partitions)
        counts = {"events": 0, "facts": 0, "skipped": 0, "dead": 0}
        # Parsing (CPU, this process) overlaps with writing (PostgreSQL, another process): the
        # writer applies batch k while the next ones are fetched and validated; order is kept.
        queue: asyncio.Queue[tuple[Batch, dict[tuple[str, int], int], int]] = asyncio.Queue(2)

        async def write() -> None:
            while True:
                batch, batch_offsets, n = await queue.get()
                try:
                    await apply_batch(pool, generation, consumer_name, batch, batch_offsets)
                    counts["events"] += n
                    counts["facts"] += len(batch.facts)
                    counts["skipped"] += len(batch.skipped)
                    counts["dead"] += len(batch.dead)
                    if progress is not None:
                        progress(counts["events"], max(total, counts["events"]))
                finally:
                    queue.task_done()

        writer = asyncio.create_task(write())

        async def drained() -> None:
            joined = asyncio.create_task(queue.join())
            await asyncio.wait({joined, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():
                joined.cancel()
                writer.result()  # re-raises the writer's failure

        try:
            while True:
                if all(offsets[(tp.topic, tp.partition)] >= ends[tp] for tp in partitions):
                    await drained()
                    if not switch:
                        break
                    async with pool.acquire() as conn:
                        switched = await readmodel.switch_generation(
                            conn, new=generation, live_consumer=live_consumer, offsets=offsets
                        )
                    if switched:
                        break
                    ends = await kafka.end_offsets(partitions)  # the live side moved on
                    total = counts["events"] + sum(
                        max(0, ends[tp] - offsets[(tp.topic, tp.partition)]) for tp in partitions
                    )
                    continue
                fetched = await kafka.getmany(timeout_ms=500, max_records=max_records)
                records = [r for rs in fetched.values() for r in rs]
                if not records:
                    continue
                for r in records:
                    key = (r.topic, r.partition)
                    offsets[key] = max(offsets[key], r.offset + 1)
                batch = parse_batch(records)
                if writer.done():
                    writer.result()
                await queue.put((batch, dict(offsets), len(records)))
        finally:
            writer.cancel()
        events, facts = counts["events"], counts["facts"]
        skipped, dead = counts["skipped"], counts["dead"]
    finally:
        await kafka.stop()
    seconds = time.monotonic() - started
    log.info("replay.finished", generation=generation, events=events, seconds=round(seconds, 1))
    return ReplayResult(generation, events, facts, skipped, dead, seconds, switched)
