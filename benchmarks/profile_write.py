"""Where a registry command's time goes under `wrk` (issue 12): py-spy on the server, CPU of every
process involved, and how the event loop spent its wall time.

Run from the repository root (py-spy from requirements-dev.lock; root or ptrace rights):

    .venv/bin/python -m benchmarks.profile_write [--seconds 15]

One registry process (`services.registry.app:create_app`, uvicorn as bench_write serves it) is
loaded by `wrk` (32 connections, unique `register-agency` bodies) after a warm-up, while
`py-spy record --idle` samples it. Reported:

- CPU seconds over the run of the registry, of `wrk`, of PostgreSQL (the postmaster and every
  backend of the server the registry uses), of the Kafka broker (the process listening on the
  bootstrap port: the relay publishes every event) and the machine's idle share: which of them
  would saturate first on this host;
- PostgreSQL's statements per command (`pg_stat_statements`, when the server preloads it);
- from the registry's /metrics over the run: its garbage collections (count and pause per
  request, by generation) and its group commits (size, time from BEGIN to COMMIT, wait);
- the main thread's samples split into running Python and idle in the loop's `select`/`epoll`
  (a request waits on PostgreSQL or on a lane while the loop idles; on the CPU while it runs);
- inclusive shares of the functions that matter (a stack counts once per pattern it contains).

Kafka and PostgreSQL come from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set, else devstack
starts both. Prints a Markdown table; RESULTS.md is edited by hand from it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.bench_foundation import (
    REGISTER_PATH,
    cpu_seconds,
    create_database,
    drop_database,
    infrastructure,
    serve,
)
from benchmarks.bench_visible import reset_statements, top_statements
from benchmarks.bench_write import (
    CONNECTIONS,
    LUA,
    THREADS,
    WARMUP_SECONDS,
    children,
    ensure_wrk,
    listener_pid,
    postmaster_pid,
    process_cpu,
    write_bodies,
)
from benchmarks.write_rounds import registry_metrics
from tests.conftest import TEST_METRICS_TOKEN, TEST_SECRET
from tests.support import auth

LOOP = "Runner.run (asyncio/runners.py:118)"
# What the loop was running, by the frame just below it: (label, substrings of that frame).
ROOTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HTTP parsing (httptools callbacks)", ("HttpToolsProtocol",)),
    ("request task: middleware, FastAPI, auth, the route", ("run_asgi",)),
    ("group commit: commands run alone (`CommandRun` in a task)", ("CommandRun.__call__",)),
    ("group commit: lanes (the batch of commands run together, savepoints)", ("_drain",)),
    ("relay (`OutboxRelay`)", ("OutboxRelay", "Leadership")),
    ("aiokafka background (sender, connections)", ("aiokafka",)),
    ("asyncpg protocol callbacks", ("asyncpg",)),
)
# Inclusive shares of the busy samples (a stack counts once per pattern it contains).
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("route matching (Starlette/FastAPI routers)", ("matches (", "effective_candidates")),
    ("FastAPI `solve_dependencies` (headers, principal, body)", ("solve_dependencies",)),
    ("a command route's own reading (`plain`: auth, body, command)", ("_add.<locals>.plain",)),
    ("  the body validated (`model_validate_json`)", ("model_validate_json",)),
    ("the principal (token check)", ("current_principal", "principal_from")),
    ("FastAPI response validation + serialisation", ("serialize_response",)),
    ("sending the answer (uvicorn `send`)", ("RequestResponseCycle.send",)),
    ("command route before the group (body → command)", ("command_of (",)),
    ("  `unstorable_text` (the body's characters)", ("unstorable_text",)),
    ("`execute_together` (a group's commands in a batch)", ("execute_together",)),
    ("  `load_many`", ("load_many",)),
    ("  `append_many`", ("append_many",)),
    ("`execute` (servicekit/commands.py, a command alone)", ("execute (servicekit/commands.py",)),
    ("  `fingerprint` (json.dumps + sha256)", ("fingerprint",)),
    ("  `read_stream`", ("read_stream",)),
    ("  `find_command`", ("find_command",)),
    ("`decide` + `authorize` + `evolve`", ("decide (services", "authorize", "evolve")),
    ("  `EventStore.append` (a command alone)", ("EventStore.append (",)),
    ("    the check query", ("_append_in (servicekit/eventstore/store.py:21",)),
    ("    the insert", ("_append_in (servicekit/eventstore/store.py:2",)),
    ("    `model_dump` of the events", ("model_dump",)),
    ("inline read-model upsert", ("readmodel.py",)),
    ("asyncpg `execute`/`fetch` (Python side + Cython under it)", ("asyncpg/connection.py",)),
    ("json (stdlib) encode/decode", ("json/encoder.py", "json/decoder.py")),
    ("relay `publish_batch`", ("publish_batch",)),
    ("  `to_kafka_record`", ("to_kafka_record",)),
    ("structlog", ("structlog/",)),
    ("prometheus_client", ("prometheus_client/",)),
)


def root_of(stack: str) -> str | None:
    """The frame right below the loop's, or None when the loop itself was sampled (idle)."""
    frames = stack.split(";")
    for i, frame in enumerate(frames):
        if frame == LOOP:
            return frames[i + 1] if i + 1 < len(frames) else None
    return stack


def machine_idle() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def read_samples(path: Path) -> tuple[Counter[str], int]:
    stacks: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        # only the main thread (the event loop): idle worker threads (anyio's pool) would
        # otherwise count as busy samples
        if stack.startswith("Thread._bootstrap"):
            continue
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks, sum(stacks.values())


def share(stacks: Counter[str], patterns: Sequence[str]) -> int:
    return sum(n for stack, n in stacks.items() if any(p in stack for p in patterns))


def self_frames(stacks: Counter[str], top: int) -> list[tuple[str, int]]:
    frames: Counter[str] = Counter()
    for stack, n in stacks.items():
        frames[stack.rsplit(";", 1)[-1]] += n
    return frames.most_common(top)


# registry CPU, PostgreSQL CPU, Kafka CPU, machine idle, clock
Snapshot = tuple[float, float, float, float, float]


def snapshot(registry: int, backends: Sequence[int], kafka: int | None) -> Snapshot:
    broker = process_cpu([kafka]) if kafka else float("nan")
    return (cpu_seconds(registry), process_cpu(backends), broker, machine_idle(), time.monotonic())


def measure_under_py_spy(
    registry: int,
    postmaster: int,
    kafka: int | None,
    wrk_run: list[str],
    samples: Path,
    seconds: int,
) -> tuple[str, Any, Snapshot, Snapshot]:
    """One wrk run while py-spy samples the registry (blocking: run in a thread)."""
    py_spy = str(Path(sys.executable).parent / "py-spy")
    spy = subprocess.Popen(  # noqa: S603 - py-spy from the venv
        [py_spy, "record", "--pid", str(registry), "--rate", "200", "--format", "raw", "--idle",
         "--duration", str(seconds + 1), "--output", str(samples)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)  # py-spy attaches before the load starts
    backends = [postmaster, *children(postmaster)]
    before = snapshot(registry, backends, kafka)
    load = subprocess.Popen(wrk_run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    _, _, usage = os.wait4(load.pid, 0)
    out = load.stdout.read().decode() if load.stdout else ""
    after = snapshot(registry, sorted(set(backends) | set(children(postmaster))), kafka)
    spy.wait(timeout=60)
    return out, usage, before, after


async def profile(kafka: str, admin_dsn: str, seconds: int, tmp: Path) -> str:
    wrk = ensure_wrk()
    db_url, db_name = await create_database(admin_dsn)
    env = {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": TEST_METRICS_TOKEN,
    }
    header = auth()["Authorization"]
    script = tmp / "bodies.lua"
    script.write_text(LUA, encoding="utf-8")
    try:
        async with serve(
            "services.registry.app:create_app", env, tmp / "registry.log", "/health/ready"
        ) as registry:
            postmaster = await postmaster_pid(db_url)
            kafka_pid = listener_pid(int(kafka.rsplit(":", 1)[1].split(",")[0]))
            warm = tmp / "warm.jsonl"
            write_bodies(warm, 1, 4_000 * WARMUP_SECONDS)
            run = tmp / "run.jsonl"
            write_bodies(run, 10**6, 4_000 * seconds)

            cmd = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", "--latency", "-s", str(script)]
            url = [registry.base + REGISTER_PATH, "--"]
            wrk_run = [*cmd, f"-d{seconds}s", *url, str(run), str(THREADS), header]
            warm_run = [*cmd, f"-d{WARMUP_SECONDS}s", *url, str(warm), str(THREADS), header]
            samples = tmp / "pyspy.txt"
            await asyncio.to_thread(subprocess.run, warm_run, check=True, capture_output=True)
            statements = await _statements_reset(db_url)
            metrics_before = await registry_metrics(registry.base)
            sampled = await asyncio.to_thread(
                measure_under_py_spy,
                registry.pid,
                postmaster,
                kafka_pid,
                wrk_run,
                samples,
                seconds,
            )
            requests = int(sampled[0].split(" requests in ")[0].rsplit("\n", 1)[-1].strip())
            if statements:
                await _statements_report(db_url, requests)
            _metrics_report(metrics_before, await registry_metrics(registry.base), requests)
    finally:
        await drop_database(admin_dsn, db_name)
    return table(*sampled, requests, samples)


def table(
    out: str, usage: Any, before: Snapshot, after: Snapshot, requests: int, samples: Path
) -> str:
    """The CPU of each process and where the registry's loop spent its time, in Markdown."""
    wall = after[4] - before[4]
    stacks, total = read_samples(samples)
    roots: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    for stack, n in stacks.items():
        root = root_of(stack)
        if root is None:
            roots["idle (the loop waiting for I/O)"] += n
            continue
        busy[stack] += n
        label = next((lbl for lbl, pats in ROOTS if any(p in root for p in pats)), "other")
        roots[label] += n
    busy_total = sum(busy.values())
    lines = [
        f"wrk: {requests:,} requests in {wall:.1f} s = {requests / wall:,.0f}/s",
        "",
        "| Process | CPU s | CPU ms per request | cores |",
        "|---|---:|---:|---:|",
    ]
    for name, cpu in (
        ("registry (uvicorn)", after[0] - before[0]),
        ("PostgreSQL (postmaster + backends)", after[1] - before[1]),
        ("Kafka broker (JVM)", after[2] - before[2]),
        ("wrk", usage.ru_utime + usage.ru_stime),
        ("machine idle", after[3] - before[3]),
    ):
        lines.append(f"| {name} | {cpu:.2f} | {cpu * 1000 / requests:.2f} | {cpu / wall:.2f} |")
    lines += [
        "",
        f"py-spy: {total:,} samples of the main thread's wall time, {busy_total:,} busy",
        "",
        "| What the event loop ran | Share of wall time |",
        "|---|---:|",
    ]
    for label, n in roots.most_common():
        lines.append(f"| {label} | {n / total:.1%} |")
    lines += ["", "| Where (inclusive) | Share of busy samples |", "|---|---:|"]
    for label, patterns in BUCKETS:
        lines.append(f"| {label} | {share(busy, patterns) / busy_total:.1%} |")
    lines += ["", "Top self frames:", ""]
    for frame, n in self_frames(busy, 25):
        lines.append(f"- {n / busy_total:.1%} {frame}")
    print(out)
    return "\n".join(lines)


# Histograms of servicekit.metrics read from /metrics: (name, label) -> what it says.
_HISTOGRAMS = (
    ("socialwork_gc_pause_seconds", 'generation="0"', "GC generation 0"),
    ("socialwork_gc_pause_seconds", 'generation="1"', "GC generation 1"),
    ("socialwork_gc_pause_seconds", 'generation="2"', "GC generation 2"),
    ("socialwork_group_commit_commands", "", "group commit: commands a group"),
    ("socialwork_group_commit_seconds", "", "group commit: BEGIN to COMMIT"),
    ("socialwork_group_commit_wait_seconds", "", "group commit: a command's wait"),
)


def _metrics_report(before: dict[str, float], after: dict[str, float], requests: int) -> None:
    for name, label, what in _HISTOGRAMS:
        key = "{" + label + "}" if label else ""
        count = after.get(f"{name}_count{key}", 0) - before.get(f"{name}_count{key}", 0)
        total = after.get(f"{name}_sum{key}", 0) - before.get(f"{name}_sum{key}", 0)
        if name.startswith("socialwork_gc"):
            print(
                f"{what}: {count / requests:.2f} collections and {total * 1e6 / requests:.1f} µs "
                "a request",
                flush=True,
            )
        elif count:
            print(f"{what}: {count:,.0f}, mean {total / count:.4g}", flush=True)


async def _statements_reset(dsn: str) -> bool:
    """Reset pg_stat_statements when the server preloads it (a profiling server's setting)."""
    conn = await asyncpg.connect(dsn)
    try:
        if "pg_stat_statements" not in await conn.fetchval("SHOW shared_preload_libraries"):
            return False
        await reset_statements(conn)
        return True
    finally:
        await conn.close()


async def _statements_report(dsn: str, requests: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await top_statements(conn, requests, 12)
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="copy py-spy's raw samples here")
    args = parser.parse_args(argv)
    print(f"load average at start {[round(x, 2) for x in os.getloadavg()]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="profile-write-") as tmp_name:
        tmp = Path(tmp_name)
        with infrastructure(tmp) as infra:
            table = asyncio.run(profile(infra.kafka, infra.admin_dsn, args.seconds, tmp))
        if args.keep:
            args.keep.write_bytes((tmp / "pyspy.txt").read_bytes())
    print(table)
    print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
