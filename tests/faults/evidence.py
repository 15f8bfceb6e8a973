"""What the platform holds after a scenario, read through its public faces.

SQL reads of the tables docs/operations.md names (`<schema>.events`, `consumer_offsets`,
`dead_letters`, `parked_records`, `skipped_events`, `checkpoints`), of the consumers' per-stream
state (`consumer_streams`) and read models; the topics read from offset 0 with plain aiokafka.
Nothing here calls into servicekit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiokafka.errors import KafkaError
from socialwork_contracts.topics import EVENT_TOPICS, INCUBATION, REGISTRY, SUPERVISION

from tests.faults.kafka_log import Reader, Record

PRODUCERS = {
    "registry": REGISTRY.name,
    "incubation": INCUBATION.name,
    "supervision": SUPERVISION.name,
}
ALL_TOPICS = tuple(t.name for t in EVENT_TOPICS)
Where = tuple[str, str, int, int]  # consumer, topic, partition, offset


@dataclass(frozen=True)
class ConsumerSpec:
    schema: str  # the consuming service's schema (its checkpoints and dead letters live there)
    name: str
    topics: tuple[str, ...]


# From services/*/consumers.py; reporting's name is per database, found at run time.
FIXED_CONSUMERS = (
    ConsumerSpec("registry", "registry.supervision-penalties", (SUPERVISION.name,)),
    ConsumerSpec("incubation", "incubation.registry-agencies", (REGISTRY.name,)),
    ConsumerSpec("incubation", "incubation.supervision-credit", (SUPERVISION.name,)),
    ConsumerSpec("supervision", "supervision.agencies", (REGISTRY.name,)),
    ConsumerSpec("supervision", "supervision.residencies", (INCUBATION.name,)),
)


async def consumers(database_url: str) -> list[ConsumerSpec]:
    """The fixed consumers plus reporting's live projection (its name is per installation)."""
    conn = await connect(database_url)
    try:
        live: str = await conn.fetchval("SELECT live_consumer FROM reporting.installation")
    finally:
        await conn.close()
    return [*FIXED_CONSUMERS, ConsumerSpec("reporting", live, ALL_TOPICS)]


async def connect(database_url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(database_url, timeout=5)
    return conn


async def reporting_generation(conn: asyncpg.Connection) -> str:
    name: str = await conn.fetchval("SELECT current FROM reporting.generation")
    assert name.replace("_", "").isalnum(), name
    return name


async def offsets(
    conn: asyncpg.Connection, specs: Sequence[ConsumerSpec]
) -> dict[tuple[str, str, int], int]:
    """(consumer, topic, partition) -> next offset, from each service's `consumer_offsets`."""
    found: dict[tuple[str, str, int], int] = {}
    for schema in sorted({c.schema for c in specs}):
        rows = await conn.fetch(
            f"SELECT consumer, topic, partition, next_offset FROM {schema}.consumer_offsets"
        )
        for r in rows:
            found[(r["consumer"], r["topic"], r["partition"])] = r["next_offset"]
    return found


def behind(
    specs: Sequence[ConsumerSpec],
    checkpoints: dict[tuple[str, str, int], int],
    ends: dict[tuple[str, int], int],
) -> dict[tuple[str, str, int], tuple[int, int]]:
    """Partitions whose consumer has not reached the end: -> (checkpoint, end)."""
    lagging = {}
    for spec in specs:
        for (topic, partition), end in ends.items():
            if topic not in spec.topics:
                continue
            at = checkpoints.get((spec.name, topic, partition), 0)
            if at != end:
                lagging[(spec.name, topic, partition)] = (at, end)
    return lagging


async def facts_missing(conn: asyncpg.Connection) -> int:
    """Stored events the reporting projection (which folds all three topics) has not applied."""
    generation = await reporting_generation(conn)
    count: int = await conn.fetchval(
        "SELECT count(*) FROM (SELECT event_id::text AS id FROM registry.events UNION ALL "
        "SELECT event_id::text FROM incubation.events UNION ALL "
        f"SELECT event_id::text FROM supervision.events) e "
        f"WHERE NOT EXISTS (SELECT 1 FROM {generation}.facts f WHERE f.event_id = e.id)"
    )
    return count


async def reactions_missing(conn: asyncpg.Connection, causes: Sequence[str]) -> int:
    """Accepted penalties the registry's process manager has not yet followed."""
    followed: int = await conn.fetchval(
        "SELECT count(DISTINCT causation_id) FROM registry.events WHERE causation_id = ANY($1)",
        list(causes),
    )
    return len(causes) - followed


async def wait_converged(
    database_url: str,
    reader: Reader,
    specs: Sequence[ConsumerSpec],
    causes: Sequence[str],
    *,
    stall: float = 60.0,
    cap: float = 240.0,
) -> float | None:
    """Wait until every stored event is applied, every penalty followed, every consumer at its
    topics' ends — and still so a second later (a process manager may append after a look).

    Returns the monotonic time it first held, or None once nothing has moved for `stall`
    seconds (a wedged partition, a relay that stopped) or `cap` seconds have passed.
    """
    started = last_move = time.monotonic()
    previous: tuple[int, ...] | None = None
    settled: tuple[float, tuple[int, ...]] | None = None  # when it first held, at what state
    while time.monotonic() - started < cap and time.monotonic() - last_move < stall:
        with contextlib.suppress(
            OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError
        ):
            conn = await connect(database_url)
            try:
                ends = await reader.end_offsets(ALL_TOPICS)
                lagging = behind(specs, await offsets(conn, specs), ends)
                missing = await facts_missing(conn) + await reactions_missing(conn, causes)
            finally:
                await conn.close()
            signature = (sum(a for a, _ in lagging.values()), missing, sum(ends.values()))
            if lagging or missing:
                settled = None
            elif settled is None or settled[1] != signature:
                settled = (time.monotonic(), signature)
            elif time.monotonic() - settled[0] >= 1.0:
                return settled[0]
            if signature != previous:
                previous, last_move = signature, time.monotonic()
        await asyncio.sleep(0.5)
    return None


@dataclass
class Evidence:
    stored: dict[str, list[asyncpg.Record]]  # producing schema -> its events
    listings_expected: set[str]  # listing ids of the AgencyListed events stored by supervision
    records: dict[str, list[Record]]  # topic -> every record on it
    facts: set[str]
    incubation_agencies: dict[str, tuple[str, int]]  # uscc -> (status, version)
    supervision_agencies: dict[str, str]  # uscc -> status
    incubation_listings: set[str]
    checkpoints: dict[tuple[str, str, int], int]
    ends: dict[tuple[str, int], int]
    # ((consumer, topic, partition, offset), reason) of each dead letter and parked record
    dead_letters: list[tuple[Where, str]] = field(default_factory=list)
    parked: list[tuple[Where, str]] = field(default_factory=list)
    skipped: set[tuple[str, str]] = field(default_factory=set)
    # (consumer, topic, stream) -> (version, event id) each consumer last applied
    streams: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)
    # uscc -> version of registry.agencies, the registry's inline read model (written with
    # its events, in a group's batch by the events' own insert statement)
    registry_agencies: dict[str, int] = field(default_factory=dict)


async def gather(database_url: str, reader: Reader, specs: Sequence[ConsumerSpec]) -> Evidence:
    conn = await connect(database_url)
    try:
        stored = {
            schema: await conn.fetch(
                "SELECT event_id::text AS event_id, stream_id, stream_version, event_type, "
                f"correlation_id, causation_id, actor FROM {schema}.events ORDER BY position"
            )
            for schema in PRODUCERS
        }
        listing_rows = await conn.fetch(
            "SELECT data->>'listing_id' AS id FROM supervision.events "
            "WHERE event_type = 'AgencyListed'"
        )
        generation = await reporting_generation(conn)
        facts = {
            r["event_id"] for r in await conn.fetch(f"SELECT event_id FROM {generation}.facts")
        }
        inc = await conn.fetch("SELECT uscc, status, version FROM incubation.agencies")
        sup = await conn.fetch("SELECT uscc, status FROM supervision.agencies")
        listings = await conn.fetch("SELECT listing_id FROM incubation.listings")
        checkpoints = await offsets(conn, specs)
        evidence = Evidence(
            stored=stored,
            listings_expected={r["id"] for r in listing_rows},
            records={},
            facts=facts,
            incubation_agencies={r["uscc"]: (r["status"], r["version"]) for r in inc},
            supervision_agencies={r["uscc"]: r["status"] for r in sup},
            incubation_listings={r["listing_id"] for r in listings},
            checkpoints=checkpoints,
            ends=await reader.end_offsets(ALL_TOPICS),
        )
        own = await conn.fetch("SELECT uscc, version FROM registry.agencies")
        evidence.registry_agencies = {r["uscc"]: r["version"] for r in own}
        for schema in sorted({c.schema for c in specs}):
            place = f'consumer, topic, partition, "offset", reason FROM {schema}'
            for table, rows in (
                ("dead_letters", evidence.dead_letters),
                ("parked_records", evidence.parked),
            ):
                for r in await conn.fetch(f"SELECT {place}.{table}"):
                    rows.append(
                        ((r["consumer"], r["topic"], r["partition"], r["offset"]), r["reason"])
                    )
            skipped = await conn.fetch(f"SELECT consumer, event_id FROM {schema}.skipped_events")
            evidence.skipped |= {(r["consumer"], r["event_id"]) for r in skipped}
            streams = "consumer, topic, stream_id, version, event_id FROM {}.consumer_streams"
            for r in await conn.fetch(f"SELECT {streams.format(schema)}"):
                key = (r["consumer"], r["topic"], r["stream_id"])
                evidence.streams[key] = (r["version"], r["event_id"])
    finally:
        await conn.close()
    for topic in ALL_TOPICS:
        evidence.records[topic] = await reader.read([topic])
    return evidence


@dataclass
class CheckpointWatch:
    """Samples each relay's published position all through a scenario: it must never go back.

    The position is the `checkpoints` row `relay:<topic>` (docs/operations.md): the log is
    ordered by (writing transaction, position).
    """

    database_url: str
    regressions: list[str] = field(default_factory=list)
    samples: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        last: dict[tuple[str, str], tuple[int, int]] = {}
        conn: asyncpg.Connection | None = None
        while not stop.is_set():
            try:
                if conn is None or conn.is_closed():
                    conn = await connect(self.database_url)
                for schema in PRODUCERS:
                    rows = await conn.fetch(
                        "SELECT name, transaction_id::text::bigint AS tx, position "
                        f"FROM {schema}.checkpoints WHERE name LIKE 'relay:%'"
                    )
                    for r in rows:
                        key, now = (schema, r["name"]), (r["tx"], r["position"])
                        if key in last and now < last[key]:
                            self.regressions.append(f"{schema} {r['name']}: {last[key]} -> {now}")
                        last[key] = now
                self.samples += 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn = None  # the database is down or restarting: sample again later
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)
        if conn is not None:
            await conn.close()
