"""Open-loop write benchmark (issue 12): commands at a fixed arrival rate over the three writing
services, each timed from acceptance until reporting has applied it, and each service's RSS after.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_visible [--rate 200] [--seconds 60]

Registry, incubation, supervision and reporting each run as one uvicorn process (as
bench_write serves them) on one PostgreSQL database and one Kafka broker. First 300 agencies
are registered and the script waits until supervision knows them all. Then the generator sends
`--rate` commands a second for `--seconds`, in turn `register-agency` (a new agency),
`establish-base` (a new incubation base) and `record-commendation` (on one of the 300 agencies),
each with an `Idempotency-Key`, as a real client would.

The load comes from benchmarks/openloop.c, a small C generator (wrk2 is not packaged in Debian;
gcc builds it into build/openloop/ when absent or stale). It must be open-loop — command i is
sent at t0 + i/rate whether or not earlier ones were answered (a closed loop, or wrk's Lua
`delay` per connection, slows down with the server and hides the queueing it causes:
coordinated omission) — and its latency counts from that scheduled instant, as wrk2's does. It
keeps up to 96 keep-alive connections per service (a request waits for a free one beyond that,
and the wait counts); an answer not there 60 s after its scheduled instant counts as a failure.
This script writes the requests (bearer token, `Idempotency-Key`, body) to a file first and
reads the answers from the generator's output as they come, so it can follow each command to
the reporting service, which wrk cannot. The httpx generator it replaced cost 5.4 ms of CPU per
command, 27 % of the whole chain on this 2-CPU machine; the C one costs about 0.1–0.2 ms, and
this process (answers parsed, the poller below) 0.4–0.8 ms, shown apart in the CPU table.

"Accepted" is the 2xx answer; the command's stream version in it is then awaited in reporting's
`consumer_streams` (written in the transaction that applies the event to reporting's tables, so
the instant it appears is the instant the API can show the fact). One poller reads the rows of
every pending stream every 10 ms, rather than each command polling the API (which would add
hundreds of requests a second to the service under test).

Kafka and PostgreSQL come from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set, else devstack
starts both. The section `bench_visible` of benchmarks/RESULTS.md is replaced with the results.

`--pg-statements N` (profiling, implies --no-write) starts PostgreSQL itself with
pg_stat_statements loaded (the bench's server only, not a production default), resets it when
the load starts and prints the N statements of the bench database with the most execution time:
calls and milliseconds per accepted command. Execution time leaves out parse, commit and WAL
flush, so the ranking matters more than the sum.

`--env NAME=VALUE` (repeatable, implies --no-write) runs the four services with a setting, for
A/B runs of it. Besides latency and CPU, each run prints from the writers' /metrics, over the
load alone, their group commit figures (wait for a group, group length and size), their event
loop lag and full collections, each service's PSS beside its RSS, and the 40 slowest accepted
answers with when they were due and sent (the generator's own lateness apart).

`--xact-sample` (profiling, implies --no-write) samples `pg_stat_activity` every 5 ms during the
load and prints how long the transactions that hold a transaction id lasted, grouped by their
first statement seen: a relay takes only events below the oldest such transaction anywhere in
the database, so these durations are what holds visibility back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from devstack.postgres import start_postgres
from prometheus_client.parser import text_string_to_metric_families
from socialwork_contracts.topics import topic_of

from benchmarks.bench_foundation import (
    BENCH_DIR,
    Server,
    code_state,
    cpu_model,
    create_database,
    drop_database,
    infrastructure,
    serve,
)
from benchmarks.bench_write import write_section
from benchmarks.openloop import Answer, Generator, Request, build, http_request, write_requests
from benchmarks.report_load import pss_mb
from servicekit import topic_reading
from tests.conftest import TEST_SECRET
from tests.faults.workload import _base, _commendation
from tests.support import auth, registration

SEED_AGENCIES = 300
POLL_SECONDS = 0.01
MAX_CONNS = 96  # the generator's connections (so requests in flight) per service, at most
# A first request sent later than this is the generator's start, warned of with the figures.
GENERATOR_LATE_MS = 50.0
VISIBLE_TIMEOUT = 60.0
SERVICES = ("registry", "incubation", "supervision", "reporting")
WRITERS = SERVICES[:3]
METRICS_TOKEN = uuid.uuid4().hex  # this run's scraper token (the services' /metrics)
ROUTES = {
    "registry": "register-agency",
    "incubation": "establish-base",
    "supervision": "record-commendation",
}


@dataclass
class Sent:
    service: str
    scheduled: float  # when the open-loop schedule said to send it (time.monotonic clock)
    sent: float = 0.0  # when the generator wrote it (later than scheduled: no free connection)
    status: int = 0
    answered: float = 0.0
    stream_id: str = ""
    version: int = 0
    visible: float = 0.0
    produced: float = 0.0  # when the relay handed its event to Kafka (the record's CreateTime)
    error: str = ""


# One primary-key look-up a stream (LIMIT 1 keeps the subquery lateral, so a cached generic
# plan cannot turn it into a scan of the table). A look-up by stream_id alone scanned the table
# every 10 ms: 2.2 ms of PostgreSQL's 5.1 ms of execution a command (--pg-statements), load on
# the host that the system under test shares.
POLL_STREAMS = """
SELECT w.topic, w.stream_id, s.version
FROM unnest($2::text[], $3::text[], $4::text[]) AS w(topic, store_id, stream_id)
CROSS JOIN LATERAL (
    SELECT version FROM reporting.consumer_streams
    WHERE consumer = $1 AND topic = w.topic AND store_id = w.store_id AND stream_id = w.stream_id
    LIMIT 1
) s
"""


@dataclass
class Tracker:
    """Streams awaited in reporting: (topic, stream) -> [(version, command)]."""

    pending: dict[tuple[str, str], list[tuple[int, Sent]]] = field(default_factory=dict)
    # Set once every command is answered: those not seen VISIBLE_TIMEOUT later count as unseen.
    deadline: float = float("inf")

    def expect(self, sent: Sent) -> None:
        key = (topic_of(sent.service).name, sent.stream_id)
        self.pending.setdefault(key, []).append((sent.version, sent))

    async def poll(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        """Until every accepted command is seen, or the deadline (those left count as unseen)."""
        consumer = await conn.fetchval("SELECT live_consumer FROM reporting.installation")
        identity = "SELECT id::text FROM {}.store_identity"  # the services' schemas
        store_ids = {
            topic_of(service).name: await conn.fetchval(identity.format(service))
            for service in ROUTES
        }
        while (not stop.is_set() or self.pending) and time.monotonic() < self.deadline:
            if self.pending:
                topics, streams = zip(*self.pending, strict=True)
                stores = [store_ids[t] for t in topics]
                rows = await conn.fetch(POLL_STREAMS, consumer, topics, stores, streams)
                now = time.monotonic()
                for row in rows:
                    key = (row["topic"], row["stream_id"])
                    waiting = self.pending.get(key, [])
                    left = [(v, s) for v, s in waiting if v > row["version"]]
                    for v, sent in waiting:
                        if v <= row["version"]:
                            sent.visible = now
                    if left:
                        self.pending[key] = left
                    else:
                        self.pending.pop(key, None)
            await asyncio.sleep(POLL_SECONDS)


async def read_produced(kafka: str, sends: Sequence[Sent]) -> None:
    """Set each accepted command's `produced` instant from its event's record in Kafka (its
    CreateTime, stamped by the relay's producer at send): visibility then splits into the relay's
    part (accepted → produced: NOTIFY or poll, read, send) and Kafka's and the consumer's
    (produced → visible: linger, acknowledgement, fetch, batch apply, commit, this poller)."""
    wanted = {(topic_of(s.service).name, s.stream_id, s.version): s for s in sends if s.stream_id}
    to_monotonic = time.monotonic() - time.time()
    tps = await topic_reading.partitions(kafka, sorted({topic for topic, _, _ in wanted}))
    async with topic_reading.log_reader(kafka) as reader:
        ends = await topic_reading.end_offsets(reader, tps)
        async for records, _ in topic_reading.read(reader, topic_reading.spans({}, ends), 5000):
            for record in records:
                event = json.loads(record.value or b"{}")
                key = (record.topic, event.get("streamid"), event.get("streamversion"))
                sent = wanted.get(key)
                if sent is not None:
                    sent.produced = record.timestamp / 1000 + to_monotonic


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss_mib(pid: int) -> tuple[float, float, float]:
    """(VmRSS, VmHWM, PSS) of a process and its children (reporting's fold worker), MiB; PSS
    counts a page they share (libraries, code a spawned worker maps again) once in all."""
    pids = [pid] + [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent(p) == pid
    ]  # fmt: skip
    rss = hwm = 0.0
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1]) / 1024
    return round(rss, 1), round(hwm, 1), round(pss_mb(pid), 1)


def _descendants(pid: int) -> list[int]:
    """The process and every live process under it."""
    parents = {int(p.name): _parent(p) for p in Path("/proc").iterdir() if p.name.isdigit()}
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_roots(servers: dict[str, Server], state: Path) -> dict[str, list[int]]:
    """The root processes of each part of the system under load: each service (its fold workers
    under it), and the PostgreSQL and Kafka that devstack started under `state` (found by their
    command line; none when they come from the environment)."""
    roots = {name: [server.pid] for name, server in servers.items()}
    for part in ("postgres", "kafka"):
        marker = str(state / part)
        roots[part] = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and marker in _cmdline(p) and _parent(p) not in roots.get(part, [])
        ]
    return roots


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_by_part(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each part (its processes and their descendants), and of this
    process (it reads the generator's answers and polls reporting)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = {
        part: sum(_cpu_seconds(p) for root in pids for p in _descendants(root))
        for part, pids in roots.items()
    }
    spent["bench process (answers read, visibility poller)"] = usage.ru_utime + usage.ru_stime
    return spent


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def body_for(service: str, serial: int, seeds: Sequence[str]) -> dict[str, Any]:
    if service == "registry":
        return registration(serial)
    if service == "incubation":
        return _base(str(uuid.uuid4()))
    return _commendation(seeds[serial % len(seeds)], serial)


@contextlib.asynccontextmanager
async def services(env: dict[str, str], logs: Path) -> AsyncIterator[dict[str, Server]]:
    async with contextlib.AsyncExitStack() as stack:
        servers = {}
        for name in SERVICES:
            servers[name] = await stack.enter_async_context(
                serve(f"services.{name}.app:create_app", env, logs / f"{name}.log", "/health/ready")
            )
        yield servers


async def seed(client: httpx.AsyncClient, db: asyncpg.Connection) -> list[str]:
    headers = auth()
    usccs = []
    for serial in range(1, SEED_AGENCIES + 1):
        body = registration(serial)
        answer = await client.post("/commands/register-agency", json=body, headers=headers)
        answer.raise_for_status()
        usccs.append(str(body["uscc"]))
    deadline = time.monotonic() + VISIBLE_TIMEOUT
    known = "SELECT count(*) FROM supervision.agencies WHERE uscc = ANY($1::text[])"
    while await db.fetchval(known, usccs) < SEED_AGENCIES:
        if time.monotonic() > deadline:
            raise RuntimeError("supervision did not learn the seeded agencies")
        await asyncio.sleep(0.1)
    return usccs


def command_requests(
    servers: dict[str, Server], rate: float, count: int, seeds: Sequence[str]
) -> tuple[list[tuple[str, int]], list[Request], list[Sent]]:
    """The run's commands as HTTP requests for the generator, on the open-loop schedule."""
    bases = [urlsplit(servers[name].base) for name in ROUTES]
    targets = [(base.hostname or "", base.port or 80) for base in bases]
    token = auth()  # one token for the run: signing one per request is the client's CPU
    run_id = uuid.uuid4().hex[:8]
    requests, sends = [], []
    for i in range(count):
        t = i % len(ROUTES)
        service = tuple(ROUTES)[t]
        body = json.dumps(body_for(service, SEED_AGENCIES + 1 + i, seeds)).encode()
        headers = {**token, "Content-Type": "application/json", "Idempotency-Key": f"{run_id}-{i}"}
        host = f"{targets[t][0]}:{targets[t][1]}"
        raw = http_request(host, "POST", f"/commands/{ROUTES[service]}", headers, body)
        requests.append(Request(t, round(i * 1e9 / rate), raw))
        sends.append(Sent(service, 0.0))
    return targets, requests, sends


def record(answer: Answer, sent: Sent, tracker: Tracker) -> None:
    """One answer from the generator: accepted ones are awaited in reporting from now on."""
    sent.scheduled, sent.answered = answer.scheduled_ns / 1e9, answer.answered_ns / 1e9
    sent.sent = answer.sent_ns / 1e9
    sent.status = answer.status
    if 200 <= answer.status < 300:
        accepted = json.loads(answer.body)
        sent.stream_id, sent.version = accepted["stream_id"], accepted["stream_version"]
        tracker.expect(sent)
    else:
        sent.error = answer.body[:200].decode(errors="replace")


async def run(
    kafka: str,
    admin_dsn: str,
    rate: float,
    seconds: float,
    state: Path,
    statements: int = 0,
    xact_sample: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    db_url, db_name = await create_database(admin_dsn)
    env = {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        **(extra_env or {}),
        "LOG_LEVEL": "WARNING",
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-visible-"))
    build()  # before the clock starts: compiling is not the generator's load
    try:
        async with services(env, logs) as servers, contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=servers["registry"].base, timeout=30)
            )
            db = await asyncpg.connect(db_url)
            stack.push_async_callback(db.close)
            print(f"seeding {SEED_AGENCIES} agencies ...", flush=True)
            seeds = await seed(client, db)
            before = await Snapshot.take(servers)
            count = int(rate * seconds)
            targets, requests, sends = command_requests(servers, rate, count, seeds)
            write_requests(logs / "requests", targets, requests)
            tracker, stop = Tracker(), asyncio.Event()
            poll_conn = await asyncpg.connect(db_url)
            stack.push_async_callback(poll_conn.close)
            poller = asyncio.create_task(tracker.poll(poll_conn, stop))
            xacts = await XactSampler.start(db_url, stop, stack) if xact_sample else None
            if statements:
                await reset_statements(db)
            load_start = os.getloadavg()
            roots = process_roots(servers, state)
            cpu_start, wall_start = cpu_by_part(roots), time.monotonic()
            print(f"sending {count:,} commands at {rate:g}/s ...", flush=True)
            start_ns = time.monotonic_ns() + 500_000_000
            generator = Generator(logs / "requests", start_ns=start_ns, max_conns=MAX_CONNS)
            async for answer in generator.answers():
                record(answer, sends[answer.index], tracker)
            sent_by = time.monotonic() - start_ns / 1e9
            tracker.deadline = time.monotonic() + VISIBLE_TIMEOUT
            stop.set()
            await poller
            if xacts is not None:
                await xacts.finish()
            if tracker.pending:
                print(f"not seen in reporting: {list(tracker.pending.items())[:3]}", flush=True)
            await read_produced(kafka, sends)
            load_end = os.getloadavg()
            cpu_end = {**cpu_by_part(roots), "load generator (C)": generator.cpu_seconds}
            cpu = spent_since(
                {**cpu_start, "load generator (C)": 0.0}, cpu_end, time.monotonic() - wall_start
            )
            after = await Snapshot.take(servers)
            if statements:
                accepted = sum(1 for s in sends if 200 <= s.status < 300)
                await top_statements(db, max(accepted, 1), statements)
    finally:
        await drop_database(admin_dsn, db_name)
    results = summarise(sends, rate, seconds, sent_by, before.rss, after.rss, load_start, load_end)
    groups = group_commit_figures(before.groups, after.groups)
    return {**results, "cpu": cpu, "group_commit": groups}


@dataclass
class Snapshot:
    """Each service's memory, and the writers' group commit histograms, at one instant."""

    rss: dict[str, tuple[float, float, float]]
    groups: Samples

    @classmethod
    async def take(cls, servers: dict[str, Any]) -> Snapshot:
        rss = {name: rss_mib(server.pid) for name, server in servers.items()}
        return cls(rss, await group_samples(servers))


Samples = dict[str, dict[tuple[str, str], float]]  # service -> (sample, le) -> value
GROUP_FAMILIES = (
    "socialwork_group_commit_wait_seconds",
    "socialwork_group_commit_seconds",
    "socialwork_group_commit_commands",
    "socialwork_event_loop_lag_seconds",
    "socialwork_gc_pause_seconds",
)


async def group_samples(servers: dict[str, Any]) -> Samples:
    """The group commit histograms' samples of each writing service, from its /metrics."""
    found: Samples = {}
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx.AsyncClient(timeout=30) as client:
        for name in WRITERS:
            answer = await client.get(f"{servers[name].base}/metrics", headers=headers)
            answer.raise_for_status()
            found[name] = {
                (x.name + _generation(x.labels), x.labels.get("le", "")): x.value
                for f in text_string_to_metric_families(answer.text)
                if f.name in GROUP_FAMILIES
                for x in f.samples
            }
    return found


def group_commit_figures(before: Samples, after: Samples) -> dict[str, dict[str, float]]:
    """Per writing service, over the load alone (after - before): how long commands waited for
    their group's transaction to begin and how long groups took (p50 / p99 as the bucket bounds
    they fall in, ms), and the mean group size: where the accepted answer's own time goes."""
    figures: dict[str, dict[str, float]] = {}
    for name, samples in after.items():
        run = {key: value - before[name].get(key, 0.0) for key, value in samples.items()}
        wait = _buckets(run, "socialwork_group_commit_wait_seconds")
        took = _buckets(run, "socialwork_group_commit_seconds")
        size = "socialwork_group_commit_commands"
        lag = _buckets(run, "socialwork_event_loop_lag_seconds")
        gc2 = _buckets(run, "socialwork_gc_pause_seconds", ":2")
        figures[name] = {
            "loop_lag_p99_ms": _quantile(lag, 0.99) * 1000,
            "loop_lag_max_ms": _quantile(lag, 1.0) * 1000,
            "gc2_pauses": gc2[-1][1] if gc2 else 0.0,
            "gc2_max_ms": _quantile(gc2, 1.0) * 1000,
            "wait_p50_ms": _quantile(wait, 0.5) * 1000,
            "wait_p99_ms": _quantile(wait, 0.99) * 1000,
            "group_p50_ms": _quantile(took, 0.5) * 1000,
            "group_p99_ms": _quantile(took, 0.99) * 1000,
            "commands_per_group": round(
                run.get((f"{size}_sum", ""), 0.0) / max(run.get((f"{size}_count", ""), 0.0), 1), 2
            ),
        }
    return figures


def _buckets(
    run: dict[tuple[str, str], float], family: str, label: str = ""
) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of a histogram, in ascending bounds."""
    bucket = f"{family}_bucket{label}"
    return sorted((float(le), value) for (name, le), value in run.items() if name == bucket)


def _generation(labels: dict[str, str]) -> str:
    return f":{labels['generation']}" if "generation" in labels else ""


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    total = buckets[-1][1] if buckets else 0
    if not total:
        return 0.0  # nothing observed (a labelled series appears with its first observation)
    for bound, cumulative in buckets:
        if cumulative >= q * total:
            return bound
    return float("inf")


def spent_since(
    start: dict[str, float], end: dict[str, float], wall: float
) -> dict[str, dict[str, float]]:
    """CPU seconds each part spent over the run and the cores that is, on average."""
    return {
        part: {
            "seconds": round(end[part] - start[part], 2),
            "cores": round((end[part] - start[part]) / wall, 2),
        }
        for part in end
    }


def generator_start_late_ms(sends: Sequence[Sent]) -> float:
    """How late the generator sent the run's first request: its own start, not the services'.
    Reading a 60 s run's file took it 2 s once (openloop.c's parse), and every command of those
    seconds counted the wait; a run that shows it again measured the generator."""
    sent = [s for s in sends if s.sent]
    first = min(sent, key=lambda s: s.scheduled, default=None)
    return 0.0 if first is None else round((first.sent - first.scheduled) * 1000, 1)


def summarise(
    sends: Sequence[Sent],
    rate: float,
    seconds: float,
    sent_by: float,
    rss_before: dict[str, tuple[float, float, float]],
    rss_after: dict[str, tuple[float, float, float]],
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
) -> dict[str, Any]:
    first = min((s.scheduled for s in sends), default=0.0)

    def figures(group: Sequence[Sent]) -> dict[str, Any]:
        ok = [s for s in group if 200 <= s.status < 300]
        accept = [(s.answered - s.scheduled) * 1000 for s in ok]
        # Past the load's first second, where the generator's connections and each service's
        # lanes start (the slowest answers list shows when and how late they were sent).
        steady = [(s.answered - s.scheduled) * 1000 for s in ok if s.scheduled >= first + 1]
        visible = [(s.visible - s.answered) * 1000 for s in ok if s.visible]
        split = [s for s in ok if s.visible and s.produced]
        return {
            "sent": len(group),
            "accepted": len(ok),
            "success_rate": len(ok) / max(len(group), 1),
            "visible": len(visible),
            "accept_ms": [percentile(accept, q) for q in (0.5, 0.99, 1.0)],
            "accept_ms_after_first_second": [percentile(steady, q) for q in (0.5, 0.99, 1.0)],
            "visible_ms": [percentile(visible, q) for q in (0.5, 0.99, 1.0)],
            "relay_ms": [
                percentile([(s.produced - s.answered) * 1000 for s in split], q)
                for q in (0.5, 0.99, 1.0)
            ],
            "consumer_ms": [
                percentile([(s.visible - s.produced) * 1000 for s in split], q)
                for q in (0.5, 0.99, 1.0)
            ],
            "errors": sorted({s.error or str(s.status) for s in group if s not in ok})[:5],
        }

    def slowest(group: Sequence[Sent]) -> list[tuple[str, float, float, float]]:
        """(service, seconds into the load, accepted ms, of which ms before it was sent) of the
        40 slowest answers: whether the tail is one instant for every service (the host), each
        service's own, or the generator's."""
        start = min((s.scheduled for s in group), default=0.0)
        ok = [s for s in group if 200 <= s.status < 300]
        ranked = sorted(ok, key=lambda s: s.scheduled - s.answered)[:40]
        return [
            (
                s.service,
                round(s.scheduled - start, 2),
                round((s.answered - s.scheduled) * 1000),
                round((s.sent - s.scheduled) * 1000),
            )
            for s in ranked
        ]

    return {
        "slowest_accepted": slowest(sends),
        "generator_start_late_ms": generator_start_late_ms(sends),
        "rate": rate,
        "seconds": seconds,
        "sent_in_seconds": round(sent_by, 2),
        "all": figures(sends),
        "by_service": {name: figures([s for s in sends if s.service == name]) for name in ROUTES},
        "rss_mib_before": rss_before,
        "rss_mib_after": rss_after,
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
    }


def section(results: dict[str, Any]) -> str:
    r, m, code = results["run"], results["machine"], results["code"]
    dirty = f", plus uncommitted changes to {len(code['uncommitted'])} file(s)" * bool(
        code["uncommitted"]
    )

    def row(label: str, f: dict[str, Any]) -> str:
        a, v = f["accept_ms"], f["visible_ms"]
        st = f.get("accept_ms_after_first_second", [float("nan")] * 3)
        return (
            f"| {label} | {f['sent']:,} | {f['success_rate']:.2%} | {a[0]:.0f} / {a[1]:.0f} / "
            f"{a[2]:.0f} | {st[0]:.0f} / {st[1]:.0f} / {st[2]:.0f} | "
            f"{v[0]:.0f} / {v[1]:.0f} / {v[2]:.0f} | {f['visible']:,} |\n"
        )

    rss = "".join(
        f"| {name} | {r['rss_mib_before'][name][0]:.0f} | {r['rss_mib_after'][name][0]:.0f} | "
        f"{r['rss_mib_after'][name][1]:.0f} | {_pss(r['rss_mib_after'][name])} |\n"
        for name in SERVICES
    )
    return (
        f"## Commands at a fixed rate, accepted → visible in reporting — "
        f"{results['started_at']}\n\n"
        f"Written by `.venv/bin/python -m benchmarks.bench_visible --rate {r['rate']:g} "
        f"--seconds {r['seconds']:g}`; its docstring says what is measured and why the "
        "generator is open-loop.\n\n"
        f"- Machine: {m['cpu_count']} CPUs, {m['cpu_model']}; load average {r['loadavg_start']} "
        f"when the load began, {r['loadavg_end']} at its end (shared host)\n"
        f"- Code: commit {code['commit'][:12]}{dirty}\n"
        f"- {r['all']['sent']:,} commands scheduled over {r['seconds']:g} s, all sent by "
        f"{r['sent_in_seconds']:g} s; registry, incubation, supervision in turn\n\n"
        "| Commands | Sent | Success | Accepted ms p50 / p99 / max (from the scheduled "
        "instant) | the same past the first second | Accepted → visible ms p50 / p99 / max "
        "| Seen in reporting |\n|---|---:|---:|---:|---:|---:|---:|\n"
        + row("all", r["all"])
        + "".join(row(f"`{ROUTES[n]}`", f) for n, f in r["by_service"].items())
        + "\n| Service | RSS MiB after seeding | RSS MiB after the run | peak (VmHWM) | PSS "
        "MiB after the run |\n|---|---:|---:|---:|---:|\n"
        + rss
        + "\n"
        + cpu_table(r)
        + group_table(r)
    )


def _pss(sizes: Sequence[float]) -> str:
    return f"{sizes[2]:.0f}" if len(sizes) > 2 else "—"  # earlier runs took no PSS


def group_table(run: dict[str, Any]) -> str:
    """Where an accepted answer's own time went: its wait for a group, the group's length."""
    if "group_commit" not in run:
        return ""
    rows = "".join(
        f"| {name} | {g['wait_p50_ms']:g} / {g['wait_p99_ms']:g} | "
        f"{g['group_p50_ms']:g} / {g['group_p99_ms']:g} | {g['commands_per_group']:g} | "
        f"{g.get('loop_lag_p99_ms', 0):g} / {g.get('loop_lag_max_ms', 0):g} | "
        f"{g.get('gc2_pauses', 0):g} / {g.get('gc2_max_ms', 0):g} |\n"
        for name, g in run["group_commit"].items()
    )
    return (
        "| Service | wait for its group ms p50 / p99 (bucket bound) | group begin → commit ms "
        "p50 / p99 | commands per group | event loop lag ms p99 / max | full collections / "
        "longest ms |\n|---|---:|---:|---:|---:|---:|\n" + rows + "\n"
    )


def cpu_table(run: dict[str, Any]) -> str:
    """Where the machine's CPU went while the commands were sent, answered and applied."""
    if "cpu" not in run:
        return ""
    accepted = max(run["all"]["accepted"], 1)
    rows = "".join(
        f"| {part} | {c['seconds']:.1f} | {c['cores']:.2f} | "
        f"{c['seconds'] * 1000 / accepted:.2f} |\n"
        for part, c in sorted(run["cpu"].items(), key=lambda item: -item[1]["seconds"])
    )
    total = sum(c["seconds"] for c in run["cpu"].values())
    return (
        "| Process (and its children) | CPU s over the run | cores on average | CPU ms per "
        "accepted command |\n|---|---:|---:|---:|\n"
        + rows
        + f"| all of these | {total:.1f} | | {total * 1000 / accepted:.2f} |\n\n"
    )


@contextlib.contextmanager
def statements_server(state: Path) -> Iterator[None]:
    """A PostgreSQL of this run's own with pg_stat_statements loaded, as DATABASE_URL."""
    server = start_postgres(state / "postgres")
    try:
        asyncio.run(_preload_statements(server.url))
        server.stop()
        server.start_again()
        os.environ["DATABASE_URL"] = server.url
        yield
    finally:
        os.environ.pop("DATABASE_URL", None)
        server.stop()


async def _preload_statements(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    finally:
        await conn.close()


async def reset_statements(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset()")


async def top_statements(conn: asyncpg.Connection, commands: int, top: int) -> list[dict[str, Any]]:
    """The bench database's statements by execution time, per accepted command."""
    rows = await conn.fetch(
        """
        SELECT calls, total_exec_time, rows, query FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC
        """
    )
    total_ms = sum(r["total_exec_time"] for r in rows)
    total_calls = sum(r["calls"] for r in rows)
    print(
        f"pg_stat_statements: {len(rows)} statements, {total_calls / commands:.1f} calls and "
        f"{total_ms / commands:.3f} ms execution per command",
        flush=True,
    )
    ranked = [
        {
            "calls_per_command": r["calls"] / commands,
            "ms_per_command": r["total_exec_time"] / commands,
            "rows_per_call": r["rows"] / max(r["calls"], 1),
            "query": " ".join(r["query"].split())[:160],
        }
        for r in rows[:top]
    ]
    for r in ranked:
        print(
            f"{r['ms_per_command']:7.3f} ms {r['calls_per_command']:6.2f} calls "
            f"{r['rows_per_call']:6.1f} rows  {r['query']}",
            flush=True,
        )
    return ranked


@dataclass
class XactSampler:
    """Samples the transactions holding an id; see `--xact-sample` in the module docstring."""

    conn: asyncpg.Connection
    # (pid, xact_start) -> [first statement seen, last seen at (database clock)]
    seen: dict[tuple[int, dt.datetime], list[Any]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, db_url: str, stop: asyncio.Event, stack: contextlib.AsyncExitStack
    ) -> XactSampler:
        sampler = cls(await asyncpg.connect(db_url))
        stack.push_async_callback(sampler.conn.close)
        sampler.task = asyncio.create_task(sampler.run(stop))
        return sampler

    async def finish(self) -> None:
        if self.task is not None:
            await self.task
        self.print_summary()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            rows = await self.conn.fetch(
                "SELECT pid, xact_start, clock_timestamp() AS now, query FROM pg_stat_activity "
                "WHERE backend_xid IS NOT NULL AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            for row in rows:
                entry = self.seen.setdefault(
                    (row["pid"], row["xact_start"]), [" ".join(row["query"].split())[:70], None]
                )
                entry[1] = row["now"]
            await asyncio.sleep(0.005)

    def print_summary(self) -> None:
        by_kind: dict[str, list[float]] = {}
        for (_, started), (kind, last) in self.seen.items():
            by_kind.setdefault(kind, []).append((last - started).total_seconds() * 1000)
        ranked = sorted(by_kind.items(), key=lambda item: -percentile(item[1], 0.99))
        print("transactions holding an id (lower bound of duration, ms): n p50 p99 max", flush=True)
        for kind, ms in ranked[:25]:
            print(
                f"{len(ms):6d} {percentile(ms, 0.5):7.1f} {percentile(ms, 0.99):7.1f} "
                f"{max(ms):7.1f}  {kind}",
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--pg-statements", type=int, default=0, metavar="N", help="profile: print top N statements"
    )
    parser.add_argument(
        "--xact-sample", action="store_true", help="profile: how long writing transactions last"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the four services (A/B runs of a setting); implies --no-write",
    )
    args = parser.parse_args(argv)
    if args.pg_statements or args.xact_sample or args.env:
        args.no_write = True
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    with (
        tempfile.TemporaryDirectory(prefix="bench-visible-") as tmp,
        statements_server(Path(tmp)) if args.pg_statements else contextlib.nullcontext(),
        infrastructure(Path(tmp)) as infra,
    ):
        outcome = asyncio.run(
            run(
                infra.kafka,
                infra.admin_dsn,
                args.rate,
                args.seconds,
                Path(tmp),
                args.pg_statements,
                args.xact_sample,
                dict(setting.split("=", 1) for setting in args.env),
            )
        )
    results = {
        "started_at": started_at,
        "machine": {"cpu_count": os.cpu_count(), "cpu_model": cpu_model()},
        "code": code_state(),
        "run": outcome,
    }
    late = outcome["generator_start_late_ms"]
    if late > GENERATOR_LATE_MS:
        print(f"warning: the generator sent its first request {late:.0f} ms late", flush=True)
    print(json.dumps(outcome, indent=2))
    if not args.no_write:
        write_section(section(results), "bench_visible")
        (BENCH_DIR / "results-visible-latest.json").write_text(
            json.dumps(results, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
