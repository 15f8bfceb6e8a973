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
3. Registry commands/s over HTTP — the real registry app and a bare FastAPI endpoint
   (benchmarks/bare_app.py), each served by uvicorn in its own process on 127.0.0.1, loaded by
   httpx.AsyncClient with a fixed number of requests in flight.

Each figure is measured in several rounds, ours and baseline back to back, alternating which goes
first; the tables give the median of the rounds and the range of the per-round ratio.

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
import itertools
import json
import logging
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from devstack.kafka import start_kafka
from devstack.ports import free_port
from devstack.postgres import start_postgres

from benchmarks.production_python import production_python
from servicekit.cloudevents import Envelopes, KafkaRecord
from servicekit.eventstore import START, EventStore, NewEvent
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from servicekit.logging import configure_logging
from servicekit.relay import OutboxRelay, make_producer
from servicekit.relay_records import log_position, read_pieces
from tests.conftest import TEST_SECRET
from tests.support import auth, registration, staff_event

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PRODUCER_NAME = "registry"
RELAY_PARTITIONS = 6
EVENTS_PER_STREAM = 10  # relay fill: streams of several events, as agencies have
APPEND_WARMUP = 200
KAFKA_WARMUP = 2_000
HTTP_WARMUP_PER_CLIENT = 3
LEADER_TIMEOUT = 30.0
SERVER_START_TIMEOUT = 90.0
REGISTER_PATH = "/commands/register-agency"


@dataclass(frozen=True)
class Sizes:
    rounds: int
    appends_single: int
    appends_concurrent: int
    writers: int
    relay_events: int
    relay_batch: int
    http_requests: int
    http_concurrency: int


FULL = Sizes(
    rounds=4,
    appends_single=3_000,
    appends_concurrent=6_000,
    writers=16,
    relay_events=20_000,
    relay_batch=500,
    http_requests=2_500,
    http_concurrency=32,
)
QUICK = Sizes(
    rounds=1,
    appends_single=600,
    appends_concurrent=1_200,
    writers=16,
    relay_events=4_000,
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


async def pair(
    index: int, ours: Callable[[], Awaitable[Run]], baseline: Callable[[], Awaitable[Run]]
) -> dict[str, Any]:
    """One round: both measurements back to back, the first one alternating between rounds."""
    order = [("baseline", baseline), ("ours", ours)]
    if index % 2:
        order.reverse()
    runs = {name: await measure() for name, measure in order}
    return {
        "first": order[0][0],
        "ours": runs["ours"].summary(),
        "baseline": runs["baseline"].summary(),
    }


def median_summary(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Median of every number over the rounds; status counts are summed."""
    out: dict[str, Any] = {}
    for key, value in summaries[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = round(statistics.median(s[key] for s in summaries), 3)
        elif isinstance(value, dict):
            total: Counter[str] = Counter()
            for s in summaries:
                total.update(s[key])
            out[key] = dict(sorted(total.items()))
    return out


def combine(rounds: list[dict[str, Any]], **info: Any) -> dict[str, Any]:
    return {
        **info,
        "ours": median_summary([r["ours"] for r in rounds]),
        "baseline": median_summary([r["baseline"] for r in rounds]),
        "rounds": rounds,
    }


def show(label: str, result: dict[str, Any]) -> None:
    print(
        f"    {label}: ours {result['ours']['per_second']:,.0f}/s  "
        f"baseline {result['baseline']['per_second']:,.0f}/s",
        flush=True,
    )


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
    kafka_version = f"external broker at {kafka}"
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


async def postgres_facts(db_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(db_url)
    try:
        return {
            name: str(await conn.fetchval(f"SHOW {name}"))
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        }
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
            return (
                [(s, staff_event(s)) for s in streams],
                [raw_row(staff_event(s), s) for s in streams],
            )

        warm_ours, warm_raw = workload("warm", APPEND_WARMUP)
        await drive(ours, warm_ours, sizes.writers)
        await drive(baseline, warm_raw, sizes.writers)

        results: dict[str, Any] = {}
        for shape, n, writers in (
            ("single", sizes.appends_single, 1),
            ("concurrent", sizes.appends_concurrent, sizes.writers),
        ):
            print(f"  appends, {writers} writer(s), n={n} x {sizes.rounds} rounds", flush=True)
            rounds = []
            for index in range(sizes.rounds):
                mine, raw = workload(f"r{index}-{shape}", n)
                rounds.append(
                    await pair(
                        index,
                        partial(drive, ours, mine, writers),
                        partial(drive, baseline, raw, writers),
                    )
                )
            results[shape] = combine(rounds, writers=writers, n=n)
            show(shape, results[shape])
        return results
    finally:
        await pool.close()


# --------------------------------------------------------------------------- 2. relay


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """The baseline producer: the same settings as servicekit.relay.make_producer."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def topic_sizes(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(RELAY_PARTITIONS)]
        ends = await consumer.end_offsets(parts)
        return {t: sum(v for tp, v in ends.items() if tp.topic == t) for t in topics}
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
        print(f"  relay: appending {n_streams * EVENTS_PER_STREAM:,} events", flush=True)

        async def fill(stream_id: str) -> None:
            events = [staff_event(stream_id, n) for n in range(1, EVENTS_PER_STREAM + 1)]
            await store.append(stream_id, events, expected_version=0)

        await drive(fill, streams, 4)
        total = await store.head_position()

        # The baseline sends exactly the bytes the relay sends (key, CloudEvent value, headers).
        records: list[KafkaRecord] = []
        envelopes = Envelopes(PRODUCER_NAME)
        after = START
        while batch := await read_pieces(store, after, 5_000):
            records.extend(envelopes.record(row) for row in batch)
            after = log_position(batch[-1])
        value_bytes = [len(v) for _, v, _ in records]

        run_id = uuid.uuid4().hex[:8]
        warm_topic = f"bench.warmup.{run_id}"
        kinds = ("relay", "raw", "rounds")
        topic = {(k, i): f"bench.{k}.{run_id}.{i}" for k in kinds for i in range(sizes.rounds)}
        all_topics = [warm_topic, *topic.values()]
        await ensure_topics(kafka, [(t, RELAY_PARTITIONS) for t in all_topics])
        await wait_for_leaders(kafka, all_topics)
        await ours_producer.start()
        await base_producer.start()
        # The same warm-up for both producers: connections, producer ids, metadata, broker JIT.
        # A just-created topic can answer NotLeaderForPartition for a moment; the producer
        # retries, and only this untimed warm-up can meet it, so its retry warnings are muted.
        sender_log = logging.getLogger("aiokafka.producer.sender")
        sender_level = sender_log.level
        sender_log.setLevel(logging.ERROR)
        try:
            for producer in (ours_producer, base_producer):
                await send_all(producer, warm_topic, records[:KAFKA_WARMUP])
        finally:
            sender_log.setLevel(sender_level)
        for producer in (ours_producer, base_producer):
            for name in topic.values():
                await producer.partitions_for(name)

        print(
            f"  relay: publishing {total:,} events, batch {sizes.relay_batch}, "
            f"x {sizes.rounds} rounds",
            flush=True,
        )

        async def relay_run(index: int) -> Run:
            relay = OutboxRelay(
                store,
                ours_producer,
                producer_name=PRODUCER_NAME,
                topic=topic["relay", index],
                batch_size=sizes.relay_batch,
            )
            started = time.perf_counter()
            published = 0
            async with store.pool.acquire() as conn:
                while published < total:
                    sent = await relay.publish_batch(conn)
                    if sent == 0:
                        break
                    published += sent
            return Run(published, time.perf_counter() - started)

        async def raw_run(index: int) -> Run:
            started = time.perf_counter()
            await send_all(base_producer, topic["raw", index], records)
            return Run(len(records), time.perf_counter() - started)

        async def raw_rounds_run(index: int) -> Run:
            # Informative: the raw producer with the relay's barrier (send a batch, await all).
            started = time.perf_counter()
            step = sizes.relay_batch
            for i in range(0, len(records), step):
                await send_all(base_producer, topic["rounds", index], records[i : i + step])
            return Run(len(records), time.perf_counter() - started)

        rounds = []
        batch_rounds = []
        for index in range(sizes.rounds):
            rounds.append(await pair(index, partial(relay_run, index), partial(raw_run, index)))
            batch_rounds.append((await raw_rounds_run(index)).summary())

        in_topics = await topic_sizes(kafka, list(topic.values()))
        complete = all(n == total for n in in_topics.values())
        if not complete:
            print(f"    WARNING: topic sizes differ from {total}: {in_topics}")
        result = combine(
            rounds,
            n=total,
            batch_size=sizes.relay_batch,
            partitions=RELAY_PARTITIONS,
            streams=n_streams,
            value_bytes_mean=round(sum(value_bytes) / len(value_bytes), 1),
            headers_per_record=len(records[0][2]),
            all_topics_hold_n_records=complete,
        )
        result["baseline_in_batch_rounds"] = median_summary(batch_rounds)
        result["baseline_in_batch_rounds"]["rounds"] = batch_rounds
        show("relay", result)
        print(
            f"    raw producer in {sizes.relay_batch}-record rounds: "
            f"{result['baseline_in_batch_rounds']['per_second']:,.0f}/s",
            flush=True,
        )
        return result
    finally:
        await ours_producer.stop()
        await base_producer.stop()
        await pool.close()


# --------------------------------------------------------------------------- 3. HTTP


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:]


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextlib.asynccontextmanager
async def serve(
    factory: str, env: dict[str, str], log_path: Path, ready_path: str
) -> AsyncIterator[Server]:
    """`uvicorn --factory <factory>` in a child process, until it answers `ready_path`, on
    the production dependency set (benchmarks/production_python.py)."""
    port = free_port()
    python = await asyncio.to_thread(production_python)
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            python,
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
        yield Server(base, proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def load(
    server: Server,
    bodies: Sequence[dict[str, object]],
    headers: dict[str, str],
    concurrency: int,
) -> Run:
    """`concurrency` requests in flight, each slot an AsyncClient with one keep-alive connection.

    One client per slot rather than one shared 32-connection client: httpcore's connection pool
    costs the client several ms of CPU per request at that size, which would make the load
    generator, not the server, the bottleneck of both figures. The first
    HTTP_WARMUP_PER_CLIENT * concurrency bodies warm the connections up and are not timed.
    """
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    warmup = HTTP_WARMUP_PER_CLIENT * concurrency
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60)
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

        await run_over(bodies[:warmup])
        statuses.clear()
        latencies.clear()
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        seconds = await run_over(bodies[warmup:])
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    run = Run(len(bodies) - warmup, seconds, latencies)
    run.extra.update(
        server_cpu_ms_per_request=round(server_cpu * 1000 / run.count, 3),
        client_cpu_ms_per_request=round(client_cpu * 1000 / run.count, 3),
        statuses={str(k): v for k, v in sorted(statuses.items())},
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
    serials = itertools.count(1)  # every registration a new agency (credit code)
    per_run = sizes.http_requests + HTTP_WARMUP_PER_CLIENT * sizes.http_concurrency

    def bodies() -> list[dict[str, object]]:
        return [registration(next(serials)) for _ in range(per_run)]

    print("  http: starting both servers", flush=True)
    bare_app, registry_app = "benchmarks.bare_app:create_app", "services.registry.app:create_app"
    async with (
        serve(bare_app, env, logs / "bare.log", "/health/live") as bare,
        serve(registry_app, env, logs / "registry.log", "/health/ready") as registry,
    ):
        print(
            f"  http: n={sizes.http_requests:,}, {sizes.http_concurrency} in flight, "
            f"x {sizes.rounds} rounds",
            flush=True,
        )
        rounds = []
        for index in range(sizes.rounds):
            ours_bodies, bare_bodies = bodies(), bodies()
            rounds.append(
                await pair(
                    index,
                    partial(load, registry, ours_bodies, headers, sizes.http_concurrency),
                    partial(load, bare, bare_bodies, headers, sizes.http_concurrency),
                )
            )
    result = combine(rounds, n=sizes.http_requests, concurrency=sizes.http_concurrency)
    for name in ("ours", "baseline"):
        bad = {k: v for k, v in result[name]["statuses"].items() if k != "201"}
        if bad:
            print(f"    WARNING: {name} answered {bad}")
    show("http", result)
    return result


# --------------------------------------------------------------------------- report


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def code_state() -> dict[str, Any]:
    """The commit measured, and which files under test differ from it (the tree may be dirty)."""
    git = shutil.which("git")
    if git is None:
        return {"commit": "unknown", "uncommitted": []}

    def run(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments, read-only git commands
            [git, *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout

    status = run("status", "--porcelain", "--", "servicekit", "services", "contracts/src")
    return {
        "commit": run("rev-parse", "HEAD").strip() or "unknown",
        "uncommitted": [line[3:] for line in status.splitlines() if line.strip()],
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("asyncpg", "aiokafka", "fastapi", "uvicorn", "httpx", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    return out


@dataclass(frozen=True)
class Row:
    figure: str
    section: dict[str, Any]
    key: str
    digits: int = 0

    def cells(self) -> list[str]:
        ours, baseline = self.section["ours"][self.key], self.section["baseline"][self.key]
        per_round = [r["ours"][self.key] / r["baseline"][self.key] for r in self.section["rounds"]]
        spread = f"{min(per_round):.2f}–{max(per_round):.2f}" if len(per_round) > 1 else "–"
        return [
            self.figure,
            f"{ours:,.{self.digits}f}",
            f"{baseline:,.{self.digits}f}",
            f"{ours / baseline:.2f}×",
            spread,
        ]


def rows(results: dict[str, Any]) -> list[Row]:
    a, r, h = results["appends"], results["relay"], results["http"]
    single, conc = a["single"], a["concurrent"]
    w, c = conc["writers"], h["concurrency"]
    return [
        Row("Event-store appends/s, 1 writer", single, "per_second"),
        Row(f"Event-store appends/s, {w} writers", conc, "per_second"),
        Row("Append latency p50 ms, 1 writer", single, "p50_ms", 2),
        Row(f"Append latency p50 ms, {w} writers", conc, "p50_ms", 2),
        Row(f"Append latency p99 ms, {w} writers", conc, "p99_ms", 2),
        Row("Relay → Kafka events/s (until acked)", r, "per_second"),
        Row(f"Registry commands/s over HTTP, {c} in flight", h, "per_second"),
        Row("HTTP latency p50 ms", h, "p50_ms", 1),
        Row("HTTP latency p99 ms", h, "p99_ms", 1),
        Row("Server CPU ms per request", h, "server_cpu_ms_per_request", 2),
    ]


def us(summary: dict[str, Any]) -> float:
    """Microseconds per item of a run summary."""
    return 1e6 / float(summary["per_second"])


def interpretation(results: dict[str, Any]) -> list[str]:
    a, r, h = results["appends"], results["relay"], results["http"]
    single, conc = a["single"], a["concurrent"]
    conc_ratio = conc["ours"]["per_second"] / conc["baseline"]["per_second"]
    scale_ours = conc["ours"]["per_second"] / single["ours"]["per_second"]
    scale_base = conc["baseline"]["per_second"] / single["baseline"]["per_second"]
    rounds = r["baseline_in_batch_rounds"]
    base = h["baseline"]
    client_cores = base["client_cpu_ms_per_request"] * base["per_second"] / 1000
    server_cores = base["server_cpu_ms_per_request"] * base["per_second"] / 1000
    return [
        f"**Appends.** One `append` is a transaction of four round trips (BEGIN; one check "
        f"query that takes the store's append hold in shared mode and reads the stream's version, "
        f"the command and event ids and the writing transaction; INSERT … RETURNING with the "
        f"command record and NOTIFY; COMMIT) against three for the baseline, and it maintains the "
        f"unique event_id and (stream_id, stream_version) indexes and the (transaction, position) "
        f"index the plain table lacks; both wait for the same WAL flush at commit. Writers take no "
        f"store-wide lock: each row records its transaction and a reader of the log takes only "
        f"rows below the oldest running transaction, so {conc['writers']} writers reach "
        f"{scale_ours:.1f}× the one-writer rate with the store and {scale_base:.1f}× with raw "
        f"inserts (commits overlap and share WAL flushes), and the store reaches {conc_ratio:.0%} "
        f"of the raw 16-writer rate (p99 {conc['ours']['p99_ms']:.1f} ms vs "
        f"{conc['baseline']['p99_ms']:.1f} ms).",
        f"**Relay.** Per batch of {r['batch_size']} the relay reads the events from PostgreSQL "
        f"as the pieces of their records (payload as JSON text, strings JSON-encoded, times "
        f"formatted), fills each CloudEvent envelope from a template (~"
        f"{r['value_bytes_mean']:.0f}-byte JSON + {r['headers_per_record']} headers), hands "
        f"them to the producer as one batch per partition, reads the next batch while Kafka "
        f"acknowledges this one and saves its checkpoint after the acknowledgement; the "
        f"baseline sends the same pre-serialised bytes, one `send` per record, with no "
        f"barrier. Per event: relay {us(r['ours']):.0f} µs, raw "
        f"producer {us(r['baseline']):.0f} µs, raw producer forced into {r['batch_size']}-record "
        f"rounds {us(rounds):.0f} µs ({rounds['per_second']:,.0f}/s). So about "
        f"{us(rounds) - us(r['baseline']):.0f} µs per event is the at-least-once batch barrier "
        f"and {us(r['ours']) - us(rounds):+.0f} µs the relay's own: the database read, the "
        f"envelopes and the checkpoint, less what a batch per partition saves over a `send` per "
        f"record (aiokafka's per-record path costs about 20 µs of Python).",
        f"**HTTP.** A registry command verifies the JWT, checks the registration rules (credit "
        f"code, name, charter, staff ratio, reference data), reads and folds the stream, and "
        f"appends through the store with the inline read-model upsert in the same transaction; "
        f"the relay task in the same process then publishes the "
        f"events. The bare endpoint only parses the body. Server CPU per request "
        f"({h['ours']['server_cpu_ms_per_request']:.2f} ms vs "
        f"{h['baseline']['server_cpu_ms_per_request']:.2f} ms, relay included, PostgreSQL's "
        f"CPU not counted) shows the work added. With {h['concurrency']} requests in flight, "
        f"latency ≈ {h['concurrency']} / throughput (Little's law), so the p50 ratio mirrors the "
        f"throughput ratio. On this {results['machine']['cpu_count']}-CPU machine the load "
        f"generator, the server, PostgreSQL and Kafka share the cores: during the bare run httpx "
        f"used {base['client_cpu_ms_per_request']:.2f} ms CPU per request ({client_cores:.2f} "
        f"CPUs) and the bare server {base['server_cpu_ms_per_request']:.2f} ms "
        f"({server_cores:.2f} CPUs), so the bare figure measures the Python load generator as "
        f"much as the server and understates the gap; both would be higher on a dedicated host.",
    ]


def markdown_section(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["sizes"]
    v, pg, code = m["versions"], m["postgresql"], results["code"]
    lines = [
        f"## {results['mode'].capitalize()} run — {results['started_at']}",
        "",
        f"- Machine: {m['cpu_count']} CPUs (`os.cpu_count()`), {m['cpu_model']}; load average "
        f"{m['loadavg_at_start']} at start (other work on the host adds noise)",
        f"- Python {v['python']}, PostgreSQL {pg['server_version']} (fsync {pg['fsync']}, "
        f"synchronous_commit {pg['synchronous_commit']}), Kafka {m['kafka']} (one broker); "
        f"asyncpg {v.get('asyncpg')}, aiokafka {v.get('aiokafka')}, fastapi {v.get('fastapi')}, "
        f"uvicorn {v.get('uvicorn')} (asyncio loop, h11), httpx {v.get('httpx')}",
        f"- N per round, {s['rounds']} round(s): appends {s['appends_single']:,} (1 writer) and "
        f"{s['appends_concurrent']:,} ({s['writers']} writers, pool {s['writers']}); relay "
        f"{results['relay']['n']:,} events in batches of {s['relay_batch']} to "
        f"{RELAY_PARTITIONS} partitions ({results['relay']['streams']:,} keys); HTTP "
        f"{s['http_requests']:,} registrations, {s['http_concurrency']} in flight",
        f"- Code: commit {code['commit'][:12]}"
        + (
            f", plus uncommitted changes to {len(code['uncommitted'])} file(s) under test"
            if code["uncommitted"]
            else ", clean tree"
        ),
        f"- Wall time: {results['wall_seconds']:.0f} s measuring, "
        f"{results['wall_seconds_with_infra']:.0f} s including server start and stop",
        "",
        "| Figure | Ours | Baseline | Ratio (ours ÷ baseline) | Ratio range over rounds |",
        "|---|---:|---:|---:|---:|",
        *("| " + " | ".join(row.cells()) + " |" for row in rows(results)),
        "",
        *(f"{i}. {text}" for i, text in enumerate(interpretation(results), 1)),
        "",
    ]
    return "\n".join(lines)


RESULTS_HEADER = """# Foundation benchmark results

Written by `.venv/bin/python -m benchmarks.bench_foundation [--quick]`; its docstring says what
each figure and its bare baseline measure. Each run replaces the section of its mode (full or
quick); the raw numbers of the latest run, every round included, are in `results-latest.json`.
Figures are medians over the rounds. A throughput ratio below 1 means the platform is slower
than the bare baseline; a latency or CPU ratio above 1 means it costs more.
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
    table = [
        ["Figure", "Ours", "Baseline", "Ratio", "Range"],
        *(row.cells() for row in rows(results)),
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print()
    for r in table:
        numbers = (c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
        cells = [r[0].ljust(widths[0]), *numbers]
        print("  ".join(cells))


# --------------------------------------------------------------------------- main


async def run_all(
    infra: Infra, sizes: Sizes, logs: Path, only: str | None = None
) -> dict[str, Any]:
    wall = time.perf_counter()
    db_url, db_name = await create_database(infra.admin_dsn)
    print(f"fresh database {db_name}", flush=True)
    measured: dict[str, Any] = {}
    try:
        pg = await postgres_facts(db_url)
        if only in (None, "appends"):
            print("1. event-store appends", flush=True)
            measured["appends"] = await bench_appends(db_url, sizes)
        if only in (None, "relay"):
            print("2. relay into Kafka", flush=True)
            measured["relay"] = await bench_relay(db_url, infra.kafka, sizes)
        if only in (None, "http"):
            print("3. registry commands over HTTP", flush=True)
            measured["http"] = await bench_http(db_url, infra.kafka, sizes, logs)
    finally:
        await drop_database(infra.admin_dsn, db_name)
    return {"wall_seconds": round(time.perf_counter() - wall, 1), "postgresql": pg, **measured}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Foundation benchmark against bare baselines.")
    parser.add_argument("--quick", action="store_true", help="small N, one round: under a minute")
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR, help="folder for RESULTS.md and the JSON"
    )
    parser.add_argument(
        "--only",
        choices=("appends", "relay", "http"),
        help="measure one figure; prints it and writes only results-<figure>.json",
    )
    args = parser.parse_args(argv)
    sizes, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    configure_logging("bench", "WARNING")
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    loadavg = [round(x, 2) for x in os.getloadavg()]
    total = time.perf_counter()
    code = code_state()
    with tempfile.TemporaryDirectory(prefix="bench-foundation-") as tmp:
        state = Path(tmp)
        logs = state / "logs"
        logs.mkdir()
        with infrastructure(state) as infra:
            measured = asyncio.run(run_all(infra, sizes, logs, args.only))
    results: dict[str, Any] = {
        "benchmark": "bench_foundation",
        "mode": mode,
        "started_at": started_at,
        "wall_seconds": measured.pop("wall_seconds"),
        "wall_seconds_with_infra": round(time.perf_counter() - total, 1),
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "loadavg_at_start": loadavg,
            "postgresql": measured.pop("postgresql"),
            "kafka": infra.kafka_version,
            "versions": versions(),
        },
        "code": code,
        "sizes": asdict(sizes),
        **measured,
    }
    if args.only:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"results-{args.only}.json"
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(json.dumps(results[args.only].get("ratio_range"), indent=None))
        print(f"\n{args.only} only: {path} (RESULTS.md left as it was)")
        return 0
    write_results(results, args.out)
    print_table(results)
    print(
        f"\n{mode} run: {results['wall_seconds']:.0f} s measuring, "
        f"{results['wall_seconds_with_infra']:.0f} s with server start and stop; "
        f"results in {args.out / 'RESULTS.md'} and {args.out / 'results-latest.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
