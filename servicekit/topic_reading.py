"""Reading event topics from given offsets up to a fixed end, with aiokafka's public API only.

The ends are taken once, before reading: a rebuild reads exactly what the log held then, while
producers go on appending (the live consumer carries on from there). Fetches are large (whole
partitions' worth per request), which is what a read from offset 0 needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from servicekit.kafka_security import KafkaSecurity

Offsets: TypeAlias = dict[tuple[str, int], int]  # (topic, partition) -> next offset to read
Record: TypeAlias = ConsumerRecord[bytes, bytes]
FIRST_WAIT_MS = 500  # how long one fetch waits for a first record


@dataclass(frozen=True, slots=True)
class Span:
    """The records of one partition from `start` up to `end` (exclusive)."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


async def partitions(
    bootstrap: str, topics: Sequence[str], security: KafkaSecurity | None = None
) -> list[tuple[str, int]]:
    """Every (topic, partition) of `topics`, as the broker describes them now."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **(security or KafkaSecurity()).client_options()
    )
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found = {t["topic"]: sorted(p["partition"] for p in t["partitions"]) for t in described}
    return [(topic, p) for topic in topics for p in found.get(topic, [])]


@asynccontextmanager
async def log_reader(
    bootstrap: str, security: KafkaSecurity | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer in no group (partitions assigned by the reader, nothing committed)."""
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # A fetch's bytes stay in memory until read, and the next is fetched meanwhile: at 8 and
        # 64 MiB the 1M replay held ~100 MiB more a process (peak 327 + 303 MiB, 2 processes,
        # against 265 + 217), no faster (benchmarks/RESULTS.md, Session 17). A record larger
        # than these is still returned whole (Kafka returns a partition's first batch anyway).
        max_partition_fetch_bytes=1024 * 1024,
        fetch_max_bytes=8 * 1024 * 1024,
        **(security or KafkaSecurity()).client_options(),
    )
    await kafka.start()
    try:
        yield kafka
    finally:
        await kafka.stop()


async def end_offsets(kafka: AIOKafkaConsumer, tps: Sequence[tuple[str, int]]) -> Offsets:
    """The next offset each partition will be written at, now."""
    ends = await kafka.end_offsets([TopicPartition(t, p) for t, p in tps])
    return {(tp.topic, tp.partition): end for tp, end in ends.items()}


def spans(starts: Mapping[tuple[str, int], int], ends: Mapping[tuple[str, int], int]) -> list[Span]:
    """The non-empty spans from `starts` (0 where absent) to `ends`."""
    found = [Span(t, p, starts.get((t, p), 0), end) for (t, p), end in sorted(ends.items())]
    return [s for s in found if s.size > 0]


async def read(
    kafka: AIOKafkaConsumer, to_read: Sequence[Span], max_records: int
) -> AsyncIterator[tuple[list[Record], Offsets]]:
    """Batches of up to `max_records` records of the spans, with each partition's next offset
    after the batch; ends once every span is read."""
    if not to_read:
        return
    ends = {TopicPartition(s.topic, s.partition): s.end for s in to_read}
    kafka.assign(list(ends))
    kafka.resume(*ends)
    for s in to_read:
        kafka.seek(TopicPartition(s.topic, s.partition), s.start)
    positions: Offsets = {(s.topic, s.partition): s.start for s in to_read}
    while unread := [tp for tp, end in ends.items() if positions[(tp.topic, tp.partition)] < end]:
        records = await _fetch(kafka, ends, max_records, positions)
        if records:
            yield records, dict(positions)
        else:  # offsets with no record (e.g. transaction markers) still move the position
            for tp in unread:
                positions[(tp.topic, tp.partition)] = min(await kafka.position(tp), ends[tp])
        # A partition read to its end fetches no more: its later records are not ours.
        kafka.pause(*(tp for tp in unread if positions[(tp.topic, tp.partition)] >= ends[tp]))


async def _fetch(
    kafka: AIOKafkaConsumer,
    ends: Mapping[TopicPartition, int],
    max_records: int,
    positions: Offsets,
) -> list[Record]:
    """What is buffered now, topped up while more is ready: one getmany returns one fetch
    response's worth, and thousands per batch make a batch's fixed costs small per record.
    Moves `positions` past the records returned (a partition's are in offset order)."""
    records: list[Record] = []
    timeout = FIRST_WAIT_MS
    while len(records) < max_records:
        fetched = await kafka.getmany(timeout_ms=timeout, max_records=max_records - len(records))
        if not fetched:
            break
        for tp, got in fetched.items():
            end = ends[tp]
            if got[-1].offset >= end:
                got = [r for r in got if r.offset < end]
            if got:
                records.extend(got)
                positions[(tp.topic, tp.partition)] = got[-1].offset + 1
        timeout = 0
    return records
