"""Write-path benchmark (issue 12): registry commands over HTTP under `wrk` beside a bare endpoint.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_write [--rounds 3] [--seconds 15]

The registry (`services.registry.app:create_app`) and the bare FastAPI endpoint
(benchmarks/bare_app.py) are each served by the same uvicorn command line in their own process
(same loop and HTTP parser: whatever uvicorn picks, uvloop and httptools when installed) and
loaded by `wrk` (C, Debian's package, installed with apt when absent), 32 connections on 2
threads, POSTing unique valid registration bodies read by a Lua script from a file the script
writes first (each thread takes every other line, so no body repeats within a run). Each round
measures both in alternating slices (`--slices`, 5 by default: 2 s each side, 5 times, for
`--seconds 10`), alternating which goes first, so both sides meet the same neighbours on the
shared host; the ratio of each round is ours ÷ bare in that round (requests over seconds of all
its slices). `--diagnose` also has PostgreSQL time its WAL flushes; every round prints what it
met (benchmarks/write_rounds.py). Server CPU per request is utime + stime of the server
process over the run divided by the requests answered; beside it, the same for PostgreSQL (the
postmaster and every backend), the Kafka broker (the process listening on the bootstrap port:
the relay publishes in the registry's process) and wrk, for each side (issue 12: the host's two
cores are shared).

Kafka and PostgreSQL come from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set, else devstack
starts both. The section `bench_write` of benchmarks/RESULTS.md is replaced with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks import write_rounds
from benchmarks.bench_foundation import (
    BENCH_DIR,
    REGISTER_PATH,
    Server,
    code_state,
    cpu_model,
    cpu_seconds,
    create_database,
    drop_database,
    infrastructure,
    serve,
    versions,
)
from tests.conftest import TEST_METRICS_TOKEN, TEST_SECRET
from tests.support import auth, registration

CONNECTIONS = 32
THREADS = 2
WARMUP_SECONDS = 3
# Bodies a second a side may take (the bare endpoint's rate on a quiet host is ~7,600/s).
MAX_RATE = 6_000
# Each round measures both sides in this many alternating slices of `seconds / SLICES`: the
# host's other work moves within seconds (its load average went 4 -> 9 within one run), and two
# 10-s runs one after the other met different neighbours; alternating slices give both sides
# the same minutes (issue 12: one build's rounds 0.31-0.65 within a run, 22:49 UTC).
SLICES = 5
SHM = Path("/dev/shm")  # noqa: S108 - a memory file system, when the host has one

# Each wrk thread has its own Lua state: `setup` numbers the threads, and each takes the lines
# i, i + THREADS, i + 2 * THREADS, ... of the bodies file so that no two requests share a body.
LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  step = tonumber(args[2])
  next_index = id + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = args[3]
end
function request()
  local body = bodies[next_index]
  next_index = next_index + step
  if next_index > #bodies then next_index = id + 1 end
  return wrk.format(nil, nil, nil, body)
end
"""


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    p90_ms: float
    max_ms: float
    non_2xx: int
    errors: int
    server_cpu_ms_per_request: float
    # The other processes on the host that a command costs (issue 12: the host is the limit).
    postgres_cpu_ms_per_request: float
    kafka_cpu_ms_per_request: float
    wrk_cpu_ms_per_request: float


@dataclass(frozen=True)
class Neighbours:
    """The PostgreSQL server's postmaster and the Kafka broker's process (None: not found)."""

    postmaster: int
    kafka: int | None

    def cpu(self) -> tuple[list[int], float, float]:
        """The server's processes now, their CPU seconds and the broker's."""
        postgres = [self.postmaster, *children(self.postmaster)]
        kafka = process_cpu([self.kafka]) if self.kafka else float("nan")
        return postgres, process_cpu(postgres), kafka


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk with apt ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)  # noqa: S607 - Debian's package
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)  # noqa: S607
        found = shutil.which("wrk")
    assert found is not None, "wrk could not be installed"
    return found


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    assert match is not None, text
    value, unit = float(match[1]), match[2]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    assert total is not None, out
    seconds = float(total[2]) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total[3]]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    p90 = re.search(r"^\s+90%\s+(\S+)", out, re.MULTILINE)
    latency = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(total[1]),
        "seconds": seconds,
        "p50_ms": _ms(p50[1]) if p50 else float("nan"),
        "p99_ms": _ms(p99[1]) if p99 else float("nan"),
        "p90_ms": _ms(p90[1]) if p90 else float("nan"),
        "max_ms": _ms(latency[1]) if latency else float("nan"),
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


def process_cpu(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        # a backend that ended meanwhile: its CPU is lost (small)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(pid)
    return total


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(stat[1]) == parent:
            found.append(int(entry.name))
    return found


async def postmaster_pid(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        backend: int = await conn.fetchval("SELECT pg_backend_pid()")
        # read while the backend lives: it exits as soon as the connection closes
        stat = Path(f"/proc/{backend}/stat").read_text()  # noqa: ASYNC240 - /proc, instant
    finally:
        await conn.close()
    return int(stat.rpartition(")")[2].split()[1])


def listener_pid(port: int) -> int | None:
    """The process listening on a local TCP port (the Kafka broker), or None if not found."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            # state 0A: LISTEN; the local address ends in the port, in hex
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
    return None


async def run_wrk(
    wrk: str,
    server: Server,
    neighbours: Neighbours,
    bodies: Path,
    header: str,
    seconds: int,
    measure: bool = True,
) -> WrkRun:
    script = bodies.with_suffix(".lua")
    script.write_text(LUA, encoding="utf-8")
    before = cpu_seconds(server.pid)
    backends, postgres_before, kafka_before = neighbours.cpu()
    wrk_before = _children_cpu()
    proc = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        server.base + REGISTER_PATH,
        "--",
        str(bodies),
        str(THREADS),
        header,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    cpu = cpu_seconds(server.pid) - before
    wrk_cpu = _children_cpu() - wrk_before
    # the backends that were there before (one that ended meanwhile: its CPU is lost, small)
    postgres = process_cpu(sorted({*backends, *children(neighbours.postmaster)}))
    kafka = neighbours.cpu()[2] - kafka_before
    parsed = parse_wrk(out.decode())
    if measure and parsed["non_2xx"]:
        print(f"    WARNING: {int(parsed['non_2xx'])} non-2xx answers", flush=True)
    count = max(int(parsed["requests"]), 1)

    def per_request(seconds: float) -> float:
        return round(seconds * 1000 / count, 3)

    return WrkRun(
        requests=count,
        seconds=parsed["seconds"],
        per_second=count / parsed["seconds"],
        p50_ms=parsed["p50_ms"],
        p99_ms=parsed["p99_ms"],
        p90_ms=parsed["p90_ms"],
        max_ms=parsed["max_ms"],
        non_2xx=int(parsed["non_2xx"]),
        errors=int(parsed["errors"]),
        server_cpu_ms_per_request=per_request(cpu),
        postgres_cpu_ms_per_request=per_request(postgres - postgres_before),
        kafka_cpu_ms_per_request=per_request(kafka),
        wrk_cpu_ms_per_request=per_request(wrk_cpu),
    )


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (each wrk run once it ends)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_bodies(path: Path, first_serial: int, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for serial in range(first_serial, first_serial + count):
            out.write(json.dumps(registration(serial), ensure_ascii=False) + "\n")


def bodies_dir(tmp: Path) -> Path:
    """A new directory for the request bodies: in /dev/shm when there is one, else in `tmp`."""
    return Path(tempfile.mkdtemp(prefix="bench-write-", dir=SHM if SHM.is_dir() else tmp))


def combined(slices: Sequence[WrkRun]) -> WrkRun:
    """One side's slices of a round as one run: rates and CPU over all of them; latency
    percentiles the median of the slices' (p99, max: the largest)."""
    requests = sum(r.requests for r in slices)
    seconds = sum(r.seconds for r in slices)

    def per_request(key: str) -> float:
        total = sum(float(getattr(r, key)) * r.requests for r in slices)
        return round(total / max(requests, 1), 3)

    def median(key: str) -> float:
        return float(statistics.median(getattr(r, key) for r in slices))

    return WrkRun(
        requests=requests,
        seconds=seconds,
        per_second=requests / seconds,
        p50_ms=median("p50_ms"),
        p99_ms=max(r.p99_ms for r in slices),
        p90_ms=median("p90_ms"),
        max_ms=max(r.max_ms for r in slices),
        non_2xx=sum(r.non_2xx for r in slices),
        errors=sum(r.errors for r in slices),
        server_cpu_ms_per_request=per_request("server_cpu_ms_per_request"),
        postgres_cpu_ms_per_request=per_request("postgres_cpu_ms_per_request"),
        kafka_cpu_ms_per_request=per_request("kafka_cpu_ms_per_request"),
        wrk_cpu_ms_per_request=per_request("wrk_cpu_ms_per_request"),
    )


async def measure(
    infra_kafka: str,
    admin_dsn: str,
    rounds: int,
    seconds: int,
    tmp: Path,
    diagnose: bool,
    slices_a_round: int,
) -> list[dict[str, Any]]:
    wrk = ensure_wrk()
    slice_seconds = seconds // slices_a_round
    # The bodies in memory where the host has /dev/shm: tens of MB written to the disk between
    # slices would be flushed meanwhile, beside the WAL whose flush every command waits for
    # (the bare endpoint waits for no disk).
    files = bodies_dir(tmp)
    if diagnose:
        await write_rounds.set_diagnostic_settings(admin_dsn)
    db_url, db_name = await create_database(admin_dsn)
    env = {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra_kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "METRICS_TOKEN": TEST_METRICS_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    header = auth()["Authorization"]
    # Enough unique bodies for the bare endpoint's rate and the slices' margins (the bare
    # endpoint's bodies may repeat: it stores nothing; the registry's never do).
    per_run = 2 * MAX_RATE * (seconds + WARMUP_SECONDS)
    serial = 1
    out: list[dict[str, Any]] = []
    try:
        async with (
            serve("benchmarks.bare_app:create_app", env, tmp / "bare.log", "/health/live") as bare,
            serve(
                "services.registry.app:create_app", env, tmp / "registry.log", "/health/ready"
            ) as registry,
        ):
            kafka_port = int(infra_kafka.split(",")[0].rsplit(":", 1)[1])
            neighbours = Neighbours(await postmaster_pid(db_url), listener_pid(kafka_port))
            for index in range(rounds):
                order = [("ours", registry), ("bare", bare)]
                if index % 2:
                    order.reverse()
                bodies: dict[str, list[str]] = {}
                for name, server in order:
                    path = files / f"bodies-{name}-{index}.jsonl"
                    write_bodies(path, serial, per_run)
                    serial += per_run
                    await run_wrk(
                        wrk, server, neighbours, path, header, WARMUP_SECONDS, measure=False
                    )
                    # the warm-up used the first lines; the measured slices start past them
                    lines = path.read_text(encoding="utf-8").splitlines()
                    bodies[name] = lines[MAX_RATE * WARMUP_SECONDS :]
                slices: dict[str, list[WrkRun]] = {name: [] for name, _ in order}
                tallies = {name: write_rounds.Tally() for name, _ in order}
                for part in range(slices_a_round):
                    for name, server in order:
                        path = files / f"bodies-{name}-{index}-{part}.jsonl"
                        # what a slice can take (wrk reads the whole file at each start)
                        usable = bodies[name][: 2 * MAX_RATE * slice_seconds]
                        path.write_text("\n".join(usable) + "\n", encoding="utf-8")
                        metrics_of = registry.base if server is registry else None
                        before = await write_rounds.snapshot(db_url, metrics_of)
                        run = await run_wrk(wrk, server, neighbours, path, header, slice_seconds)
                        tallies[name].add(before, await write_rounds.snapshot(db_url, metrics_of))
                        slices[name].append(run)
                        # the next slice starts past every line this one may have sent: wrk's
                        # two threads take alternate lines and each may have some in flight
                        bodies[name] = bodies[name][run.requests * 3 // 2 + 2 * CONNECTIONS :]
                runs = {name: combined(runs) for name, runs in slices.items()}
                met = {name: tallies[name].conditions(runs[name].requests) for name in runs}
                ratio = runs["ours"].per_second / runs["bare"].per_second
                cpu = (
                    runs["ours"].server_cpu_ms_per_request / runs["bare"].server_cpu_ms_per_request
                )
                print(
                    f"  round {index + 1}: ours {runs['ours'].per_second:,.0f}/s "
                    f"(p50 {runs['ours'].p50_ms:.1f} ms, p99 {runs['ours'].p99_ms:.1f} ms, "
                    f"{runs['ours'].server_cpu_ms_per_request:.2f} ms CPU), bare "
                    f"{runs['bare'].per_second:,.0f}/s (p50 {runs['bare'].p50_ms:.1f} ms, "
                    f"{runs['bare'].server_cpu_ms_per_request:.2f} ms CPU): "
                    f"ratio {ratio:.3f}, CPU {cpu:.2f}x; ours' PostgreSQL / Kafka / wrk "
                    f"{runs['ours'].postgres_cpu_ms_per_request:.2f} / "
                    f"{runs['ours'].kafka_cpu_ms_per_request:.2f} / "
                    f"{runs['ours'].wrk_cpu_ms_per_request:.2f} ms",
                    flush=True,
                )
                for name in ("ours", "bare"):
                    print(
                        f"    {name}: p90 {runs[name].p90_ms:.1f} ms, max {runs[name].max_ms:.1f}"
                        f" ms; {json.dumps(met[name])}",
                        flush=True,
                    )
                out.append(
                    {
                        "ours": runs["ours"].__dict__,
                        "bare": runs["bare"].__dict__,
                        "conditions": met,
                    }
                )
    finally:
        shutil.rmtree(files, ignore_errors=True)
        await drop_database(admin_dsn, db_name)
    return out


def summary(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def med(side: str, key: str) -> float:
        return float(statistics.median(r[side][key] for r in rounds))

    ratios = [r["ours"]["per_second"] / r["bare"]["per_second"] for r in rounds]
    cpu = [
        r["ours"]["server_cpu_ms_per_request"] / r["bare"]["server_cpu_ms_per_request"]
        for r in rounds
    ]
    return {
        "ours_per_second": med("ours", "per_second"),
        "bare_per_second": med("bare", "per_second"),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "ours_p50_ms": med("ours", "p50_ms"),
        "ours_p99_ms": med("ours", "p99_ms"),
        "bare_p50_ms": med("bare", "p50_ms"),
        "bare_p99_ms": med("bare", "p99_ms"),
        "ours_cpu_ms": med("ours", "server_cpu_ms_per_request"),
        "bare_cpu_ms": med("bare", "server_cpu_ms_per_request"),
        "cpu_ratio": statistics.median(cpu),
        **{
            f"{side}_{process}_cpu_ms": med(side, f"{process}_cpu_ms_per_request")
            for side in ("ours", "bare")
            for process in ("postgres", "kafka", "wrk")
        },
        "cpu_ratio_range": [min(cpu), max(cpu)],
        "ours_non_2xx": sum(r["ours"]["non_2xx"] for r in rounds),
    }


def section(results: dict[str, Any]) -> str:
    s = results["summary"]
    m = results["machine"]
    code = results["code"]
    dirty = f", plus uncommitted changes to {len(code['uncommitted'])} file(s)" * bool(
        code["uncommitted"]
    )
    vers = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return (
        f"## Write path under wrk — {results['started_at']}\n\n"
        f"Written by `.venv/bin/python -m benchmarks.bench_write --rounds {results['rounds']} "
        f"--seconds {results['seconds']}`; its docstring says what is measured.\n\n"
        f"- Machine: {m['cpu_count']} CPUs, {m['cpu_model']}; load average "
        f"{m['loadavg_at_start']} at start (shared host)\n"
        f"- {vers}; wrk {m['wrk']}\n"
        f"- Code: commit {code['commit'][:12]}{dirty}\n"
        f"- {results['rounds']} rounds of {results['seconds']} s each side "
        f"({WARMUP_SECONDS} s warm-up) in {results['slices']} alternating slices, "
        f"{CONNECTIONS} connections, {THREADS} wrk threads\n\n"
        "| Figure | Registry | Bare | Ratio | Ratio range |\n|---|---:|---:|---:|---:|\n"
        f"| `register-agency` requests/s | {s['ours_per_second']:,.0f} | "
        f"{s['bare_per_second']:,.0f} | {s['ratio']:.3f}× | "
        f"{s['ratio_range'][0]:.3f}–{s['ratio_range'][1]:.3f} |\n"
        f"| latency p50 ms | {s['ours_p50_ms']:.1f} | {s['bare_p50_ms']:.1f} | | |\n"
        f"| latency p99 ms | {s['ours_p99_ms']:.1f} | {s['bare_p99_ms']:.1f} | | |\n"
        f"| server CPU ms per request | {s['ours_cpu_ms']:.2f} | {s['bare_cpu_ms']:.2f} | "
        f"{s['cpu_ratio']:.2f}× | {s['cpu_ratio_range'][0]:.2f}–{s['cpu_ratio_range'][1]:.2f} |\n"
        f"| PostgreSQL CPU ms per request | {s['ours_postgres_cpu_ms']:.2f} | "
        f"{s['bare_postgres_cpu_ms']:.2f} | | |\n"
        f"| Kafka broker CPU ms per request | {s['ours_kafka_cpu_ms']:.2f} | "
        f"{s['bare_kafka_cpu_ms']:.2f} | | |\n"
        f"| wrk CPU ms per request | {s['ours_wrk_cpu_ms']:.2f} | "
        f"{s['bare_wrk_cpu_ms']:.2f} | | |\n"
        f"\nRegistry answers other than 2xx: {s['ours_non_2xx']}.\n"
    )


def write_section(text: str, name: str) -> None:
    md = BENCH_DIR / "RESULTS.md"
    content = md.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text}{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(content):
        content = pattern.sub(lambda _: block, content)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    md.write_text(content, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--slices",
        type=int,
        default=SLICES,
        help="alternating slices a side in each round (1: one run a side, as before)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="time WAL flushes and log checkpoints and autovacuums on the bench cluster",
    )
    args = parser.parse_args(argv)
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    loadavg = [round(x, 2) for x in os.getloadavg()]
    wrk_version = subprocess.run(  # noqa: S603 - the wrk binary found on PATH
        [ensure_wrk(), "-v"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp_name:
        tmp = Path(tmp_name)
        with infrastructure(tmp) as infra:
            rounds = asyncio.run(
                measure(
                    infra.kafka,
                    infra.admin_dsn,
                    args.rounds,
                    args.seconds,
                    tmp,
                    args.diagnose,
                    args.slices,
                )
            )
    vers = versions()
    for dist in ("uvloop", "httptools"):
        try:
            vers[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            vers[dist] = "absent"
    results = {
        "started_at": started_at,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "slices": args.slices,
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "loadavg_at_start": loadavg,
            "versions": vers,
            "wrk": wrk_version.strip(),
        },
        "code": code_state(),
        "per_round": rounds,
        "summary": summary(rounds),
    }
    print(json.dumps(results["summary"], indent=2))
    if not args.no_write:
        write_section(section(results), "bench_write")
        (BENCH_DIR / "results-write-latest.json").write_text(
            json.dumps(results, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
