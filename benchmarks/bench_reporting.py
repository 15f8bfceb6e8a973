"""Reporting benchmark: replay throughput against a raw Kafka read, and end-to-end latency.

`.venv/bin/python -m benchmarks.bench_reporting [--events 1000000] [--latency-seconds 30]
[--report-seconds 60 --report-rate 100 --live-rate 50] [--reuse-history]`

1. The history generator writes N events (three services' proportions) to DEDICATED topics
   `bench.reporting.<run>.*` (never the real ones, which the tests read).
2. Raw baseline: a plain aiokafka consumer assigned to every partition reads the same topics from
   offset 0 to their end and only `json.loads` each value (run before and after ours; the faster
   run is the baseline, so the ratio is conservative).
3. Ours: `services.reporting.replay.replay` folds the same topics into a fresh generation —
   CloudEvent and contract validation, one fact per event, agency summaries, checkpoint per
   batch in one transaction — and switches to it. Each side runs in its own child process, so
   the peak resident memory (ru_maxrss) is that side's alone.
4. Latency: the registry and reporting services run as servers; registrations are sent at a
   steady moderate rate; for each, the time from the registry's 201 (command accepted) to the
   agency being visible at the reporting API's `GET /agencies/{uscc}` (polled every 10 ms).
5. Reports (`--report-seconds`, 0 skips): on the replayed projection, a cProfile of one cold
   fold, then the report endpoints under an open-loop load with live events arriving
   (`benchmarks/report_load.py` says how; latency p50/p99, the loop's responsiveness, RSS).
Results: the `bench_reporting` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from socialwork_contracts.topics import consumed_by

from benchmarks import report_load
from benchmarks.bench_foundation import (
    ROOT,
    code_state,
    create_database,
    drop_database,
    infrastructure,
    serve,
    versions,
)
from benchmarks.history_generator import publish, topic_names
from servicekit.auth import Role, TokenSettings, issue_token
from servicekit.topic_reading import end_offsets, log_reader, partitions
from services.registry.domain.uscc import CHARSET, with_check_character
from tests.support import wait_for

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECRET = secrets.token_urlsafe(32)  # a throwaway key for the servers this run starts


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def raw_read(bootstrap: str, topics: list[str]) -> dict[str, Any]:
    """Read every record of `topics` from offset 0 and json.loads it; nothing else."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    parts = [TopicPartition(t, p) for t, p in await partitions(bootstrap, topics)]
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        total = sum(ends.values())
        started = time.perf_counter()
        n = 0
        while n < total:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    json.loads(record.value)
                    n += 1
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    return {"events": n, "seconds": seconds, "rate": n / seconds, "maxrss_mb": maxrss_mb()}


async def ours(bootstrap: str, topics: list[str], dsn: str, workers: int) -> dict[str, Any]:
    from servicekit.eventstore import EventStore
    from servicekit.eventstore.store import create_pool
    from services.reporting import readmodel
    from services.reporting.replay import next_generation, replay

    pool = await create_pool(dsn, max_size=4)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            await readmodel.ensure(conn)
        generation = await next_generation(pool)
        result = await replay(
            pool, bootstrap, topics, generation=generation, switch=True, dsn=dsn, workers=workers
        )
        async with pool.acquire() as conn:
            facts = await conn.fetchval(f"SELECT count(*) FROM {generation}.facts")  # noqa: S608 - checked identifier
            agencies = await conn.fetchval(f"SELECT count(*) FROM {generation}.agencies")  # noqa: S608 - checked identifier
    finally:
        await pool.close()
    return {
        "events": result.events,
        "seconds": result.seconds,
        "rate": result.events / result.seconds,
        "facts": facts,
        "agencies": agencies,
        "switched": result.switched,
        "workers": workers,
        "maxrss_mb": maxrss_mb(),
        # the load's shard processes (ru_maxrss of the largest waited-for child)
        "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


async def generated_history(
    bootstrap: str, state: Path, events: int, reuse: bool
) -> dict[str, Any]:
    """The history on dedicated topics: generated now, or with `reuse` the one generated into
    this broker by an earlier run of the same size (noted in the --state folder)."""
    noted = state / f"history-{events}.json"
    if reuse and noted.exists():
        history: dict[str, Any] = json.loads(noted.read_text(encoding="utf-8"))
        if await _topics_hold(bootstrap, history["topics"], sum(history["counts"].values())):
            print(f"reusing the history on {history['prefix']}.*", flush=True)
            return history
    prefix = f"bench.reporting.{uuid.uuid4().hex[:8]}"
    print(f"generating {events:,} events onto {prefix}.* ...", flush=True)
    started = time.monotonic()
    counts = await publish(bootstrap, prefix, events)
    history = {
        "prefix": prefix,
        "topics": list(topic_names(prefix).values()),
        "counts": counts,
        "seconds": time.monotonic() - started,
    }
    noted.write_text(json.dumps(history), encoding="utf-8")
    return history


async def _topics_hold(bootstrap: str, topics: list[str], total: int) -> bool:
    """Whether `topics` exist on this broker with `total` records from offset 0."""
    tps = [TopicPartition(t, p) for t, p in await partitions(bootstrap, topics)]
    if not tps:
        return False
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return not any(starts.values()) and sum(ends.values()) == total


_PHASE_MAIN = "from benchmarks.bench_reporting import main; main()"


def child(phase: str, *args: str) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is its JSON result.

    Started with `-c`, not `-m`: a spawned worker re-imports a `-m` main module (this one, with
    the servers' and the load's imports, about a CPU second), which the service's own entry
    point (`python -m services.reporting`, a `__main__`) does not make it do."""
    done = subprocess.run(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-c", _PHASE_MAIN, "--phase", phase, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def registration(i: int, run: str) -> dict[str, Any]:
    serial = "".join(CHARSET[(i // 31**k + hash(run)) % 31] for k in range(7))
    uscc = with_check_character(f"52410105MJ{serial}")
    return {
        "uscc": uscc,
        "name": f"郑州市基准测试第{i}社会工作服务中心",
        "kind": "service_agency",
        "reporting_unit": "jinshui",
        "address": "郑州市金水区经三路 1 号",
        "legal_representative": "张三",
        "charter_purpose": "以社会工作专业理念服务社区居民",
        "charter_scope": "社区服务、老年人服务",
        "charter_method": "个案、小组、社区工作",
        "full_time_staff": 6,
        "qualified_staff": 2,
        "service_fields": ["community_service"],
        "target_groups": ["elderly"],
        "registered_on": "2024-05-01",
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def latency(kafka: str, admin_dsn: str, seconds: float, rate: float) -> dict[str, Any]:
    dsn, name = await create_database(admin_dsn)
    env = {"DATABASE_URL": dsn, "KAFKA_BOOTSTRAP_SERVERS": kafka, "AUTH_JWT_SECRET": SECRET,
           "LOG_LEVEL": "WARNING",
           # The load is shorter than the default idle time (60 s): the history worker, idle
           # once the cold requests are answered, ends during it, as it would in service.
           "REPORT_HISTORY_IDLE_SECONDS": "10"}  # fmt: skip
    token = issue_token(
        TokenSettings(SECRET, "socialwork-dev", "socialwork"),
        subject="bench",
        role=Role.CITY_ADMIN,
        now=dt.datetime.now(dt.UTC),
    )
    headers = {"Authorization": f"Bearer {token}"}
    logs = Path(tempfile.mkdtemp(prefix="bench-reporting-"))
    results: list[float] = []
    accepted: list[float] = []
    run = uuid.uuid4().hex[:6]
    try:
        async with (
            serve(
                "services.registry.app:create_app", env, logs / "registry.log", "/health/ready"
            ) as registry,
            serve(
                "services.reporting.app:create_app", env, logs / "reporting.log", "/health/ready"
            ) as reporting,
            httpx.AsyncClient(base_url=registry.base, timeout=30) as commands,
            httpx.AsyncClient(base_url=reporting.base, timeout=30) as reads,
        ):

            async def one(i: int, into: list[float] = results) -> None:
                body = registration(i, run)
                sent = time.perf_counter()
                response = await commands.post(
                    "/commands/register-agency",
                    json=body,
                    headers={**headers, "Idempotency-Key": f"{run}-{i}"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"registration refused: {response.text}")
                done = time.perf_counter()
                accepted.append(done - sent)
                while True:
                    seen = await reads.get(f"/agencies/{body['uscc']}", headers=headers)
                    if seen.status_code == 200:
                        into.append(time.perf_counter() - done)
                        return
                    await asyncio.sleep(0.01)

            # The first command after both services started: reported apart, not as the steady
            # state's tail (it waited for reporting's consumer to seek its partitions, 0.7-1.2 s,
            # while /health/ready, which `serve` waits for, did not yet say so).
            first: list[float] = []
            await one(-1, first)
            accepted.clear()
            # The latency is the steady state's: reporting first reads what its topics already
            # held (a kept broker holds every earlier run's commands), timed apart.
            caught = time.perf_counter()
            backlog = await caught_up(kafka, reads, headers)
            catch_up = (backlog, time.perf_counter() - caught + first[0])
            tasks = []
            count = int(seconds * rate)
            started = time.perf_counter()
            for i in range(count):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        await drop_database(admin_dsn, name)
    return {
        "commands": len(results),
        "rate_per_second": rate,
        "seconds": seconds,
        "visible_p50_ms": percentile(results, 0.5) * 1000,
        "visible_p99_ms": percentile(results, 0.99) * 1000,
        "visible_max_ms": max(results) * 1000,
        "accept_p50_ms": statistics.median(accepted) * 1000,
        "first_visible_ms": first[0] * 1000,
        "backlog_records": catch_up[0],
        "caught_up_seconds": catch_up[1],
    }


async def caught_up(kafka: str, reads: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """Once reporting's consumer has applied every record its topics held when asked (its
    checkpoints at their end offsets): how many records that was."""
    topics = [spec.name for spec in consumed_by("reporting")]
    async with log_reader(kafka) as reader:
        ends = await end_offsets(reader, await partitions(kafka, topics))
        starts: dict[TopicPartition, int] = await reader.beginning_offsets(
            [TopicPartition(t, p) for t, p in ends]
        )

    async def applied() -> bool:
        status = (await reads.get("/projection/status", headers=headers)).json()
        done = status["checkpoints"]
        # A partition whose records were all deleted has no checkpoint: nothing to read.
        first = {(tp.topic, tp.partition): offset for tp, offset in starts.items()}
        return all(done.get(f"{t}/{p}", first[t, p]) >= end for (t, p), end in ends.items())

    await wait_for(applied, timeout=300, interval=0.1)
    return sum(ends.values()) - sum(starts.values())


def bench_token() -> dict[str, str]:
    token = issue_token(
        TokenSettings(SECRET, "socialwork-dev", "socialwork"),
        subject="bench",
        role=Role.CITY_ADMIN,
        now=dt.datetime.now(dt.UTC),
    )
    return {"Authorization": f"Bearer {token}"}


async def report_phase(kafka: str, dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {"DATABASE_URL": dsn, "KAFKA_BOOTSTRAP_SERVERS": kafka, "AUTH_JWT_SECRET": SECRET,
           "LOG_LEVEL": "WARNING",
           # The load is shorter than the default idle time (60 s): the history worker, idle
           # once the cold requests are answered, ends during it, as it would in service.
           "REPORT_HISTORY_IDLE_SECONDS": "10"}  # fmt: skip
    logs = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    return await report_load.run(
        env,
        kafka,
        bench_token(),
        seconds=args.report_seconds,
        rate=args.report_rate,
        live_rate=args.live_rate,
        logs=logs,
        profile=Path(args.profile_loop) if args.profile_loop else None,
    )


async def profile_fold(dsn: str) -> dict[str, Any]:
    """cProfile of one cold fold as of today in the fold worker's code (in this process)."""
    import cProfile
    import io
    import pstats

    from services.reporting import foldworker, readmodel
    from services.reporting.domain.targets import TargetOptions
    from services.reporting.views import ReportQuery

    conn = await asyncpg.connect(dsn)
    try:
        generation = await readmodel.current_generation(conn)
    finally:
        await conn.close()
    worker = foldworker.Worker()
    today = dt.datetime.now(dt.UTC).date()
    queries = [
        ReportQuery("half_year", today, None, None, year=today.year, half="mid_year"),
        ReportQuery("targets", today, None, None),
    ]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    await worker.answer(dsn, generation, queries, TargetOptions())
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return {"seconds": seconds, "maxrss_mb": maxrss_mb(), "table": out.getvalue()}


def section(r: dict[str, Any]) -> str:
    raw = max(r["raw"], key=lambda x: x["rate"])
    o = r["ours"]
    counts = r["generated"]
    total = sum(counts.values())
    share = ", ".join(f"{k} {v:,} ({v / total:.0%})" for k, v in counts.items())
    changed = r.get("code", {}).get("uncommitted", [])
    dirty = f" (uncommitted changes in {', '.join(changed)})" if changed else ""
    return f"""## Reporting — {r["when"]}

Written by `.venv/bin/python -m benchmarks.bench_reporting --events {r["events"]}`; the
script's docstring says what each figure measures. Machine: {os.cpu_count()} CPUs, Python
{platform.python_version()}; Kafka and PostgreSQL on the same host (devstack), load average
{r["load"]} at start. Commit {r.get("code", {}).get("commit", "unknown")[:12]}{dirty};
versions: {", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items())}.

History: {total:,} events generated by `benchmarks/history_generator.py` onto dedicated topics
(6 partitions each) in {r["generate_seconds"]:.0f} s — {share}.

| Figure | Ours (replay fold) | Raw aiokafka read + json.loads | Ratio |
|---|---:|---:|---:|
| Events/s | {o["rate"]:,.0f} | {raw["rate"]:,.0f} | {o["rate"] / raw["rate"]:.2f}× |
| Wall time, s | {o["seconds"]:.1f} | {raw["seconds"]:.1f} | |
| Peak RSS of the process, MB | {o["maxrss_mb"]:.0f} | {raw["maxrss_mb"]:.0f} | |
| Processes | {o.get("workers", 1)} (+ parent) | 1 | |

Raw runs (before / after ours): {", ".join(f"{x['rate']:,.0f}/s" for x in r["raw"])}. The replay
stored {o["facts"]:,} facts and {o["agencies"]:,} agency rows and switched over: {o["switched"]}.

{latency_section(r["latency"])}
Reading the ratio (aim: ≥ 0.5×; **{"reached" if o["rate"] >= raw["rate"] / 2 else "not reached"}**).
The raw side only decodes JSON. Ours reads the same topics through
`servicekit.topic_reading` (ends taken at the start, public aiokafka API only), parses each record
with the consumers' own parser (`servicekit.kafka_records`: envelope and payload of a current
event type validated together in one pydantic-core pass from the record's bytes, older versions
upcast), builds the fact (payload serialised once by pydantic-core, as bytes) and COPYs the batch
in binary straight into the facts table with its checkpoint in one transaction per batch of up to
5,000 (a batch that repeats a stored event id goes again through a staging table and
`INSERT … ON CONFLICT (event_id) DO NOTHING`); PostgreSQL, Kafka and both sides share the host's
cores. This run split the bulk load by partition over {o.get("workers", 1)} process(es)
(`--workers`; peak RSS of a shard process at most {o.get("children_maxrss_mb", 0):.0f} MB): each
shard checkpoints only its own partitions, and the secondary indexes, the agency summaries (keyed
by credit code), any catch-up and the switch run in the parent once every shard has reached the
end offsets it was given.
{report_section(r)}"""


def latency_section(lat: dict[str, Any] | None) -> str:
    """The command-to-visible paragraph (none when the run skipped it: --latency-seconds 0)."""
    if lat is None:
        return ""
    return f"""Latency from a registration accepted by the registry (HTTP 201) to the agency visible
at the reporting API, {lat["commands"]} commands at {lat["rate_per_second"]:g}/s for
{lat["seconds"]:g} s: **p50 {lat["visible_p50_ms"]:.0f} ms, p99 {lat["visible_p99_ms"]:.0f} ms**
(max {lat["visible_max_ms"]:.0f} ms; the command itself took p50 {lat["accept_p50_ms"]:.0f} ms),
after one command sent first, right after both services started, and visible in
{lat.get("first_visible_ms", float("nan")):.0f} ms (reporting's consumer joining its group); the
measured commands were sent once reporting had applied the {lat.get("backlog_records", 0):,}
records its topics already held, {lat.get("caught_up_seconds", float("nan")):.1f} s after the start.
The path is registry outbox relay (woken by NOTIFY, 0.5 s fallback poll) → Kafka → the reporting
consumer's batch (fact + agency summary + checkpoint in one transaction) → the API read.

"""


def report_section(r: dict[str, Any]) -> str:
    """The report endpoints' part of the section (report_load.py says what is measured)."""
    rep, prof = r.get("reports"), r.get("profile")
    if not rep:
        return ""
    cold = sorted(rep["cold_s"].items(), key=lambda kv: -kv[1])
    cold_rows = "\n".join(f"| `{path}` | {seconds:.2f} |" for path, seconds in cold)
    load = rep["load"]
    table = "\n".join(
        f"| {group} | {v['n']} | {v['p50_ms']:.0f} | {v['p99_ms']:.0f} | {v['max_ms']:.0f} |"
        for group, v in (
            ("reports (JSON)", load["report"]),
            ("exports (CSV/Excel)", load["export"]),
            ("`/health/live` meanwhile", rep["load_probe"]),
            ("`/health/live` from another process", rep["load_probe_apart"]),
            ("a live answer's lag behind the facts (targets, every 0.25 s)", rep["live_lag"]),
        )
    )
    paths = sorted(rep.get("by_path", {}).items(), key=lambda kv: -kv[1]["p99_ms"])
    path_rows = "\n".join(
        f"| `{path}` | {v['n']} | {v['p50_ms']:.0f} | {v['p99_ms']:.0f} | {v['max_ms']:.0f} |"
        for path, v in paths
    )
    parts = " + ".join(f"{p:.0f}" for p in rep.get("rss_peak_parts_mb", []))
    load_parts = rep.get("rss_load_peak_parts_mb", [])
    load_rss = f"{sum(load_parts):.0f} MB ({' + '.join(f'{p:.0f}' for p in load_parts)})"
    profile = prof["table"].strip() if prof else "(not run)"
    prof_s, prof_mb = (prof["seconds"], prof["maxrss_mb"]) if prof else (0.0, 0.0)
    return f"""
### Report endpoints (`--report-seconds {rep["seconds"]:g} --report-rate {rep["rate"]:g}`)

Load: {rep["rate"]:g} requests/s, open loop (benchmarks/openloop.c: request i sent at t0 + i/rate
whether or not earlier ones were answered, its latency counted from that instant; the generator
cost {rep["generator_cpu_ms_per_request"]:.2f} ms of CPU a request) cycling through
{len(rep["cold_s"])} report and export requests (every endpoint as of today; past half-year,
target and coverage reports by occurrence and by recording; CSV and Excel) for {rep["seconds"]:g}
s, while {rep["live_sent"]:,} live events dated today were published to the real topics at
{rep["live_rate"]:g}/s (the service applied {rep["applied"]} events meanwhile).
{rep["requests_per_s"]:.1f} requests/s answered, {rep["errors"]} errors.

| Requests | n | p50 ms | p99 ms | max ms |
|---|---:|---:|---:|---:|
{table}

By query (slowest p99 first; {len(rep.get("slow", []))} requests over 100 ms):

| Query | n | p50 ms | p99 ms | max ms |
|---|---:|---:|---:|---:|
{path_rows}

RSS of the service (its process and the fold workers): {rep["rss_start_mb"]:.0f} MB at start,
peak {rep["rss_peak_mb"]:.0f} MB (by process, the service first: {parts}),
{rep["rss_end_mb"]:.0f} MB
at the end; peak during the load alone {load_rss}. Proportional (PSS, a page the processes
share counted once): peak {rep.get("pss_peak_mb", 0):.0f} MB.

First request of each query (cold; one after the other, before the load), and meanwhile
`/health/live` every 20 ms answered in p50 {rep["cold_probe"]["p50_ms"]:.0f} ms, p99
{rep["cold_probe"]["p99_ms"]:.0f} ms, max {rep["cold_probe"]["max_ms"]:.0f} ms (the loop is not
blocked by a fold):

| Query | Seconds |
|---|---:|
{cold_rows}

One cold fold as of today in the fold worker's code, cProfile ({prof_s:.1f} s under the
profiler, peak RSS {prof_mb:.0f} MB), by own time:

```
{profile}
```
"""


def write_results(text: str) -> None:
    begin, end = "<!-- bench_reporting:begin -->", "<!-- bench_reporting:end -->"
    md = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n{text}{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(md):
        md = pattern.sub(lambda _: block, md)
    else:
        md = md.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(md, encoding="utf-8")


async def reports_again(args: argparse.Namespace) -> None:
    """Only the report phase, on a database an earlier run kept (`--keep-database`): the
    history is generated and replayed once (about ten minutes at a million events)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with infrastructure(Path(args.state)) as infra:
        dsn = f"{infra.admin_dsn.rpartition('/')[0]}/{args.reports_on}"
        if args.late_facts:
            late = await report_load.late_facts(
                dsn, args.late_facts, seed=int(time.time()), rekeep=not args.rekeep_by_service
            )
            print(json.dumps(late), "load", os.getloadavg()[0], flush=True)
        if args.new_dates:
            print(json.dumps(await report_load.new_dates(dsn), indent=1), flush=True)
            return
        reports = await report_phase(infra.kafka, dsn, args)
    print(json.dumps(reports, indent=1), flush=True)
    print(f"load average at start {load}, commit {code_state().get('commit', '?')[:12]}")
    print(report_section({"reports": reports, "profile": None}))


async def main_async(args: argparse.Namespace) -> None:
    state = Path(args.state)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with infrastructure(state) as infra:
        history = await generated_history(infra.kafka, state, args.events, args.reuse_history)
        topics, counts = history["topics"], history["counts"]
        generate_seconds = history["seconds"]
        raw = [
            await asyncio.to_thread(child, "raw", "--bootstrap", infra.kafka, "--topics", *topics)
        ]
        print(f"raw read: {raw[0]['rate']:,.0f} events/s", flush=True)
        dsn, name = await create_database(infra.admin_dsn)
        reports: dict[str, Any] | None = None
        profile: dict[str, Any] | None = None
        try:
            mine = await asyncio.to_thread(
                child,
                "replay",
                "--bootstrap",
                infra.kafka,
                "--dsn",
                dsn,
                "--workers",
                str(args.workers),
                "--topics",
                *topics,
            )
            if args.report_seconds > 0:
                profile = await asyncio.to_thread(child, "profile", "--dsn", dsn)
                print(f"cold fold profiled: {profile['seconds']:.1f} s", flush=True)
                reports = await report_phase(infra.kafka, dsn, args)
                print(json.dumps(reports, indent=1), flush=True)
        finally:
            if args.keep_database:
                print(f"kept database {name}: --reports-on {name} --state {state}", flush=True)
            else:
                await drop_database(infra.admin_dsn, name)
        print(f"replay fold: {mine['rate']:,.0f} events/s", flush=True)
        raw.append(
            await asyncio.to_thread(child, "raw", "--bootstrap", infra.kafka, "--topics", *topics)
        )
        print(f"raw read again: {raw[1]['rate']:,.0f} events/s", flush=True)
        lat = None  # --latency-seconds 0: the replay's figures only
        if args.latency_seconds > 0:
            lat = await latency(infra.kafka, infra.admin_dsn, args.latency_seconds, args.rate)
            print(
                f"latency p50 {lat['visible_p50_ms']:.0f} ms p99 {lat['visible_p99_ms']:.0f} ms "
                f"(after {lat['backlog_records']:,} records caught up in "
                f"{lat['caught_up_seconds']:.1f} s)"
            )
    results = {
        "code": code_state(),
        "versions": {**versions(), "kafka": infra.kafka_version},
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "load": load,
        "generated": counts,
        "generate_seconds": generate_seconds,
        "raw": raw,
        "ours": mine,
        "latency": lat,
        "reports": reports,
        "profile": profile,
    }
    write_results(section(results))
    print(json.dumps(results, indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_reporting")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=10.0, help="registrations per second")
    parser.add_argument("--state", default=str(ROOT / ".state" / "bench-reporting"))
    parser.add_argument(
        "--workers", type=int, default=2, help="replay processes, split by partition"
    )
    parser.add_argument(
        "--report-seconds", type=float, default=60.0, help="report load phase (0: skip)"
    )
    parser.add_argument(
        "--reuse-history",
        action="store_true",
        help="reuse the history an earlier run generated into the --state folder's broker",
    )
    parser.add_argument(
        "--report-rate", type=float, default=100.0, help="report requests/s (open loop)"
    )
    parser.add_argument(
        "--live-rate", type=float, default=50.0, help="live events/s during the report load"
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep the replayed database (its name is printed)",
    )
    parser.add_argument(
        "--reports-on", metavar="DATABASE", help="only the report phase, on a kept database"
    )
    parser.add_argument(
        "--new-dates",
        action="store_true",
        help="with --reports-on: first answers of new as-of dates, from the first fact and "
        "from kept checkpoints (writes checkpoints into that database)",
    )
    parser.add_argument(
        "--late-facts",
        type=int,
        default=0,
        metavar="N",
        help="with --reports-on: first N registrations dated in the past applied as the live "
        "consumer applies them (and re-kept where the build does), then the phase",
    )
    parser.add_argument(
        "--rekeep-by-service",
        action="store_true",
        help="with --late-facts: no re-keep before the phase; the service's own keeps them "
        "(REPORT_REKEEP_SECONDS from the environment) during the report load",
    )
    parser.add_argument(
        "--profile-loop",
        metavar="PATH",
        help="py-spy raw stacks of the service during the report load, written to PATH",
    )
    parser.add_argument("--phase", choices=["raw", "replay", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--topics", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "raw":
        print(json.dumps(asyncio.run(raw_read(args.bootstrap, args.topics))))
    elif args.phase == "profile":
        print(json.dumps(asyncio.run(profile_fold(args.dsn))))
    elif args.phase == "replay":
        print(json.dumps(asyncio.run(ours(args.bootstrap, args.topics, args.dsn, args.workers))))
    else:
        Path(args.state).mkdir(parents=True, exist_ok=True)
        asyncio.run(reports_again(args) if args.reports_on else main_async(args))


if __name__ == "__main__":
    main()
