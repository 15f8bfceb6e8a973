"""Replay the whole event log into a fresh generation, then switch readers over to it.

The live views stay up throughout: the live consumer keeps folding into the current generation
while the replay builds the next one from offset 0 up to the ends taken at its start
(servicekit.topic_reading), in bulk batches (facts and checkpoint in one transaction per batch).
Each record is parsed by the consumers' own parser (servicekit.kafka_records), payload upcast,
and stored as a fact in its current version. When the replay has caught up, the pointer and the
live consumer's checkpoint move to the new generation in one transaction
(readmodel.switch_generation).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit import topic_reading
from servicekit.db import Connection
from servicekit.eventstore.store import create_pool
from servicekit.kafka_records import Refused, Unknown, parse
from servicekit.kafka_security import KafkaSecurity
from servicekit.topic_reading import Offsets, Record, Span
from servicekit.workers import worker_pool
from services.reporting import readmodel, readmodel_listings, readmodel_places
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.place_versions import BASE_TYPES
from services.reporting.domain.state import folded_types
from services.reporting.domain.versions import AgencyVersion, agency_versions, current
from services.reporting.versions_refresh import changed_by_rows, refresh_versions

log = structlog.get_logger()
Progress = Callable[[int, int], None]  # (done, total)
DeadLetter = tuple[str, int, int, str | None, bytes, str]  # topic, partition, offset, key, ...
INDEX_MEMORY = "256MB"  # per index build (up to three at once after a bulk load)
BULK_GC_THRESHOLD = 100_000  # allocations between the cyclic collector's runs (fewer_collections)
# Events this process reads while a spawned shard starts (an interpreter and the replay's imports,
# ≈0.7 s, at ≈30,000 events/s a process): with equal shares it waited that long for the shard
# (0.6 s of a 4.4 s load at 200k).
SPAWN_HEAD_START = 20_000
# The share of a sharded load in when this process's part is done for the facts' statistics to
# be taken then, not after the index builds (statistics_while_loading).
EARLY_STATISTICS = 0.9
# How often this process looks whether the other shards' facts are all in (they may still fold
# their agencies' summaries, which the index builds after the load need not wait for).
LOADED_POLL_SECONDS = 0.05


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
    dead: list[DeadLetter]
    # (topic, store id, stream id) -> (version, event id, offset): the highest version seen
    # first, so the live consumer expects the next one after a switch (servicekit.consumer's
    # stream order).
    streams: readmodel.StreamVersions = field(default_factory=dict)


@dataclass
class Counts:
    events: int = 0
    facts: int = 0
    skipped: int = 0
    dead: int = 0
    # The credit codes whose summaries this load folded from the facts it read (`Agencies`).
    folded: set[str] = field(default_factory=set)
    # The bases and stays whose versions it computed from the facts it read (`PlaceFacts`).
    places: readmodel_places.Places = field(default_factory=readmodel_places.Places)

    def add(self, records: int, batch: Batch) -> None:
        self.events += records
        self.facts += len(batch.facts)
        self.skipped += len(batch.skipped)
        self.dead += len(batch.dead)

    def __iadd__(self, other: Counts) -> Counts:
        self.events += other.events
        self.facts += other.facts
        self.skipped += other.skipped
        self.dead += other.dead
        self.folded |= other.folded
        self.places.bases |= other.places.bases
        self.places.stays |= other.places.stays
        return self


class Agencies:
    """The registry facts a fresh load reads, kept to fold the agency summaries once it ends.

    The same fold as `readmodel.refresh_agencies` over the same rows, without reading them back
    from the table after every shard has loaded (its credit-code index first, the payloads out
    of jsonb and validated again): that was the replay's serial tail. Only the folded types'
    payloads are kept (a tenth of the facts), as _FOLD_COLUMNS rows (`readmodel.KeptRow`).
    """

    def __init__(self) -> None:
        self.usccs: set[str] = set()
        self.rows: dict[str | None, list[readmodel.KeptRow]] = {}  # by credit code
        self._types = folded_types()

    def add(self, facts: Sequence[FactRow]) -> None:
        for fact in facts:
            uscc = fact[5]
            if uscc is None or fact[1] != "registry":  # two thirds: unpacked only past here
                continue
            e, _, t, v, _, _, _, on, occurred, recorded, data = fact
            self.usccs.add(uscc)
            if t in self._types:
                # In UTC, as the table gives them: the fold's sort compares them, and two
                # instants in pydantic's zones ask each zone its offset per comparison.
                occurred, recorded = occurred.astimezone(dt.UTC), recorded.astimezone(dt.UTC)
                self.rows.setdefault(uscc, []).append((t, v, on, occurred, recorded, e, data))

    async def fold(self, pool: asyncpg.Pool, generation: str) -> set[str]:
        """Their summaries written; the credit codes folded. The fold (1M: 37k rows a shard,
        about a CPU second) runs in a thread: this process's own goes on beside the index
        builds after the load, whose statements must not wait for it."""
        with fewer_collections():
            versions = await asyncio.to_thread(_versions, self.rows)
        keys = sorted(self.usccs)
        async with pool.acquire() as conn, conn.transaction():
            await readmodel.store_agencies(conn, generation, keys, current(versions))
            await readmodel.store_versions(conn, generation, keys, versions)
        return self.usccs


def _versions(rows: dict[str | None, list[readmodel.KeptRow]]) -> list[AgencyVersion]:
    return readmodel.versions_by_entity(rows, "uscc", agency_versions)


class PlaceFacts:
    """The base and stay facts a fresh load reads, kept as `Agencies` keeps the registry facts
    (their payloads as bytes: 63k facts at 1M), to compute the places' versions once it ends:
    each shard its own, instead of one worker process reading every one back from the table
    after every shard has loaded and that process's agency fold (1M: 2.7 s, the other core
    idle).

    A stay's versions depend on its own facts only (tests/reporting/test_agency_facts.py), a
    base's too; one whose facts more than one shard read is computed again from the table
    (`sharded_load`)."""

    def __init__(self) -> None:
        # By the base's and the stay's id, as `Agencies` keeps its rows by credit code.
        self.bases: dict[str | None, list[readmodel.KeptRow]] = {}
        self.stays: dict[str | None, list[readmodel.KeptRow]] = {}
        self._types, self._bases = readmodel_places.PLACE_TYPES, frozenset(BASE_TYPES)

    def add(self, facts: Sequence[FactRow]) -> None:
        for fact in facts:
            if fact[2] not in self._types:  # 94 % of facts at 1M: unpacked only past here
                continue
            e, _, t, v, _, _, base_id, on, occurred, recorded, data = fact
            if t in self._bases:
                kept = self.bases.setdefault(base_id, [])
            else:
                # No column holds a stay's id: read from the payload the load just serialised.
                kept = self.stays.setdefault(json.loads(data).get("incubation_id"), [])
            # In UTC, as Agencies.add keeps its instants (the fold's sort compares them).
            occurred, recorded = occurred.astimezone(dt.UTC), recorded.astimezone(dt.UTC)
            kept.append((t, v, on, occurred, recorded, e, data))

    async def build(self, pool: asyncpg.Pool, generation: str) -> readmodel_places.Places:
        """Their versions stored; the places they are about."""
        with fewer_collections():
            bases, stays = await asyncio.to_thread(
                readmodel_places.kept_versions, self.bases, self.stays
            )
        await readmodel_places.store_kept(pool, generation, bases, stays)
        return readmodel_places.Places(
            {b for b in self.bases if b is not None}, {s for s in self.stays if s is not None}
        )


def parse_batch(records: Sequence[Record]) -> Batch:
    """Records -> facts; unknown types are skipped with a record, invalid ones dead-lettered."""
    batch = Batch([], [], [])
    streams = batch.streams
    for record in records:
        received = parse(record)
        if isinstance(received, Refused):
            batch.dead.append(_dead(record, received.reason))
            continue
        envelope, event = received
        stream = (record.topic, envelope.storeid or "", envelope.streamid)
        if streams.get(stream, _NO_STREAM)[0] < envelope.streamversion:
            streams[stream] = (envelope.streamversion, envelope.id, record.offset)
        if isinstance(event, Unknown):
            batch.skipped.append((envelope.id, envelope.type, event.reason))
        elif isinstance(event, Refused):
            batch.dead.append(_dead(record, event.reason))
        else:
            _add_fact(batch, record, envelope, event)
    return batch


_NO_STREAM = (0, "", 0)


def _add_fact(batch: Batch, record: Record, envelope: CloudEvent, event: DomainEvent) -> None:
    try:
        row = fact_row(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
    except Exception as exc:
        # What the live consumer does with an event its projection cannot store (an instant out
        # of range, U+0000 in a text): a dead letter with the reason, the rest of the batch
        # applied.
        batch.dead.append(_dead(record, f"{type(exc).__name__}: {exc}"))
        return
    batch.facts.append(row)


def _dead(record: Record, reason: str) -> DeadLetter:
    key = record.key.decode(errors="replace") if record.key else None
    return (record.topic, record.partition, record.offset, key, record.value or b"", reason[:2000])


async def apply_batch(
    conn: Connection,
    generation: str,
    batch: Batch,
    offsets: Offsets,
    *,
    refresh: bool,
) -> None:
    """One transaction: the batch's facts, records and checkpoint (and summaries once loaded)."""
    consumer = readmodel.replay_consumer(generation)
    async with conn.transaction():
        # A rebuild's batch lost in a crash is read again from its checkpoint (same
        # transaction), so it need not wait for the WAL flush.
        await conn.execute("SET LOCAL synchronous_commit = off")
        await readmodel.copy_fact_rows(conn, generation, batch.facts, unread=True)
        if refresh:
            await refresh_versions(conn, generation, changed_by_rows(batch.facts))
        if batch.skipped:
            await readmodel.record_skipped(conn, consumer, batch.skipped)
        if batch.dead:
            # The live consumer already published these to the dead-letter topic; a rebuild
            # records them again in the table only.
            await readmodel.record_dead_letters(conn, consumer, batch.dead)
        await readmodel.save_offsets(conn, consumer, offsets)
        await readmodel.append_stream_versions(conn, generation, batch.streams)


async def load(
    pool: asyncpg.Pool,
    kafka: AIOKafkaConsumer,
    to_read: Sequence[Span],
    *,
    generation: str,
    refresh: bool,
    max_records: int,
    progress: Callable[[Counts], None] | None = None,
    agencies: Agencies | None = None,
    places: PlaceFacts | None = None,
) -> Counts:
    """Read the spans into `generation`, batch by batch, in order: PostgreSQL writes one batch
    while the next is fetched and parsed here. `agencies` keeps the registry facts read, for
    the caller to fold, `places` the base and stay facts (a load from the log's start)."""
    counts = Counts()
    if not to_read:
        return counts
    async with pool.acquire() as conn:
        with fewer_collections():
            await _load(
                conn,
                kafka,
                to_read,
                generation,
                refresh,
                max_records,
                counts,
                progress,
                agencies,
                places,
            )
    return counts


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cyclic collector run every 100,000 allocations instead of every 700 meanwhile.

    A batch makes thousands of short-lived objects per record (models, datetimes, tuples), freed
    by reference counting; with the default threshold the collector ran every few records, 11 %
    of a shard's CPU (26.8 -> 23.8 µs an event, one shard, 102,604 events). Restored after.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(BULK_GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


async def _load(
    conn: Connection,
    kafka: AIOKafkaConsumer,
    to_read: Sequence[Span],
    generation: str,
    refresh: bool,
    max_records: int,
    counts: Counts,
    progress: Callable[[Counts], None] | None,
    agencies: Agencies | None,
    places: PlaceFacts | None,
) -> None:
    writing: asyncio.Task[None] | None = None
    try:
        async for records, offsets in topic_reading.read(kafka, to_read, max_records):
            batch = parse_batch(records)
            if agencies is not None:
                agencies.add(batch.facts)
            if places is not None:
                places.add(batch.facts)
            if writing is not None:
                await writing
            writing = asyncio.create_task(
                apply_batch(conn, generation, batch, offsets, refresh=refresh)
            )
            counts.add(len(records), batch)
            if progress is not None:
                progress(counts)
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)


def load_shard(
    dsn: str,
    bootstrap: str,
    security: KafkaSecurity | None,
    generation: str,
    to_read: list[Span],
    max_records: int,
    summaries: bool,
) -> Counts:
    """One shard of the bulk load, in a worker process: these partitions up to their ends.

    The shards' partitions are disjoint, so their checkpoint rows are too. Facts are keyed by
    event id, and an agency whose registry facts more than one shard read is folded again from
    the table after every shard has finished (`sharded_load`), so the result does not depend
    on how partitions are split.
    """

    async def run() -> Counts:
        pool = await create_pool(dsn, max_size=2)
        agencies = Agencies() if summaries else None
        places = PlaceFacts() if summaries else None
        try:
            async with topic_reading.log_reader(bootstrap, security) as kafka:
                counts = await load(
                    pool,
                    kafka,
                    to_read,
                    generation=generation,
                    refresh=False,
                    max_records=max_records,
                    agencies=agencies,
                    places=places,
                )
            if agencies is not None:
                counts.folded = await agencies.fold(pool, generation)
            if places is not None:
                counts.places = await places.build(pool, generation)
            return counts
        finally:
            await pool.close()

    return asyncio.run(run())


def refresh_shard(dsn: str, generation: str, usccs: list[str]) -> None:
    """One share of the agency summaries, in a worker process (summaries are keyed by credit
    code, so shares are independent)."""

    async def run() -> None:
        pool = await create_pool(dsn, max_size=1)  # the pools' jsonb codec, as the fold reads
        try:
            async with pool.acquire() as conn:
                await refresh_all(conn, generation, usccs)
        finally:
            await pool.close()

    asyncio.run(run())


def build_places_shard(dsn: str, generation: str) -> None:
    """Every base's and stay's versions from the loaded facts, in a worker process: their CPU
    seconds (1M: 94k stay versions) off the process that folds the agency summaries beside
    the index builds, whose threads share one interpreter lock."""

    async def run() -> None:
        pool = await create_pool(dsn, max_size=1)
        try:
            await readmodel_places.build_all(pool, generation)
        finally:
            await pool.close()

    asyncio.run(run())


def split_spans(to_read: Sequence[Span], shards: int) -> list[list[Span]]:
    """Partitions over `shards`: the largest first, each to the least loaded shard, the first
    shard (this process, already reading while the others start) counted as having read
    SPAWN_HEAD_START events fewer, at most a quarter of a fair share (a small log is split too);
    then evened out by swaps."""
    head_start = min(SPAWN_HEAD_START, sum(s.size for s in to_read) // (4 * shards))
    split: list[list[Span]] = [[] for _ in range(shards)]
    sizes = [0] + [head_start] * (shards - 1)
    for span in sorted(to_read, key=lambda s: s.size, reverse=True):
        i = sizes.index(min(sizes))
        split[i].append(span)
        sizes[i] += span.size
    _even_out(split, sizes)
    return [shard for shard in split if shard]


def _even_out(split: list[list[Span]], sizes: list[int]) -> None:
    """Move a partition, or swap two, between the most and the least loaded shard while that
    narrows their gap. Placing the largest first leaves the gap of equal-sized partitions whole
    (the 1M benchmark's 18 partitions of three sizes: 500,013 events each, so this process
    waited for the spawned one as long as that one took to start). Each step lowers the sum of
    squares of the loads, so it ends."""
    while True:
        high, low = sizes.index(max(sizes)), sizes.index(min(sizes))
        gap = sizes[high] - sizes[low]
        moves = [
            (abs(gap - 2 * (a.size - b_size)), a, b)
            for a in split[high]
            for b, b_size in [(None, 0), *((b, b.size) for b in split[low])]
            if 0 < a.size - b_size < gap
        ]
        if not moves:
            return
        _, a, b = min(moves, key=lambda move: move[0])
        split[high].remove(a)
        split[low].append(a)
        sizes[high] -= a.size
        sizes[low] += a.size
        if b is not None:
            split[low].remove(b)
            split[high].append(b)
            sizes[low] -= b.size
            sizes[high] += b.size


@dataclass(frozen=True)
class Shards:
    """Where a sharded replay's other shards connect (the DSN, the brokers and the credentials)
    and how many shards in all, this process's included."""

    dsn: str
    bootstrap: str
    security: KafkaSecurity | None
    workers: int


async def sharded_load(
    pool: asyncpg.Pool,
    kafka: AIOKafkaConsumer,
    generation: str,
    split: list[list[Span]],
    *,
    shards: Shards,
    max_records: int,
    report: Callable[[Counts], None],
    summaries: bool,
) -> Counts:
    """The bulk load split by partition: this process loads the first shard while a spawned
    process loads each other one (this process would otherwise only wait, and a spawned one
    first pays an interpreter's start and its imports). With `summaries`, each shard folds the
    agencies it read; those read by more than one (a log whose keys do not keep an agency in
    one partition) are folded again from the table, as every agency is without `summaries`,
    split the same way. If this process's share is loaded first, it takes the facts'
    statistics while the others finish."""
    here, *there = split
    loop = asyncio.get_running_loop()
    processes = worker_pool(len(there))
    try:
        elsewhere = [
            loop.run_in_executor(
                processes,
                load_shard,
                shards.dsn,
                shards.bootstrap,
                shards.security,
                generation,
                shard,
                max_records,
                summaries,
            )
            for shard in there
        ]

        analysed = False
        agencies = Agencies() if summaries else None
        places = PlaceFacts() if summaries else None

        async def here_then_statistics() -> Counts:
            nonlocal analysed
            counts = await load(
                pool,
                kafka,
                here,
                generation=generation,
                refresh=False,
                max_records=max_records,
                agencies=agencies,
                places=places,
            )
            if not all(f.done() for f in elsewhere):
                spans = [span for shard in split for span in shard]
                analysed = await statistics_while_loading(pool, generation, spans)
            return counts

        here_counts = await here_then_statistics()
        await facts_loaded(pool, generation, [span for shard in there for span in shard], elsewhere)
        # Every shard's agencies are folded beside the index builds, which need only the facts.
        there_counts = asyncio.gather(*elsewhere)
        here_folded = asyncio.ensure_future(_fold(agencies, pool, generation))

        async def refold() -> list[str] | None:
            here_counts.folded = await here_folded
            done = [here_counts, *await there_counts]
            return folded_twice([c.folded for c in done]) if summaries else None

        async def places_built() -> None:
            if places is None:  # a resumed load: every place from the table, in a worker
                await loop.run_in_executor(processes, build_places_shard, shards.dsn, generation)
                return
            await here_folded  # one computation at a time in this process's threads
            here_counts.places = await places.build(pool, generation)
            twice = readmodel_places.shared([c.places for c in [here_counts, *await there_counts]])
            if twice.bases or twice.stays:
                async with pool.acquire() as conn, conn.transaction():
                    await readmodel_places.refresh(conn, generation, twice)

        await finish_load(
            pool,
            generation,
            elsewhere=lambda usccs: loop.run_in_executor(
                processes, refresh_shard, shards.dsn, generation, usccs
            ),
            shares=1 + len(there),
            analysed=analysed,
            refold=refold,
            places=places_built,
        )
        total = Counts()
        for counts in [here_counts, *await there_counts]:
            total += counts
        report(total)
    except BaseException:
        processes.shutdown(wait=True, cancel_futures=True)  # no shard left writing
        raise
    # Every call has returned: the idle workers' exit (an interpreter's teardown, 0.2 s after
    # a 1M load) need not hold up the switch.
    processes.shutdown(wait=False)
    return total


async def facts_loaded(
    pool: asyncpg.Pool,
    generation: str,
    to_read: Sequence[Span],
    shards: Sequence[asyncio.Future[Counts]],
) -> None:
    """Returns once the spans' facts are all committed (their checkpoints at the ends, in the
    facts' transactions) or every shard has returned; raises a shard's failure."""
    while pending := [f for f in shards if not f.done()]:
        for f in shards:
            if f.done():
                f.result()
        async with pool.acquire() as conn:
            saved = await readmodel.replay_offsets(conn, readmodel.replay_consumer(generation))
        if all(saved.get((s.topic, s.partition), s.start) >= s.end for s in to_read):
            return
        await asyncio.wait(pending, timeout=LOADED_POLL_SECONDS)
    for f in shards:
        f.result()


async def _fold(agencies: Agencies | None, pool: asyncpg.Pool, generation: str) -> set[str]:
    return set() if agencies is None else await agencies.fold(pool, generation)


def folded_twice(folded: Sequence[set[str]]) -> list[str]:
    """The credit codes more than one shard folded: each from part of the agency's facts."""
    seen: set[str] = set()
    twice: set[str] = set()
    for usccs in folded:
        twice |= seen & usccs
        seen |= usccs
    return sorted(twice)


async def statistics_while_loading(
    pool: asyncpg.Pool, generation: str, to_read: Sequence[Span]
) -> bool:
    """The facts' statistics taken now (True) if EARLY_STATISTICS of the spans are in but not
    all: this process's share is loaded and a spawned one's last batches are landing. With
    every fact in (a spawned shard only folding its agencies), the index builds come first
    and ANALYZE after them, beside the folds: taken here it held every build back (1M: 0.45 s).

    ANALYZE does not block COPY, while the index builds after the load block ANALYZE: taken
    after them (0.5 s at 1M) it was the finish's last step, one backend busy and the other core
    idle; here it uses the core this process leaves idle while it waits for the others. The
    few facts that land after its sample change no plan."""
    async with pool.acquire() as conn:
        saved = await readmodel.replay_offsets(conn, readmodel.replay_consumer(generation))
        read = sum(
            min(saved.get((s.topic, s.partition), s.start), s.end) - s.start for s in to_read
        )
        total = sum(s.size for s in to_read)
        if read < EARLY_STATISTICS * total or read == total:
            return False
        await _analyze_facts(conn, generation)
    return True


async def _analyze_facts(conn: Connection, generation: str) -> None:
    """Readers switched to this generation get plans from its statistics at once."""
    await conn.execute(f"ANALYZE {readmodel.checked_generation(generation)}.facts")


async def refresh_all(conn: Connection, generation: str, usccs: Sequence[str]) -> None:
    """Fold these agencies' summaries, in one transaction, a few thousand per statement."""
    async with conn.transaction():
        with fewer_collections():  # a fact, its payload dict and its event per row read
            for start in range(0, len(usccs), 5000):
                await readmodel.refresh_agencies(conn, generation, usccs[start : start + 5000])


async def finish_load(
    pool: asyncpg.Pool,
    generation: str,
    *,
    elsewhere: Callable[[list[str]], Awaitable[None]] | None = None,
    shares: int = 1,
    analysed: bool = False,
    refold: Callable[[], Awaitable[Sequence[str] | None]] | None = None,
    places: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """After the bulk load: the facts' key, secondary indexes, statistics and the agency
    summaries folded from the table: those `refold` gives once the shards' own folds are done,
    or every agency's (None); the bases' and stays' versions by `places` (a fresh load's from
    the facts it kept), else every one's from the table here; every listing's here.

    Every index is built at once, each on a connection of its own (CREATE INDEX takes a SHARE
    lock: reads and other index builds go on); the key removes an event the load stored twice
    (the summaries' fold applies an event id once, whether or not its copies are gone yet). The
    summaries start once the credit-code index they read by is built, and ANALYZE (whose lock
    waits for the builds') runs while they are folded, not after them, unless the facts were
    `analysed` while the load's last batches landed. With `elsewhere`, shares
    of the summaries after the first are folded there (the worker processes)."""
    log.info("replay.loaded", generation=generation)
    g = readmodel.checked_generation(generation)
    ddls = [ddl for ddl in readmodel.generation_index_ddl(generation).split(";") if ddl.strip()]
    uscc_index = next(ddl for ddl in ddls if "facts_uscc" in ddl)
    builds = [
        # 1M facts: the key 1.0 CPU s, the fold order 1.8 (the credit code 0.6); the tx index
        # is made with the table and stays empty (`copy_fact_rows`, unread).
        _build(pool, lambda conn: readmodel.key_facts(conn, generation)),
        *(_build(pool, _statement(ddl)) for ddl in ddls if ddl is not uscc_index),
        # The switch's read of each stream's highest version (136k streams at 1M: 0.2 s).
        _build(pool, _statement(readmodel.replay_streams_index_ddl(generation))),
    ]
    uscc_built = asyncio.ensure_future(_build(pool, _statement(uscc_index)))

    async def summaries() -> None:
        given = None if refold is None else await refold()
        if given is not None and not given:
            return
        await uscc_built
        if given is None:
            async with pool.acquire() as conn:
                usccs = await readmodel.registry_usccs(conn, generation)
        else:
            usccs = list(given)
        split = [usccs[i::shares] for i in range(shares)] if elsewhere else [usccs]

        async def refresh_here() -> None:
            async with pool.acquire() as conn:
                await refresh_all(conn, generation, split[0])

        await asyncio.gather(
            refresh_here(), *(elsewhere(share) for share in split[1:] if elsewhere)
        )

    async def statistics() -> None:
        await asyncio.gather(uscc_built, *builds)
        if not analysed:  # else taken while the last batches landed (sharded_load)
            async with pool.acquire() as conn:
                await _analyze_facts(conn, generation)

    try:
        # Bases' and stays' versions and every listing's (read back by the listing index, made
        # with the table), beside them.
        built = readmodel_places.build_all(pool, generation) if places is None else places()
        listings = readmodel_listings.build_all(pool, generation)
        await asyncio.gather(summaries(), statistics(), built, listings)
    finally:
        if not uscc_built.done():
            uscc_built.cancel()
        await asyncio.gather(uscc_built, return_exceptions=True)
    async with pool.acquire() as conn:
        await conn.execute(f"ALTER TABLE {g}.facts RESET (autovacuum_enabled)")
        await conn.execute(f"ANALYZE {g}.agencies")


async def _build(pool: asyncpg.Pool, build: Callable[[Connection], Awaitable[object]]) -> None:
    """An index build on a connection of its own, its sort in memory."""
    async with pool.acquire() as conn:
        # The sort of a million keys in memory instead of spilled to disk (1M facts: the
        # fold-order index 3.2 s -> 2.1 s); the setting goes with the session.
        await conn.execute(f"SET maintenance_work_mem = '{INDEX_MEMORY}'")
        await build(conn)


def _statement(ddl: str) -> Callable[[Connection], Awaitable[str]]:
    return lambda conn: conn.execute(ddl)


async def next_generation(pool: asyncpg.Pool) -> str:
    """A new generation, its schema created here: two rebuilds at once (two instances, or an
    operator's command beside one) took the same name and the second failed on it, after its
    202 (test_rebuild_over_http.py); its creator alone may drop it."""
    async with pool.acquire() as conn:
        await readmodel.ensure(conn)
        while True:
            existing = await readmodel.generations(conn)
            numbers = [int(g.removeprefix("reporting_g")) for g in existing] or [1]
            generation = readmodel.generation_name(max(numbers) + 1)
            try:
                await conn.execute(f"CREATE SCHEMA {readmodel.checked_generation(generation)}")
            except (asyncpg.DuplicateSchemaError, asyncpg.UniqueViolationError):
                continue  # taken meanwhile: the next one
            return generation


async def _switch(pool: asyncpg.Pool, generation: str, offsets: Offsets) -> bool:
    async with pool.acquire() as conn:
        return await readmodel.switch_generation(
            conn,
            new=generation,
            live_consumer=await readmodel.live_consumer(conn),
            offsets=offsets,
        )


async def _bulk_load(
    pool: asyncpg.Pool,
    kafka: AIOKafkaConsumer,
    generation: str,
    to_read: list[Span],
    *,
    shards: Shards | None,
    max_records: int,
    report: Callable[[Counts], None],
    fresh: bool,
) -> Counts:
    """From the saved checkpoints to the ends, here or split by partition (`shards`), then the
    secondary indexes and the agency summaries: folded as the facts are loaded if the load is
    `fresh` (from nothing saved), else from the table (a resumed load's earlier facts are
    there only)."""
    split = split_spans(to_read, shards.workers if shards else 1)
    if shards is None or len(split) < 2:
        agencies = Agencies() if fresh else None
        places = PlaceFacts() if fresh else None
        counts = await load(
            pool,
            kafka,
            to_read,
            generation=generation,
            refresh=False,
            max_records=max_records,
            progress=report,
            agencies=agencies,
            places=places,
        )
        folded = asyncio.ensure_future(_fold(agencies, pool, generation))

        async def refold() -> list[str] | None:
            counts.folded = await folded
            return [] if fresh else None

        async def places_built() -> None:
            await folded  # one computation at a time in this process's threads
            if places is not None:
                counts.places = await places.build(pool, generation)

        await finish_load(pool, generation, refold=refold, places=places_built if fresh else None)
        return counts
    return await sharded_load(
        pool,
        kafka,
        generation,
        split,
        shards=shards,
        max_records=max_records,
        report=report,
        summaries=fresh,
    )


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)


async def replay(
    pool: asyncpg.Pool,
    bootstrap: str,
    topics: Sequence[str],
    *,
    generation: str,
    switch: bool,
    progress: Progress | None = None,
    max_records: int = 5000,
    until: Offsets | None = None,
    dsn: str | None = None,
    workers: int = 1,
    security: KafkaSecurity | None = None,
) -> ReplayResult:
    """Fold every event of `topics` from offset 0 into `generation`; optionally switch to it.

    With `until` (next offset per partition) it stops exactly there, e.g. to compare with the
    live projection at the same log positions. With `workers` > 1 (and the `dsn` they connect
    with), the bulk load is split by partition over that many processes (this one and spawned
    ones), the agency summaries too; catch-up and the switch then run here as in the
    single-process path.
    """
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_tables_ddl(generation))
        # No autovacuum pass over the facts while they are bulk loaded (at 1M it vacuumed and
        # analysed the growing table once, competing for the cores); on again, with fresh
        # statistics, before the switch (finish_load).
        await conn.execute(
            f"ALTER TABLE {readmodel.checked_generation(generation)}.facts "
            "SET (autovacuum_enabled = false)"
        )
        saved = await readmodel.replay_offsets(conn, readmodel.replay_consumer(generation))
    started = time.monotonic()
    partitions = await topic_reading.partitions(bootstrap, topics, security)
    async with topic_reading.log_reader(bootstrap, security) as kafka:
        if until is None:
            ends = await topic_reading.end_offsets(kafka, partitions)
        else:
            ends = {tp: max(until.get(tp, 0), saved.get(tp, 0)) for tp in partitions}
        to_read = topic_reading.spans(saved, ends)
        total = sum(s.size for s in to_read)

        def report(counts: Counts) -> None:
            if progress is not None:
                progress(counts.events, max(total, counts.events))

        shards = Shards(dsn, bootstrap, security, workers) if workers > 1 and dsn else None
        counts = await _bulk_load(
            pool,
            kafka,
            generation,
            to_read,
            shards=shards,
            max_records=max_records,
            report=report,
            fresh=not saved,
        )
        offsets = {tp: max(saved.get(tp, 0), ends[tp]) for tp in partitions}
        log.info("replay.indexed", events=counts.events, seconds=_since(started))
        switched = False
        while switch and not (switched := await _switch(pool, generation, offsets)):
            ends = await topic_reading.end_offsets(kafka, partitions)  # the live side moved on
            total = counts.events + sum(s.size for s in topic_reading.spans(offsets, ends))
            more = await load(
                pool,
                kafka,
                topic_reading.spans(offsets, ends),
                generation=generation,
                refresh=True,
                max_records=max_records,
            )
            counts += more
            report(counts)
            offsets = {tp: max(offsets[tp], ends[tp]) for tp in partitions}
    seconds = time.monotonic() - started
    log.info(
        "replay.finished", generation=generation, events=counts.events, seconds=_since(started)
    )
    return ReplayResult(
        generation, counts.events, counts.facts, counts.skipped, counts.dead, seconds, switched
    )
