"""A late entry at a million facts: registrations dated in the past arrive while the reporting
service runs on a kept 1M database, with today's state held by its live fold worker; the next
answers as of today are timed once the facts are applied (issue 12: first answers; 0.66 s when
the held state was let go for a fold from the last quarter's kept state).

`.venv/bin/python -m benchmarks.bench_late_entry --state /work/bench-state/lead-1m
--database bench_<id> [--count 300] [--rounds 3]`

Each round registers `--count` agencies dated 2024-05-01 through a registry service on a
database of its own, publishing them to the state's broker for good: every later start and
replay on that broker applies them too (as the replay benchmark's latency phase does).
Answers are served exact (REPORT_MAX_STALENESS_SECONDS=0), not an earlier answer within the
staleness bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

import httpx

from benchmarks.bench_foundation import create_database, drop_database, infrastructure, serve
from benchmarks.bench_reporting import SECRET, bench_token, registration
from tests.support import wait_for

QUERIES = ["/reports/targets", "/reports/coverage", "/reports/trends"]


async def register(kafka: str, admin_dsn: str, count: int) -> list[str]:
    """`count` registrations dated 2024-05-01 accepted by a registry service; their credit
    codes."""
    dsn, name = await create_database(admin_dsn)
    env = {"DATABASE_URL": dsn, "KAFKA_BOOTSTRAP_SERVERS": kafka, "AUTH_JWT_SECRET": SECRET}
    run = uuid.uuid4().hex[:6]
    # `registration` varies only the code's last two characters with its number below 31**2:
    # a random start varies the others, so that no round registers a code an earlier one did.
    first = secrets.randbelow(31**5) * 31**2
    logs = Path(tempfile.mkdtemp(prefix="bench-late-entry-"))
    try:
        async with (
            serve(
                "services.registry.app:create_app", env, logs / "registry.log", "/health/ready"
            ) as registry,
            httpx.AsyncClient(base_url=registry.base, timeout=30, headers=bench_token()) as http,
        ):
            slots = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with slots:
                    response = await http.post(
                        "/commands/register-agency",
                        json=registration(first + i, run),
                        headers={"Idempotency-Key": f"{run}-{i}"},
                    )
                    if response.status_code != 201:
                        raise RuntimeError(f"registration refused: {response.text}")

            await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await drop_database(admin_dsn, name)
    return [str(registration(first + i, run)["uscc"]) for i in range(count)]


async def applied(http: httpx.AsyncClient, uscc: str) -> bool:
    """Whether the reporting service's consumer has applied this agency's registration."""
    return (await http.get(f"/agencies/{uscc}")).status_code == 200


async def timed(http: httpx.AsyncClient, label: str) -> None:
    for path in QUERIES:
        started = time.perf_counter()
        response = await http.get(path)
        response.raise_for_status()
        print(f"{label} {path}: {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    with infrastructure(Path(args.state)) as infra:
        dsn = f"{infra.admin_dsn.rpartition('/')[0]}/{args.database}"
        env = {
            "DATABASE_URL": dsn,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
            "AUTH_JWT_SECRET": SECRET,
            "REPORT_MAX_STALENESS_SECONDS": "0",
        }
        logs = Path(tempfile.mkdtemp(prefix="bench-late-entry-"))
        async with (
            serve(
                "services.reporting.app:create_app", env, logs / "reporting.log", "/health/ready"
            ) as reporting,
            httpx.AsyncClient(base_url=reporting.base, timeout=600, headers=bench_token()) as http,
        ):
            await timed(http, "started")
            for round_ in range(1, args.rounds + 1):
                for uscc in await register(infra.kafka, infra.admin_dsn, args.count):
                    await wait_for(partial(applied, http, uscc), timeout=120)
                await timed(http, f"round {round_}, {args.count} late registrations applied")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="a benchmark state folder (its broker)")
    parser.add_argument("--database", required=True, help="the kept 1M database in it")
    parser.add_argument("--count", type=int, default=300, help="late registrations a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of late registrations")
    args = parser.parse_args()
    print(f"load average at start {[round(x, 2) for x in os.getloadavg()]}")
    asyncio.run(main_async(args))
    print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    main()
