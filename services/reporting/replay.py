"""Replay the whole event log into a fresh generation, then switch readers over to it.

The live views stay up throughout: the live consumer keeps folding into the current generation
while the replay builds the next one from offset 0 in bulk batches (facts and checkpoint in one
transaction per batch). When the replay has caught up, the pointer and the live consumer's
checkpoint move to the new generation in one transaction (see readmodel.switch_generation).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from socialwork_contracts.catalog import UnknownEventType, load

from servicekit.cloudevents import split_type
from servicekit.consumer import Delivery, Refused, parse
from servicekit.eventstore.store import create_pool
from services.reporting import readmodel
from services.reporting.domain.facts import FactRow, fact_row

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
    facts: list[FactRow]  # readmodel._FACT_COLUMNS order; [1] service, [5] uscc
    skipped: list[tuple[str, str, str]]
    dead: list[tuple[str, int, int, str | None, bytes, str]]
    # (topic, store id, stream id) -> (version, event id): the highest version seen, so the live
    # consumer expects the next one after a switch (servicekit.consumer's stream order).
    streams: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)


def parse_batch(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Batch:
    """Records -> facts; unknown types are skipped with a record, invalid ones dead-lettered."""
    batch = Batch([], [], [])
    for record in records:
        value = record.value or b""
        key = record.key.decode(errors="replace") if record.key else None
        coords = (record.topic, record.partition, record.offset, key, value)
        envelope = parse(Delivery.of(record))  # the live consumer's own checks
        if isinstance(envelope, Refused):
            batch.dead.append((*coords, envelope.reason[:2000]))
            continue
        event_type, version = split_type(envelope.type)
        stream = (record.topic, envelope.storeid or "", envelope.streamid)
        if batch.streams.get(stream, (0, ""))[0] < envelope.streamversion:
            batch.streams[stream] = (envelope.streamversion, envelope.id)
        try:
            event = load(event_type, version, envelope.data)
        except UnknownEventType as exc:
            batch.skipped.append((envelope.id, envelope.type, str(exc)))
            continue
        except Exception as exc:  # invalid data, or an upcaster that cannot read it
            reason = f"data does not match {envelope.type}: {type(exc).__name__}: {exc}"
            batch.dead.append((*coords, reason[:2000]))
            continue
        batch.facts.append(
            fact_row(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
        )
    return batch


async def apply_batch(
    pool: asyncpg.Pool,
    generation: str,
    consumer: str,
    batch: Batch,
    offsets: dict[tuple[str, int], int],
    *,
    refresh: bool,
) -> None:
    """One transaction: the batch's facts, records and checkpoint (and summaries once loaded)."""
    async with pool.acquire() as conn, conn.transaction():
        # A rebuild's batch lost in a crash is read again from its checkpoint (same
        # transaction), so it need not wait for the WAL flush.
        await conn.execute("SET LOCAL synchronous_commit = off")
        await readmodel.copy_fact_rows(conn, generation, batch.facts)
        if refresh:
            usccs = [f[5] for f in batch.facts if f[1] == "registry" and f[5]]
            await readmodel.refresh_agencies(conn, generation, usccs)
        if batch.skipped:
            await readmodel.record_skipped(conn, consumer, batch.skipped)
        if batch.dead:
            # The live consumer already published these to the dead-letter topic; a rebuild
            # records them again in the table only.
            await readmodel.record_dead_letters(conn, consumer, batch.dead)
        await readmodel.save_offsets(conn, consumer, offsets)
        await readmodel.save_stream_versions(conn, consumer, batch.streams)


async def fetch(kafka: AIOKafkaConsumer, max_records: int) -> list[ConsumerRecord[bytes, bytes]]:
    """Up to `max_records` records: what is buffered now, topped up while more is ready.

    One getmany returns one fetch response's worth (often a few hundred records); a batch of
    thousands makes the per-transaction costs (commit, checkpoint) small per event.
    """
    records: list[ConsumerRecord[bytes, bytes]] = []
    timeout = 500
    while len(records) < max_records:
        fetched = await kafka.getmany(timeout_ms=timeout, max_records=max_records - len(records))
        got = [r for rs in fetched.values() for r in rs]
        if not got:
            break
        records.extend(got)
        timeout = 0
    return records


PartitionSpan = tuple[str, int, int, int]  # topic, partition, first offset, end (exclusive)


def _kafka(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )


def load_partitions(
    dsn: str, bootstrap: str, generation: str, spans: list[PartitionSpan], max_records: int
) -> tuple[int, int, int, int]:
    """One shard of the bulk load, in its own process: these partitions up to their ends.

    Same batches as the single-process path (facts, records and this shard's checkpoints in one
    transaction); the shards' partitions are disjoint, so their checkpoint rows are too. Facts
    are keyed by event id and summaries are folded after every shard has finished, so the
    result does not depend on how partitions are split. Returns (events, facts, skipped, dead).
    """
    return asyncio.run(_load_partitions(dsn, bootstrap, generation, spans, max_records))


async def _load_partitions(
    dsn: str, bootstrap: str, generation: str, spans: list[PartitionSpan], max_records: int
) -> tuple[int, int, int, int]:
    consumer_name = f"reporting.replay.{generation}"
    pool = await create_pool(dsn, max_size=2)
    kafka = _kafka(bootstrap)
    await kafka.start()
    counts = [0, 0, 0, 0]
    try:
        ends = {TopicPartition(t, p): end for t, p, _, end in spans}
        offsets = {(t, p): start for t, p, start, _ in spans}
        kafka.assign(list(ends))
        for t, p, start, _ in spans:
            kafka.seek(TopicPartition(t, p), start)
        pending: asyncio.Task[None] | None = None
        while any(offsets[(tp.topic, tp.partition)] < end for tp, end in ends.items()):
            records = [
                r
                for r in await fetch(kafka, max_records)
                if r.offset < ends[TopicPartition(r.topic, r.partition)]
            ]
            if not records:
                continue
            for r in records:
                key = (r.topic, r.partition)
                offsets[key] = max(offsets[key], r.offset + 1)
            batch = parse_batch(records)
            if pending is not None:
                await pending  # one batch in PostgreSQL while the next is parsed, in order
            pending = asyncio.create_task(
                apply_batch(pool, generation, consumer_name, batch, dict(offsets), refresh=False)
            )
            counts[0] += len(records)
            counts[1] += len(batch.facts)
            counts[2] += len(batch.skipped)
            counts[3] += len(batch.dead)
        if pending is not None:
            await pending
    finally:
        await kafka.stop()
        await pool.close()
    return counts[0], counts[1], counts[2], counts[3]


async def sharded_load(
    dsn: str,
    bootstrap: str,
    generation: str,
    spans: list[PartitionSpan],
    *,
    workers: int,
    max_records: int,
) -> tuple[int, int, int, int]:
    """The bulk load split by partition over `workers` processes.

    Largest partitions first, each to the least loaded shard.
    """
    shards: list[list[PartitionSpan]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for span in sorted(spans, key=lambda s: s[3] - s[2], reverse=True):
        i = sizes.index(min(sizes))
        shards[i].append(span)
        sizes[i] += span[3] - span[2]
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        done = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool, load_partitions, dsn, bootstrap, generation, shard, max_records
                )
                for shard in shards
                if shard
            )
        )
    events, facts, skipped, dead = (sum(column) for column in zip(*done, strict=True))
    return events, facts, skipped, dead


async def finish_load(pool: asyncpg.Pool, generation: str) -> None:
    """After the bulk load: secondary indexes, then every agency summary folded once."""
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_index_ddl(generation))
        async with conn.transaction():
            usccs = await readmodel.registry_usccs(conn, generation)
            for start in range(0, len(usccs), 5000):
                await readmodel.refresh_agencies(conn, generation, usccs[start : start + 5000])


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
    progress: Progress | None = None,
    max_records: int = 5000,
    until: dict[tuple[str, int], int] | None = None,
    dsn: str | None = None,
    workers: int = 1,
) -> ReplayResult:
    """Fold every event of `topics` from offset 0 into `generation`; optionally switch to it.

    With `until` (next offset per partition) it stops exactly there, e.g. to compare with the
    live projection at the same log positions. With `workers` > 1 (and the `dsn` they connect
    with), the bulk load up to the current ends is split by partition over that many processes;
    indexes, summaries, catch-up and the switch then run here as in the single-process path.
    """
    consumer_name = f"reporting.replay.{generation}"
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_tables_ddl(generation))
        saved = await readmodel.replay_offsets(conn, consumer_name)
    kafka = _kafka(bootstrap)
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
        if until is None:
            ends = await kafka.end_offsets(partitions)
        else:
            ends = {
                tp: max(until.get((tp.topic, tp.partition), 0), offsets[(tp.topic, tp.partition)])
                for tp in partitions
            }
        total = sum(max(0, ends[tp] - offsets[(tp.topic, tp.partition)]) for tp in partitions)
        counts = {"events": 0, "facts": 0, "skipped": 0, "dead": 0}
        if workers > 1 and dsn is not None and total > 0:
            spans = [
                (tp.topic, tp.partition, offsets[(tp.topic, tp.partition)], ends[tp])
                for tp in partitions
                if ends[tp] > offsets[(tp.topic, tp.partition)]
            ]
            loaded_counts = await sharded_load(
                dsn, bootstrap, generation, spans, workers=workers, max_records=max_records
            )
            for name, n in zip(counts, loaded_counts, strict=True):
                counts[name] += n
            for tp in partitions:  # every shard has checkpointed its partitions at their ends
                offsets[(tp.topic, tp.partition)] = max(offsets[(tp.topic, tp.partition)], ends[tp])
                kafka.seek(tp, offsets[(tp.topic, tp.partition)])
            if progress is not None:
                progress(counts["events"], max(total, counts["events"]))
        # Parsing (CPU, this process) overlaps with writing (PostgreSQL, another process): the
        # writer applies batch k while the next ones are fetched and validated; order is kept.
        queue: asyncio.Queue[tuple[Batch, dict[tuple[str, int], int], int]] = asyncio.Queue(2)

        async def write() -> None:
            while True:
                batch, batch_offsets, n = await queue.get()
                try:
                    await apply_batch(
                        pool, generation, consumer_name, batch, batch_offsets, refresh=loaded
                    )
                    counts["events"] += n
                    counts["facts"] += len(batch.facts)
                    counts["skipped"] += len(batch.skipped)
                    counts["dead"] += len(batch.dead)
                    if progress is not None:
                        progress(counts["events"], max(total, counts["events"]))
                finally:
                    queue.task_done()

        loaded = False  # until the first catch-up: facts only, summaries and indexes after
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
                    if not loaded:
                        log.info(
                            "replay.loaded",
                            events=counts["events"],
                            seconds=round(time.monotonic() - started, 1),
                        )
                        await finish_load(pool, generation)
                        log.info("replay.indexed", seconds=round(time.monotonic() - started, 1))
                        loaded = True
                    if not switch:
                        break
                    async with pool.acquire() as conn:
                        switched = await readmodel.switch_generation(
                            conn,
                            new=generation,
                            live_consumer=await readmodel.live_consumer(conn),
                            offsets=offsets,
                            rebuilt_by=consumer_name,
                        )
                    if switched:
                        break
                    ends = await kafka.end_offsets(partitions)  # the live side moved on
                    total = counts["events"] + sum(
                        max(0, ends[tp] - offsets[(tp.topic, tp.partition)]) for tp in partitions
                    )
                    continue
                records = await fetch(kafka, max_records)
                if until is not None:
                    records = [
                        r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]
                    ]
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
