"""Foundation benchmark: each figure of the platform measured next to its bare baseline.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_foundation [--quick]

1. Event-store appends/s — `EventStore.append` of one event to a new stream (expected_version=0),
   one writer and concurrent writers, against a raw asyncpg BEGIN/INSERT/COMMIT of a row with
   the same columns (jsonb payload) into a plain table in the same database, same pool.
2. Relay events/s into Kafka — `OutboxRelay.publish_batch()` loops over pre-appended events until
   Kafka acknowledged all of them, against a raw idempotent AIOKafkaProducer (the settings of
   `servicekit.relay.make_producer`) sending the same pre-serialised records (same keys, values,
   headers), each into its own fresh 6-partition topic.
3. Registry commands/s over HTTP — the real registry app and a bare FastAPI endpoint, each served
   by uvicorn in its own process on 127.0.0.1 and loaded by one httpx.AsyncClient with a fixed
   number of concurrent requests.

Kafka and PostgreSQL come from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set, else devstack
starts both in a temporary folder. Every run works in a fresh database (dropped at the end).
Results go to benchmarks/RESULTS.md (this mode's section is replaced) and
benchmarks/results-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from devstack.kafka import start_kafka
from devstack.ports import free_port
from devstack.postgres import start_postgres

from servicekit.cloudevents import to_kafka_record
from servicekit.eventstore import EventStore, NewEvent
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from servicekit.logging import configure_logging
from servicekit.relay import OutboxRelay, make_producer
from tests.conftest import TEST_SECRET
from tests.support import auth, registration, staff_event

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PRODUCER_NAME = "registry"
RELAY_PARTITIONS = 6
EVENTS_PER_STREAM = 10  # relay fill: streams of several events, as agencies have
APPEND_WARMUP = 200
HTTP_WARMUP = 200
KAFKA_WARMUP = 2_000
LEADER_TIMEOUT = 30.0
SERVER_START_TIMEOUT = 90.0


@dataclass(frozen=True)
class Sizes:
    appends_single: int
    appends_concurrent: int
    writers: int
    relay_events: int
    relay_batch: int
    http_requests: int
    http_concurrency: int


FULL = Sizes(
    appends_single=4_000,
    appends_concurrent=8_000,
    writers=16,
    relay_events=20_000,
    relay_batch=500,
    http_requests=4_000,
    http_concurrency=32,
)
QUICK = Sizes(
    appends_single=500,
    appends_concurrent=1_000,
    writers=16,
    relay_events=3_000,
    relay_batch=500,
    http_requests=600,
    http_concurrency=32,
)


# --------------------------------------------------------------------------- measurement


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Run:
    """One timed run: how many operations, the wall time, and each operation's latency."""

    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count,
            "seconds": round(self.seconds, 4),
            "per_second": round(self.rate, 1),
        }
        if self.latencies:
            out["p50_ms"] = round(percentile(self.latencies, 0.50) * 1000, 3)
            out["p99_ms"] = round(percentile(self.latencies, 0.99) * 1000, 3)
        out.update(self.extra)
        return out


async def drive(op: Callable[[T], Awaitable[object]], items: Sequence[T], workers: int) -> Run:
    """Run `op` over `items` from `workers` tasks (each takes every workers-th item)."""
    latencies: list[float] = []

    async def worker(chunk: Sequence[T]) -> None:
        for item in chunk:
            started = time.perf_counter()
            await op(item)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(items[w::workers]) for w in range(workers)))
    return Run(len(items), time.perf_counter() - started, latencies)


# --------------------------------------------------------------------------- infrastructure


@dataclass(frozen=True)
class Infra:
    kafka: str
    admin_dsn: str
    kafka_version: str


@contextlib.contextmanager
def infrastructure(state: Path) -> Iterator[Infra]:
    """The servers from the environment, else Kafka and PostgreSQL started by devstack."""
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    dsn = os.environ.get("DATABASE_URL")
    kafka_version = f"external ({kafka})"
    with contextlib.ExitStack() as stack:
        if not kafka:
            print("starting Kafka (devstack) ...", flush=True)
            broker = start_kafka(state / "kafka")
            stack.callback(broker.stop)
            kafka, kafka_version = broker.bootstrap, broker.version
        if not dsn:
            print("starting PostgreSQL (devstack) ...", flush=True)
            server = start_postgres(state / "postgres")
            stack.callback(server.stop)
            dsn = server.url
        yield Infra(kafka, dsn, kafka_version)


async def create_database(admin_dsn: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}", name


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- 1. appends

RAW_DDL = """
CREATE TABLE IF NOT EXISTS public.raw_events (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    event_type      text NOT NULL,
    event_version   integer NOT NULL,
    data            jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text NOT NULL,
    actor_role      text NOT NULL,
    correlation_id  text NOT NULL,
    causation_id    text NOT NULL
)
"""
RAW_INSERT = """
INSERT INTO public.raw_events (event_id, stream_id, stream_version, event_type, event_version,
    data, occurred_at, recorded_at, actor, actor_role, correlation_id, causation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), $8, $9, $10, $11)
"""
RawRow = tuple[uuid.UUID, str, int, str, int, dict[str, Any], dt.datetime, str, str, str, str]


def raw_row(event: NewEvent, stream_id: str) -> RawRow:
    m = event.metadata
    return (
        event.event_id,
        stream_id,
        1,
        event.event.event_type,
        event.event.event_version,
        event.event.model_dump(mode="json"),
        m.occurred_at,
        m.actor,
        m.actor_role,
        m.correlation_id,
        m.causation_id,
    )


async def bench_appends(db_url: str, sizes: Sizes) -> dict[str, Any]:
    pool = await create_pool(db_url, max_size=sizes.writers)
    try:
        store = EventStore(pool, "bench_store")
        await store.create_schema()
        await pool.execute(RAW_DDL)

        async def ours(item: tuple[str, NewEvent]) -> None:
            await store.append(item[0], [item[1]], expected_version=0)

        async def baseline(row: RawRow) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(RAW_INSERT, *row)

        def workload(prefix: str, n: int) -> tuple[list[tuple[str, NewEvent]], list[RawRow]]:
            streams = [f"{prefix}-{i}" for i in range(n)]
            mine = [(s, staff_event(s)) for s in streams]
            raw = [raw_row(staff_event(s), s) for s in streams]
            return mine, raw

        warm_ours, warm_raw = workload("warm", APPEND_WARMUP)
        await drive(ours, warm_ours, sizes.writers)
        await drive(baseline, warm_raw, sizes.writers)

        results: dict[str, Any] = {}
        for shape, n, writers in (
            ("single", sizes.appends_single, 1),
            ("concurrent", sizes.appends_concurrent, sizes.writers),
        ):
            mine, raw = workload(shape, n)
            print(f"  appends, {writers} writer(s), n={n} ...", flush=True)
            base_run = await drive(baseline, raw, writers)
            ours_run = await drive(ours, mine, writers)
            results[shape] = {
                "writers": writers,
                "n": n,
                "ours": ours_run.summary(),
                "baseline": base_run.summary(),
            }
            print(f"    ours {ours_run.rate:,.0f}/s  baseline {base_run.rate:,.0f}/s", flush=True)
        return results
    finally:
        await pool.close()


# --------------------------------------------------------------------------- 2. relay

KafkaRecord = tuple[bytes, bytes, list[tuple[str, bytes]]]


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """The baseline producer: the same settings as servicekit.relay.make_producer."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def topic_size(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(RELAY_PARTITIONS)]
        ends = await consumer.end_offsets(parts)
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


async def wait_for_leaders(bootstrap: str, topics: Sequence[str]) -> None:
    """Until the broker reports a leader for every partition of the new topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + LEADER_TIMEOUT
        while True:
            described = await admin.describe_topics(list(topics))
            ready = [
                t
                for t in described
                if t["error_code"] == 0
                and len(t["partitions"]) == RELAY_PARTITIONS
                and all(p["error_code"] == 0 and p["leader"] >= 0 for p in t["partitions"])
            ]
            if len(ready) == len(topics):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"no leaders for {topics} within {LEADER_TIMEOUT} s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def send_all(producer: AIOKafkaProducer, topic: str, records: Sequence[KafkaRecord]) -> None:
    deliveries = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for key, value, headers in records
    ]
    await asyncio.gather(*deliveries)


async def bench_relay(db_url: str, kafka: str, sizes: Sizes) -> dict[str, Any]:
    pool = await create_pool(db_url, max_size=8)
    ours_producer = make_producer(kafka)
    base_producer = raw_producer(kafka)
    try:
        store = EventStore(pool, "bench_relay")
        await store.create_schema()
        n_streams = sizes.relay_events // EVENTS_PER_STREAM
        streams = [f"relay-{i}" for i in range(n_streams)]
        print(f"  relay: appending {n_streams * EVENTS_PER_STREAM} events ...", flush=True)

        async def fill(stream_id: str) -> None:
            events = [staff_event(stream_id, n) for n in range(1, EVENTS_PER_STREAM + 1)]
            await store.append(stream_id, events, expected_version=0)

        await drive(fill, streams, 4)
        total = await store.head_position()

        # The baseline sends exactly the bytes the relay sends (key, CloudEvent value, headers).
        records: list[KafkaRecord] = []
        after = 0
        while batch := await store.read_all(after, 5_000):
            records.extend(to_kafka_record(e, PRODUCER_NAME) for e in batch)
            after = batch[-1].position
        value_bytes = [len(v) for _, v, _ in records]

        run_id = uuid.uuid4().hex[:8]
        warm_topic = f"bench.warmup.{run_id}"
        ours_topic = f"bench.relay.{run_id}"
        base_topic = f"bench.raw.{run_id}"
        rounds_topic = f"bench.rounds.{run_id}"
        topics = [warm_topic, ours_topic, base_topic, rounds_topic]
        await ensure_topics(kafka, [(t, RELAY_PARTITIONS) for t in topics])
        await wait_for_leaders(kafka, topics)
        await ours_producer.start()
        await base_producer.start()
        # Same warm-up for both producers: connections, producer ids, broker JIT, metadata.
        for producer in (ours_producer, base_producer):
            await send_all(producer, warm_topic, records[:KAFKA_WARMUP])
            for topic in (ours_topic, base_topic, rounds_topic):
                await producer.partitions_for(topic)

        print(f"  relay: publishing {total} events, batch {sizes.relay_batch} ...", flush=True)
        relay = OutboxRelay(
            store,
            ours_producer,
            producer_name=PRODUCER_NAME,
            topic=ours_topic,
            batch_size=sizes.relay_batch,
        )
        started = time.perf_counter()
        published = 0
        while published < total:
            sent = await relay.publish_batch()
            if sent == 0:
                break
            published += sent
        ours_run = Run(published, time.perf_counter() - started)

        started = time.perf_counter()
        await send_all(base_producer, base_topic, records)
        base_run = Run(len(records), time.perf_counter() - started)

        # Informative: the raw producer with the relay's batch barrier (send 500, await all).
        started = time.perf_counter()
        for i in range(0, len(records), sizes.relay_batch):
            await send_all(base_producer, rounds_topic, records[i : i + sizes.relay_batch])
        rounds_run = Run(len(records), time.perf_counter() - started)

        ours_run.extra["in_topic"] = await topic_size(kafka, ours_topic)
        base_run.extra["in_topic"] = await topic_size(kafka, base_topic)
        print(
            f"    ours {ours_run.rate:,.0f}/s  baseline {base_run.rate:,.0f}/s  "
            f"(raw in {sizes.relay_batch}-rounds {rounds_run.rate:,.0f}/s)",
            flush=True,
        )
        return {
            "n": total,
            "batch_size": sizes.relay_batch,
            "partitions": RELAY_PARTITIONS,
            "streams": n_streams,
            "value_bytes_mean": round(sum(value_bytes) / len(value_bytes), 1),
            "headers_per_record": len(records[0][2]),
            "ours": ours_run.summary(),
            "baseline": base_run.summary(),
            "baseline_in_batch_rounds": rounds_run.summary(),
        }
    finally:
        await ours_producer.stop()
        await base_producer.stop()
        await pool.close()


# --------------------------------------------------------------------------- 3. HTTP

REGISTER_PATH = "/commands/register-agency"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:]


@contextlib.asynccontextmanager
async def serve(
    factory: str, env: dict[str, str], log_path: Path, ready_path: str
) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"{factory} exited: {tail(log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get(ready_path)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} not ready: {tail(log_path)}")
                await asyncio.sleep(0.2)
        yield base, proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def load(
    base: str,
    pid: int,
    bodies: Sequence[dict[str, object]],
    headers: dict[str, str],
    concurrency: int,
) -> Run:
    """`concurrency` requests in flight, each slot an AsyncClient with one keep-alive connection.

    One client per slot rather than one shared 32-connection client: httpcore's pool costs the
    client several ms of CPU per request at that size, which would make the load generator,
    not the server, the bottleneck of both figures.
    """
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=60)
            )
            for _ in range(concurrency)
        ]

        async def slot(client: httpx.AsyncClient, queue: Iterator[dict[str, object]]) -> None:
            for body in queue:
                started = time.perf_counter()
                response = await client.post(REGISTER_PATH, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1

        async def run_over(part: Sequence[dict[str, object]]) -> float:
            queue = iter(part)  # shared: each slot takes the next body when it is free
            started = time.perf_counter()
            await asyncio.gather(*(slot(c, queue) for c in clients))
            return time.perf_counter() - started

        await run_over(bodies[:HTTP_WARMUP])
        statuses.clear()
        latencies.clear()
        server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
        seconds = await run_over(bodies[HTTP_WARMUP:])
        server_cpu = cpu_seconds(pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    run = Run(len(bodies) - HTTP_WARMUP, seconds, latencies)
    run.extra.update(
        statuses={str(k): v for k, v in sorted(statuses.items())},
        server_cpu_ms_per_request=round(server_cpu * 1000 / run.count, 3),
        client_cpu_ms_per_request=round(client_cpu * 1000 / run.count, 3),
    )
    return run


async def bench_http(db_url: str, kafka: str, sizes: Sizes, logs: Path) -> dict[str, Any]:
    env = {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
    }
    headers = auth()
    total = sizes.http_requests + HTTP_WARMUP
    bodies = [registration(serial) for serial in range(1, total + 1)]
    results: dict[str, Any] = {"n": sizes.http_requests, "concurrency": sizes.http_concurrency}
    for name, factory, ready in (
        ("baseline", "benchmarks.bare_app:create_app", "/health/live"),
        ("ours", "services.registry.app:create_app", "/health/ready"),
    ):
        print(f"  http: {factory}, n={sizes.http_requests} ...", flush=True)
        async with serve(factory, env, logs / f"{name}.log", ready) as (base, pid):
            run = await load(base, pid, bodies, headers, sizes.http_concurrency)
        results[name] = run.summary()
        bad = sum(v for k, v in run.extra["statuses"].items() if k != "201")
        if bad:
            print(f"    WARNING: {bad} responses were not 201: {run.extra['statuses']}")
        print(
            f"    {run.rate:,.0f} req/s  p50 {results[name]['p50_ms']} ms  "
            f"p99 {results[name]['p99_ms']} ms",
            flush=True,
        )
    return results


# --------------------------------------------------------------------------- report


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("asyncpg", "aiokafka", "fastapi", "uvicorn", "httpx", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    return out


@dataclass(frozen=True)
class Row:
    figure: str
    ours: float
    baseline: float
    digits: int = 0

    def cells(self) -> list[str]:
        ratio = self.ours / self.baseline if self.baseline else math.nan
        return [
            self.figure,
            f"{self.ours:,.{self.digits}f}",
            f"{self.baseline:,.{self.digits}f}",
            f"{ratio:.2f}×",
        ]


def pair(section: dict[str, Any], key: str) -> tuple[float, float]:
    return section["ours"][key], section["baseline"][key]


def rows(results: dict[str, Any]) -> list[Row]:
    a, r, h = results["appends"], results["relay"], results["http"]
    single, conc = a["single"], a["concurrent"]
    w, c = conc["writers"], h["concurrency"]
    return [
        Row("Event-store appends/s, 1 writer", *pair(single, "per_second")),
        Row(f"Event-store appends/s, {w} writers", *pair(conc, "per_second")),
        Row("Append latency p50 ms, 1 writer", *pair(single, "p50_ms"), 2),
        Row(f"Append latency p50 ms, {w} writers", *pair(conc, "p50_ms"), 2),
        Row(f"Append latency p99 ms, {w} writers", *pair(conc, "p99_ms"), 2),
        Row("Relay → Kafka events/s (until acked)", *pair(r, "per_second")),
        Row(f"Registry commands/s over HTTP, {c} concurrent", *pair(h, "per_second")),
        Row("HTTP latency p50 ms", *pair(h, "p50_ms"), 1),
        Row("HTTP latency p99 ms", *pair(h, "p99_ms"), 1),
        Row("Server CPU ms per request", *pair(h, "server_cpu_ms_per_request"), 2),
    ]


def interpretation(results: dict[str, Any]) -> list[str]:
    a, r, h = results["appends"], results["relay"], results["http"]
    single, conc = a["single"], a["concurrent"]
    conc_ratio = conc["ours"]["per_second"] / conc["baseline"]["per_second"]
    scale_ours = conc["ours"]["per_second"] / single["ours"]["per_second"]
    scale_base = conc["baseline"]["per_second"] / single["baseline"]["per_second"]
    rounds = r["baseline_in_batch_rounds"]["per_second"]
    return [
        f"**Appends.** One `append` is one transaction of seven round trips (BEGIN, advisory "
        f"lock, event-id check, stream-version read, INSERT … RETURNING, NOTIFY, COMMIT) against "
        f"three for the baseline, and it maintains the unique (stream_id, stream_version) and "
        f"event_id indexes the plain table lacks; both wait for the same WAL flush at commit. "
        f"With {conc['writers']} writers the baseline scales {scale_base:.1f}× over one writer "
        f"(group commit), the store {scale_ours:.1f}×: the per-store advisory lock serialises "
        f"appends by design, so positions become visible in commit order and a reader following "
        f"`position > last_seen` never skips a row. Concurrent writers therefore queue on the "
        f"lock (p99 {conc['ours']['p99_ms']:.1f} ms vs {conc['baseline']['p99_ms']:.1f} ms) and "
        f"the store reaches {conc_ratio:.0%} of the raw-insert rate.",
        f"**Relay.** The relay reads {r['batch_size']} events from PostgreSQL, builds each "
        f"CloudEvent envelope (pydantic, ~{r['value_bytes_mean']:.0f}-byte JSON + "
        f"{r['headers_per_record']} headers), waits for Kafka to acknowledge the whole batch and "
        f"saves its checkpoint before the next one. The raw producer streams pre-serialised "
        f"bytes with no barrier; the same raw producer forced into {r['batch_size']}-record "
        f"rounds does {rounds:,.0f}/s, so the gap splits into the at-least-once batch barrier "
        f"and the per-event read + envelope serialisation in Python.",
        f"**HTTP.** A registry command authenticates a JWT, validates the command, reads and "
        f"folds the stream, checks the idempotency key, and appends through the store with an "
        f"inline read-model upsert (one more statement in the append transaction), while the "
        f"relay in the same process publishes to Kafka. The bare endpoint only parses the body. "
        f"Server CPU per request ({h['ours']['server_cpu_ms_per_request']:.2f} ms vs "
        f"{h['baseline']['server_cpu_ms_per_request']:.2f} ms) shows where the time goes; on "
        f"this {results['machine']['cpu_count']}-core machine the client (httpx, "
        f"{h['baseline']['client_cpu_ms_per_request']:.2f} ms CPU per request), the server, "
        f"PostgreSQL and Kafka share the cores, so the bare figure is partly bounded by the "
        f"load generator and both figures are lower than on a dedicated host.",
    ]


def markdown_section(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["sizes"]
    v = m["versions"]
    lines = [
        f"## {results['mode'].capitalize()} run — {results['started_at']}",
        "",
        f"- Machine: {m['cpu_count']} CPUs (`os.cpu_count()`), {m['cpu_model']}; "
        f"load average at start {m['loadavg_at_start']}",
        f"- Python {v['python']}, PostgreSQL {m['postgresql']}, Kafka {m['kafka']}; "
        f"asyncpg {v.get('asyncpg')}, aiokafka {v.get('aiokafka')}, fastapi {v.get('fastapi')}, "
        f"uvicorn {v.get('uvicorn')} (no uvloop/httptools), httpx {v.get('httpx')}",
        f"- N: appends {s['appends_single']:,} (1 writer) and {s['appends_concurrent']:,} "
        f"({s['writers']} writers, pool {s['writers']}); relay {results['relay']['n']:,} events "
        f"in batches of {s['relay_batch']} to {RELAY_PARTITIONS} partitions "
        f"({results['relay']['streams']:,} keys); HTTP {s['http_requests']:,} requests at "
        f"{s['http_concurrency']} concurrent (after {HTTP_WARMUP} warm-up requests)",
        f"- Wall time: {results['wall_seconds']:.0f} s measuring (fresh database to drop), "
        f"{results['wall_seconds_with_infra']:.0f} s with starting and stopping the servers",
        "",
        "| Figure | Ours | Baseline | Ratio (ours ÷ baseline) |",
        "|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows(results)]
    lines += ["", *[f"{i}. {text}" for i, text in enumerate(interpretation(results), 1)], ""]
    return "\n".join(lines)


RESULTS_HEADER = """# Foundation benchmark results

Written by `.venv/bin/python -m benchmarks.bench_foundation [--quick]` (see its docstring for
what each figure and baseline measure). Each run replaces the section of its mode; the raw
numbers of the latest run are in `results-latest.json`. Throughput ratios below 1 mean the
platform is slower than the bare baseline; latency and CPU ratios above 1 mean it costs more.
"""


def write_results(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results-latest.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md = out / "RESULTS.md"
    text = md.read_text(encoding="utf-8") if md.exists() else RESULTS_HEADER
    begin = f"<!-- bench_foundation:{results['mode']}:begin -->"
    end = f"<!-- bench_foundation:{results['mode']}:end -->"
    section = f"{begin}\n{markdown_section(results)}{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    md.write_text(text, encoding="utf-8")


def print_table(results: dict[str, Any]) -> None:
    table = [["Figure", "Ours", "Baseline", "Ratio"], *(row.cells() for row in rows(results))]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for r in table:
        cells = [r[0].ljust(widths[0]), *(c.rjust(wd) for c, wd in zip(r[1:], widths[1:]))]
        print("  ".join(cells))


# --------------------------------------------------------------------------- main


async def run_all(infra: Infra, sizes: Sizes, mode: str, logs: Path) -> dict[str, Any]:
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    wall = time.perf_counter()
    db_url, db_name = await create_database(infra.admin_dsn)
    print(f"fresh database {db_name}", flush=True)
    try:
        conn = await asyncpg.connect(db_url)
        try:
            pg_version = str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()
        print("1. event-store appends", flush=True)
        appends = await bench_appends(db_url, sizes)
        print("2. relay into Kafka", flush=True)
        relay = await bench_relay(db_url, infra.kafka, sizes)
        print("3. registry commands over HTTP", flush=True)
        http = await bench_http(db_url, infra.kafka, sizes, logs)
    finally:
        await drop_database(infra.admin_dsn, db_name)
    return {
        "benchmark": "bench_foundation",
        "mode": mode,
        "started_at": started_at,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "postgresql": pg_version,
            "kafka": infra.kafka_version,
            "versions": versions(),
        },
        "sizes": sizes.__dict__,
        "appends": appends,
        "relay": relay,
        "http": http,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small N: a run under a minute")
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR, help="folder for RESULTS.md and the JSON"
    )
    args = parser.parse_args(argv)
    sizes, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    configure_logging("bench", "WARNING")
    loadavg = os.getloadavg()
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-foundation-") as tmp:
        state = Path(tmp)
        logs = state / "logs"
        logs.mkdir()
        with infrastructure(state) as infra:
            results = asyncio.run(run_all(infra, sizes, mode, logs))
    results["machine"]["loadavg_at_start"] = [round(x, 2) for x in loadavg]  # before servers
    results["wall_seconds_with_infra"] = round(time.perf_counter() - total, 1)
    write_results(results, args.out)
    print_table(results)
    print(
        f"\n{mode} run: {results['wall_seconds']:.0f} s measuring, "
        f"{results['wall_seconds_with_infra']:.0f} s with server start/stop; "
        f"results in {args.out / 'RESULTS.md'} and {args.out / 'results-latest.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
