"""Report endpoints under load on a replayed projection, with live events arriving.

Used by `bench_reporting` after its replay (the same database, so the projection holds the whole
generated history):

1. The reporting service runs as a uvicorn server (one process; its fold worker is a child).
2. Cold: each distinct report cut-off asked once, one after the other, while a prober asks
   `/health/live` every 20 ms — the prober's worst wait shows whether a fold blocks the loop.
3. Load: `rate` requests a second, open loop, from benchmarks/openloop.c (request i sent at
   t0 + i/rate whether or not earlier ones were answered, its latency counted from that
   instant), cycling through a dashboard-like mix — every report endpoint as of today, past
   half-year reports per unit and for the city, by occurrence and by recording, CSV and Excel
   exports — for `seconds`, while live events (dated today) are published to the real topics at
   `live_rate` per second and folded by the service's live consumer. The closed-loop httpx
   clients it replaced cost this process ~5 ms of CPU a request on the same two CPUs as the
   service (the C generator: 0.2 ms), and a closed loop waits for the server, hiding its queue.
   `/health/live` is probed every 20 ms by this process's loop and by a separate process.
4. RSS: the server process plus its children (the fold workers), sampled every 0.5 s; the peak
   of the whole run and that of the load alone (after the cold phase).
5. The real topics are emptied afterwards (delete-records on this benchmark's own broker).
6. With `profile`, py-spy records the service process during the load (raw folded stacks with
   idle frames and thread ids, 200 Hz), to see what holds its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete
from socialwork_contracts.topics import EVENT_TOPICS, topic_of

from benchmarks.bench_foundation import percentile, serve
from benchmarks.history_generator import HISTORY_SEED, history
from benchmarks.openloop import Answer, Generator, Request, build, http_request, write_requests

CST = dt.timezone(dt.timedelta(hours=8))
SLOW_SECONDS = 0.1  # issue 12's aim for a report: slower requests are listed one by one
# The load's first request is sent this long after the live events, the probes and the profiler
# start: the probe process's start (an interpreter and its imports) took the CPU the service
# needed, and the first second's requests were 150-300 ms each (42 in one run).
LEAD_IN_SECONDS = 2.0


def mix() -> list[tuple[str, str]]:
    """(group, path): the dashboard's calls and the exports an officer downloads; the half-year
    report in progress (as of its period's end) beside the reports as of today."""
    units = ["jinshui", "erqi", "zhongyuan", "gongyi", "dengfeng"]
    today = dt.datetime.now(CST).date()
    half = "mid_year" if today.month <= 6 else "year_end"
    current = f"/reports/half-year?year={today.year}&half={half}"
    return [
        ("report", current),
        ("report", f"{current}&unit=jinshui"),
        ("report", "/reports/targets"),
        ("report", "/reports/coverage"),
        ("report", "/reports/trends"),
        ("report", "/reports/credit-listings"),
        ("report", "/reports/bases"),
        ("report", "/reports/half-year?year=2020&half=mid_year"),
        ("report", "/reports/half-year?year=2023&half=year_end"),
        ("report", "/reports/half-year?year=2020&half=mid_year&recorded_until=2020-07-05"),
        # By a recording date before the period's end (the figures kept a day at a time).
        ("report", "/reports/half-year?year=2022&half=year_end&recorded_until=2022-12-20"),
        (
            "report",
            "/reports/half-year?year=2024&half=mid_year&recorded_until=2024-03-15&unit=erqi",
        ),
        ("report", "/reports/targets?as_of=2020-12-31"),
        ("report", "/reports/targets?as_of=2022-06-30&recorded_until=2022-07-01"),
        ("report", "/reports/coverage?as_of=2023-12-31"),
        ("report", "/reports/credit-listings?as_of=2023-12-31&include_removed=true"),
        *(("report", f"/reports/half-year?year=2023&half=year_end&unit={u}") for u in units),
        ("export", "/reports/half-year?year=2023&half=year_end&format=xlsx"),
        ("export", "/reports/half-year?year=2020&half=mid_year&format=csv"),
        ("export", "/reports/credit-listings?format=xlsx"),
        ("export", "/reports/coverage?format=csv"),
    ]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Linux /proc)."""
    return sum(rss_by_process(pid))


def family(pid: int) -> list[int]:
    """A process and its children (the service's fold workers)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    return pids


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), None once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_by_process(pid: int) -> list[float]:
    """Resident memory, MB, of a process, then of each of its children."""
    sizes = []
    for p in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
    return sizes


def pss_mb(pid: int) -> float:
    """Proportional memory, MB, of a process and its children (Linux smaps_rollup): a page
    they share (the libraries and the code a spawned worker maps again) counts once in all,
    where the RSS sum counts it in each process."""
    total = 0.0
    for p in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
    return total


def live_events(seed: int) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, CloudEvent) of generated events moved to today, as live traffic would be.

    Each stream's events numbered 1, 2, ... as its producer's store would (a credit code is a
    stream of the registry's and of supervision's), of agencies the history does not hold: at
    version 1 each, of the history's first agencies, the consumer parked most of them as
    version conflicts (~80 of 1,500 applied: the load's "live events arriving" mostly were not).

    New agencies, incubated in the replayed history's bases: a generated history starts with
    its own bases, so each run established ~30 more bases, dated today (the history has ~30),
    and every as-of-today answer and the live fold worker's state grew with them (a kept 1M
    database had 2,227 bases after ~70 runs). The events of those bases' own streams (trainings)
    are left out: numbered from 1 here, the replayed ones hold those versions."""
    rng = random.Random(seed)
    today = dt.datetime.now(CST).date()
    versions: dict[tuple[str, str], int] = {}  # by producer and stream: each store's own
    # Agencies numbered past any history's and any earlier run's: credit codes follow from the
    # number, and the history's own ones parked as "a different event holds version 1".
    first = 100_000_000 + seed % 10_000_000 * 1_000
    live = history(10_000_000, seed, first, bases_of=HISTORY_SEED)
    # Every base here is a replayed one: no event on a base's own stream.
    on_own_streams = (i for i in live if i.event.stream_field != "base_id")
    for position, item in enumerate(on_own_streams, start=1):
        event = item.event
        name = type(event).domain_date_field
        if name is not None:
            event = event.model_copy(update={name: today})
        stream = str(getattr(event, event.stream_field))
        at = (event.producer, stream)
        versions[at] = version = versions.get(at, 0) + 1
        now = dt.datetime.now(dt.UTC)
        key = event.type_key()
        body = {
            "specversion": "1.0",
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "source": f"/socialwork/{event.producer}",
            "type": key,
            "subject": stream,
            "time": now.isoformat(),
            "datacontenttype": "application/json",
            "dataschema": f"urn:socialwork:schema:{key}",
            "data": event.model_dump(mode="json"),
            "streamid": stream,
            "streamversion": version,
            "position": position,
            "correlationid": "bench-live",
            "causationid": "bench-live",
            "actor": "bench",
            "actorrole": "city_admin",
            "recordedtime": now.isoformat(),
        }
        yield topic_of(event.producer).name, stream.encode(), json.dumps(body).encode()


async def publish_live(kafka: str, rate: float, stop: asyncio.Event) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks=1)
    await producer.start()
    sent = 0
    try:
        events = live_events(seed=int(time.time()))
        started = time.perf_counter()
        while not stop.is_set():
            topic, key, value = next(events)
            await producer.send(topic, value, key=key)
            sent += 1
            delay = started + sent / rate - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
    finally:
        await producer.stop()
    return sent


async def forget_live(kafka: str) -> None:
    """Delete what the real topics hold (this benchmark's own devstack broker): the live events
    would otherwise be a backlog that the latency phase's fresh consumer must read first."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in EVENT_TOPICS])
        # Kafka's DeleteRecords reads offset -1 as "up to the high watermark".
        await admin.delete_records(
            {
                TopicPartition(d["topic"], p["partition"]): RecordsToDelete(-1)
                for d in described
                for p in d["partitions"]
            }
        )
    finally:
        await admin.close()


async def probe(http: httpx.AsyncClient, stop: asyncio.Event, waits: list[float]) -> None:
    while not stop.is_set():
        sent = time.perf_counter()
        await http.get("/health/live")
        waits.append(time.perf_counter() - sent)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.02)


async def lag_probe(http: httpx.AsyncClient, stop: asyncio.Event, lags: list[float]) -> None:
    """How far behind the facts a live answer is served: every 0.25 s, the targets as of today,
    from the request's instant back to the position the answer reflects."""
    while not stop.is_set():
        asked = dt.datetime.now(dt.UTC)
        answer = await http.get("/reports/targets")
        if answer.status_code == 200:  # an error is counted by the load, not here
            through = dt.datetime.fromisoformat(answer.headers["Report-Applied-Through"])
            lags.append(max(0.0, (asked - through).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


class RssSampler:
    """The peak RSS of the service and its children (by process, the service first) over the
    whole run, and over the load alone (`loading`), sampled every 0.5 s."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = rss_mb(pid)
        self.peak: list[float] = [self.start]
        self.load_peak: list[float] = []
        self.pss_peak = pss_mb(pid)
        self.loading = False
        # CPU seconds during the load by process: (first, last) seen while loading
        self.cpu: dict[int, tuple[float, float]] = {}

    def cpu_during_load(self) -> dict[str, float]:
        """CPU seconds used during the load: the service's process, and its children's sum
        (to the last sample of each: a history worker that ends loses its last half second)."""
        used = {p: last - first for p, (first, last) in self.cpu.items()}
        return {
            "service": used.get(self.pid, 0.0),
            "workers": sum(u for p, u in used.items() if p != self.pid),
        }

    async def sample(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.loading:
                for p in family(self.pid):
                    if (now := cpu_seconds(p)) is not None:
                        self.cpu[p] = (self.cpu.get(p, (now, now))[0], now)
            parts = rss_by_process(self.pid)
            if sum(parts) >= sum(self.peak):
                self.peak = parts
            if self.loading and sum(parts) >= sum(self.load_peak):
                self.load_peak = parts
            self.pss_peak = max(self.pss_peak, pss_mb(self.pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


def probe_apart(base: str, seconds: float) -> subprocess.Popen[bytes]:
    """A process of its own probing `/health/live` for `seconds` (see `probe_main`)."""
    code = "from benchmarks.report_load import probe_main; probe_main()"
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code, base, str(seconds)], stdout=subprocess.PIPE
    )


def probe_main() -> None:
    """`python -c ... base seconds`: the probe's waits, in seconds, as a JSON list on stdout."""
    base, seconds = sys.argv[1], float(sys.argv[2])
    gc.disable()  # as for the clients (`run`): the probe measures the service, not itself

    async def main() -> list[float]:
        waits: list[float] = []
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=base, timeout=600) as http:
            prober = asyncio.create_task(probe(http, stop, waits))
            await asyncio.sleep(seconds)
            stop.set()
            await prober
        return waits

    print(json.dumps(asyncio.run(main())))


def py_spy(pid: int, seconds: float, path: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` and its fold workers (raw folded stacks, idle frames, threads and
    processes kept, 200 Hz)."""
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(  # noqa: S603 - the venv's py-spy, fixed arguments
        [str(spy), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
         "--idle", "--threads", "--subprocesses", "--rate", "200", "--format", "raw",
         "--nonblocking", "--output", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def load_requests(
    base: str, headers: dict[str, str], rate: float, seconds: float
) -> tuple[list[tuple[str, int]], list[Request], list[tuple[str, str]]]:
    """The load's GET requests for the generator, one every 1/rate s, cycling through the mix;
    with (path, group) for each."""
    url = urlsplit(base)
    host, port = url.hostname or "", url.port or 80
    paths = mix()
    requests, labels = [], []
    for i in range(int(rate * seconds)):
        group, path = paths[i % len(paths)]
        raw = http_request(f"{host}:{port}", "GET", path, headers, b"")
        requests.append(Request(0, round(i * 1e9 / rate), raw))
        labels.append((path, group))
    return [(host, port)], requests, labels


async def open_loop(
    base: str, headers: dict[str, str], rate: float, seconds: float, logs: Path
) -> tuple[list[tuple[str, str, Answer]], float]:
    """The load from benchmarks/openloop.c: request i sent at t0 + i/rate whether or not earlier
    ones were answered, its latency counted from that instant. Returns (path, group, answer) in
    the order sent, and the generator's CPU seconds."""
    build()  # before the clock starts: compiling is not the load
    targets, requests, labels = load_requests(base, headers, rate, seconds)
    write_requests(logs / "report-requests", targets, requests)
    start_ns = time.monotonic_ns() + round(LEAD_IN_SECONDS * 1e9)
    generator = Generator(logs / "report-requests", start_ns=start_ns)
    answers: dict[int, Answer] = {}
    async for answer in generator.answers():
        answers[answer.index] = answer
    assert len(answers) == len(requests), "the generator reports every request (0: failed)"
    return [(*labels[i], answers[i]) for i in range(len(requests))], generator.cpu_seconds


async def run(
    env: dict[str, str],
    kafka: str,
    headers: dict[str, str],
    *,
    seconds: float,
    rate: float,
    live_rate: float,
    logs: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    async with (
        serve("services.reporting.app:create_app", env, logs / "reports.log", "/health/ready") as s,
        httpx.AsyncClient(base_url=s.base, timeout=600, headers=headers) as http,
    ):
        rss = RssSampler(s.pid)
        stop_sampler = asyncio.Event()
        sampler = asyncio.create_task(rss.sample(stop_sampler))
        # Cold: every distinct path once, in order; the prober measures the loop meanwhile.
        cold: dict[str, float] = {}
        waits: list[float] = []
        stop_probe = asyncio.Event()
        prober = asyncio.create_task(probe(http, stop_probe, waits))
        for _, path in mix():
            sent = time.perf_counter()
            answer = await http.get(path)
            answer.raise_for_status()
            cold[path] = time.perf_counter() - sent
        stop_probe.set()
        await prober
        # Load with live events arriving.
        stop_live = asyncio.Event()
        live = asyncio.create_task(publish_live(kafka, live_rate, stop_live))
        latencies: dict[str, list[float]] = {"report": [], "export": []}
        by_path: dict[str, list[float]] = {}
        slow: list[tuple[float, str, float]] = []  # (seconds into the load, path, seconds)
        errors = 0
        live_waits: list[float] = []
        stop_probe = asyncio.Event()
        prober = asyncio.create_task(probe(http, stop_probe, live_waits))
        lags: list[float] = []
        lagger = asyncio.create_task(lag_probe(http, stop_probe, lags))
        apart = probe_apart(s.base, seconds + LEAD_IN_SECONDS)
        spy = py_spy(s.pid, seconds + LEAD_IN_SECONDS, profile) if profile is not None else None
        rss.loading = True
        # This process's cyclic collector would pause its probe and its reading of the answers.
        gc.collect()
        gc.disable()
        answers, generator_cpu = await open_loop(s.base, headers, rate, seconds, logs)
        load_start = answers[0][2].scheduled_ns if answers else 0
        for path, group, got in answers:
            took = got.latency_ms / 1000
            latencies[group].append(took)
            by_path.setdefault(path, []).append(took)
            if took > SLOW_SECONDS:
                slow.append(((got.scheduled_ns - load_start) / 1e9, path, took))
            errors += got.status != 200
        gc.enable()
        rss.loading = False
        cpu = rss.cpu_during_load()
        stop_probe.set()
        stop_live.set()
        sent_live = await live
        await prober
        await lagger
        apart_out, _ = await asyncio.to_thread(apart.communicate)
        apart_waits: list[float] = json.loads(apart_out or b"[]")
        if spy is not None:
            await asyncio.to_thread(spy.wait)
        status = (await http.get("/projection/status")).json()
        stop_sampler.set()
        await sampler
        rss_end = rss_mb(s.pid)
    await forget_live(kafka)

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "n": len(values),
            "p50_ms": percentile(values, 0.5) * 1000 if values else 0,
            "p99_ms": percentile(values, 0.99) * 1000 if values else 0,
            "max_ms": max(values) * 1000 if values else 0,
        }

    return {
        "rate": rate,
        "seconds": seconds,
        "live_rate": live_rate,
        "live_sent": sent_live,
        "applied": status.get("stats", {}).get("applied"),
        "cache": status.get("reports", {}),  # answers computed, served stale, unchecked, ...
        "cold_s": cold,
        "cold_probe": summary(waits),
        "load": {g: summary(v) for g, v in latencies.items()},
        "load_probe": summary(live_waits),
        "load_probe_apart": summary(apart_waits),
        "live_lag": summary(lags),
        "by_path": {p: summary(v) for p, v in by_path.items()},
        "slow": sorted(slow)[:200],
        "errors": errors,
        "requests_per_s": sum(len(v) for v in latencies.values()) / seconds,
        "generator_cpu_ms_per_request": 1000 * generator_cpu / max(1, len(answers)),
        "cpu_s": cpu,
        "cpu_ms_per_request": {
            k: 1000 * v / max(1, sum(len(x) for x in latencies.values())) for k, v in cpu.items()
        },
        "rss_start_mb": rss.start,
        "rss_peak_mb": sum(rss.peak),
        "rss_peak_parts_mb": rss.peak,
        "pss_peak_mb": rss.pss_peak,
        "rss_load_peak_parts_mb": rss.load_peak,
        "rss_end_mb": rss_end,
    }


NEW_DATES = [dt.date(2018, 7, 5), dt.date(2023, 5, 21), dt.date(2025, 12, 31)]


async def new_dates(dsn: str) -> list[dict[str, Any]]:
    """The first answer of as-of dates never asked (city half-year and targets, by occurrence,
    and one by recording), each in a new fold worker (nothing held in memory): from the first
    fact as before issue 12's checkpoints (none read, none kept), then from the kept states
    (kept first by one fold as of today, as a switch-over does), alternately."""
    from unittest import mock

    import asyncpg

    from services.reporting import foldworker, readmodel
    from services.reporting.domain.targets import TargetOptions
    from services.reporting.views import ReportQuery

    async def nothing(*_: object) -> None:
        return None

    async def first(day: dt.date, recorded: dt.datetime | None) -> dict[str, Any]:
        text = recorded.isoformat() if recorded else None
        asked = [
            ReportQuery("half_year", day, recorded, text, year=day.year, half="year_end"),
            ReportQuery("targets", day, recorded, text),
        ]
        worker = foldworker.Worker()
        started = time.perf_counter()
        answer = await worker.answer(dsn, generation, asked, TargetOptions())
        seconds = time.perf_counter() - started
        return {"seconds": round(seconds, 2), "from_first_fact": answer.refolded,
                "folded": worker.folded, "restored": worker.restored}  # fmt: skip

    conn = await asyncpg.connect(dsn)
    try:
        generation = await readmodel.ensure(conn)  # the checkpoints' table in an older one
    finally:
        await conn.close()
    today = dt.datetime.now(CST).date()
    kept = await first(today, None)
    print(f"kept states by a fold as of today: {kept}", flush=True)
    cases: list[tuple[dt.date, dt.datetime | None]] = [(d, None) for d in NEW_DATES]
    cases.append((NEW_DATES[1], dt.datetime.combine(NEW_DATES[1], dt.time(), CST) + MONTH))
    results = []
    for day, recorded in cases:
        with (
            mock.patch.object(readmodel, "checkpoint_before", nothing),
            mock.patch.object(foldworker.Worker, "_keep", nothing),
        ):
            before = await first(day, recorded)
        after = await first(day, recorded)
        row = {"day": str(day), "recorded_until": str(recorded), "before": before, "after": after}
        print(row, "load", os.getloadavg()[0], flush=True)
        results.append(row)
    return results


MONTH = dt.timedelta(days=30)


async def late_facts(dsn: str, count: int, seed: int, rekeep: bool = True) -> dict[str, Any]:
    """`count` registrations dated in the past (their own days across the history's years),
    recorded now, applied as the live consumer applies a batch (50 a transaction); then, where
    this build has it (services.reporting.rekeep) and `rekeep`, the re-keep the service would
    start (without it: left to the service's own, REPORT_REKEEP_SECONDS)."""
    import asyncpg
    from socialwork_contracts.envelope import CloudEvent
    from socialwork_contracts.registry import AgencyRegistered

    from servicekit.eventstore.store import init_connection
    from services.reporting import readmodel
    from services.reporting.consumers import LiveProjection

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).isoformat()
    late: list[tuple[CloudEvent, AgencyRegistered]] = []
    first = 200_000_000 + seed % 10_000_000 * 1_000  # past any history's and live run's
    for item in history(10_000_000, seed, first):
        if not isinstance(item.event, AgencyRegistered):
            continue
        key = item.event.type_key()
        body = {"specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "source": "/socialwork/registry", "type": key, "subject": item.event.uscc,
                "time": now, "datacontenttype": "application/json",
                "dataschema": f"urn:socialwork:schema:{key}",
                "data": item.event.model_dump(mode="json"), "streamid": item.event.uscc,
                "streamversion": 1, "position": len(late) + 1, "correlationid": "bench-late",
                "causationid": "bench-late", "actor": "bench", "actorrole": "city_admin",
                "recordedtime": now}  # fmt: skip
        late.append((CloudEvent.model_validate(body), item.event))
        if len(late) == count:
            break
    days = sorted(e.registered_on for _, e in late)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, init=init_connection)
    try:
        async with pool.acquire() as conn:
            projection = LiveProjection(await readmodel.live_consumer(conn))
            for at in range(0, len(late), 50):
                async with conn.transaction():
                    await projection.apply_together(conn, late[at : at + 50])
        result: dict[str, Any] = {"late_facts": len(late), "first_day": str(days[0]),
                                  "last_day": str(days[-1])}  # fmt: skip
        try:
            from services.reporting.rekeep import Rekeeper  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return {**result, "rekept": None}
        if not rekeep:
            return {**result, "rekept": "by the service"}
        started, cpu = time.perf_counter(), _children_cpu()
        kept = await Rekeeper(dsn, 0).look(pool)  # returns once its process has ended
        seconds = time.perf_counter() - started
        return {**result, "rekept": kept, "rekeep_s": round(seconds, 2),
                "rekeep_cpu_s": round(_children_cpu() - cpu, 2)}  # fmt: skip
    finally:
        await pool.close()


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's ended and reaped child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
