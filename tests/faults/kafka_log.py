"""Reading the event topics as an integrator does: plain aiokafka, from offset 0, no group."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from socialwork_contracts.topics import EVENT_TOPICS

PARTITIONS = {t.name: t.partitions for t in EVENT_TOPICS}
Coordinate = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def coordinate(self) -> Coordinate:
        return (self.topic, self.partition, self.offset)


def partitions_of(topics: Iterable[str]) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in topics for p in range(PARTITIONS[t])]


class Reader:
    """One group-less consumer, reused for end offsets while waiting and for the final read."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            # The 900 KB record must fit in one fetch.
            max_partition_fetch_bytes=4 * 1024 * 1024,
            request_timeout_ms=10_000,
        )

    async def __aenter__(self) -> Reader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def end_offsets(self, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        ends = await self.consumer.end_offsets(partitions_of(topics))
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}

    async def last_records(self, topic: str, timeout: float = 30.0) -> list[Record]:
        """The last record of each non-empty partition of `topic`: a fault that must act while
        the burst is still running cannot afford to read the whole topic first."""
        wanted = partitions_of([topic])
        ends = await self.consumer.end_offsets(wanted)
        pending = {tp for tp in wanted if ends[tp] > 0}
        self.consumer.assign(sorted(pending, key=lambda tp: tp.partition))
        for tp in pending:
            self.consumer.seek(tp, ends[tp] - 1)
        last: dict[TopicPartition, Record] = {}
        deadline = time.monotonic() + timeout
        while pending - last.keys() and time.monotonic() < deadline:
            batches = await self.consumer.getmany(*(pending - last.keys()), timeout_ms=500)
            for tp, batch in batches.items():
                for r in batch:
                    if r.offset == ends[tp] - 1:
                        headers = tuple(r.headers or ())
                        last[tp] = Record(r.topic, r.partition, r.offset, r.key, r.value, headers)
        if pending - last.keys():
            raise AssertionError(f"could not read the last records of {topic}")
        return sorted(last.values(), key=lambda r: r.partition)

    async def read(self, topics: Iterable[str], timeout: float = 60.0) -> list[Record]:
        """Every record now on `topics`, in partition order."""
        wanted = partitions_of(topics)
        ends = await self.consumer.end_offsets(wanted)
        self.consumer.assign(wanted)
        await self.consumer.seek_to_beginning(*wanted)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        pending = {tp for tp in wanted if ends[tp] > 0}
        while pending and time.monotonic() < deadline:
            batches = await self.consumer.getmany(*pending, timeout_ms=500)
            for tp, batch in batches.items():
                records.extend(
                    Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                    for r in batch
                    if r.offset < ends[tp]
                )
            pending = {tp for tp in pending if await self.consumer.position(tp) < ends[tp]}
        if pending:
            raise AssertionError(f"could not read to the end of {sorted(map(str, pending))}")
        return records


@dataclass
class TopicView:
    """The published history of one topic after de-duplication by event id."""

    ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def analyse(records: list[Record], injected: set[Coordinate]) -> TopicView:
    """De-duplicate by id; check that each stream is one partition, keyed by its id, 1..n."""
    view = TopicView()
    streams: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if record.coordinate in injected:
            continue  # the suite's own bad records are judged by the dead-letter check
        try:
            event = json.loads(record.value or b"")
            event_id, stream, version = event["id"], event["streamid"], event["streamversion"]
        except (ValueError, KeyError, TypeError):
            view.problems.append(f"unreadable record at {record.coordinate}")
            continue
        if event_id in view.ids:
            view.duplicates += 1
            continue
        view.ids.add(event_id)
        view.by_type[str(event.get("type"))].append(event)
        if record.key != str(stream).encode():
            view.problems.append(f"{event_id} keyed {record.key!r}, stream {stream}")
        streams[stream].append((record.partition, record.offset, int(version)))
    for stream, seen in streams.items():
        if len({partition for partition, _, _ in seen}) > 1:
            view.problems.append(f"stream {stream} spread over partitions {seen}")
        versions = [version for _, _, version in seen]
        if versions != list(range(1, len(versions) + 1)):
            view.problems.append(f"stream {stream} versions in offset order {versions}")
    return view
