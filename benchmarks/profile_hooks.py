"""CPU and statements per command of incubation's and supervision's commands in group commit
(issue 12), with their hooks decided in the group's batch or run alone, same minute.

Run from the repository root:

    .venv/bin/python -m benchmarks.profile_hooks [--seconds 8] [--rounds 3] [--callers 32]

No HTTP and no Kafka: the command path alone (`servicekit.command_api.run_request` into a
`GroupCommit` of 4 lanes on a pool of 10, as a service runs it), in this process, against a
PostgreSQL of its own (devstack) or DATABASE_URL. `callers` tasks each send commands back to
back for `seconds`: `establish-base` (a new base each) for incubation, `record-commendation`
(on one of 300 agencies, at random, as benchmarks/bench_visible does) for supervision. Each
round runs every (service, mode) once, alternating the order; mode `alone` is the table with
the handlers' `together`/`situations` removed (the hooks run one command at a time, as before),
`batched` the service's table. Reported per command: this process's CPU (utime + stime), the
PostgreSQL backends' CPU, statements sent (query logger on every connection), and the groups'
mean size. Prints a Markdown table (medians over rounds); RESULTS.md is edited by hand from it.
The query logger counting statements costs CPU of its own, the same in every mode.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
from pydantic import BaseModel

from servicekit.auth import Principal, Role
from servicekit.command_api import run_request
from servicekit.command_table import CommandTable
from servicekit.commands import CommandContext
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import init_connection
from servicekit.group_commit import GroupCommit
from servicekit.runtime import Runtime
from services.incubation import handlers as incubation
from services.incubation import readmodel as incubation_model
from services.incubation.domain import commands as icmd
from services.supervision import handlers as supervision
from services.supervision import readmodel as supervision_model
from services.supervision.domain import commands as scmd
from tests.faults.workload import _base, _commendation

AGENCIES = 300
TICKS = os.sysconf("SC_CLK_TCK")


def _alone(table: CommandTable) -> CommandTable:
    return {kind: replace(h, together=None, situations=None) for kind, h in table.items()}


class Counted:
    """Statements sent on the pool's connections."""

    def __init__(self) -> None:
        self.statements = 0

    async def init(self, conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        conn.add_query_logger(self.log)

    def log(self, _query: Any) -> None:
        self.statements += 1


def _command(service: str, serial: int, usccs: Sequence[str]) -> BaseModel:
    if service == "incubation":
        return icmd.EstablishBase.model_validate(_base(f"pb-{uuid.uuid4()}"))
    return scmd.RecordCommendation.model_validate(_commendation(random.choice(usccs), serial))


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _server_cpu(postmaster: int) -> float:
    """CPU of the server's processes now running (its backends, its background workers)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def measure(
    dsn: str, service: str, batched: bool, seconds: float, callers: int, usccs: Sequence[str]
) -> dict[str, float]:
    counted = Counted()
    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10, init=counted.init)
    table = incubation.COMMANDS if service == "incubation" else supervision.COMMANDS
    table = table if batched else _alone(table)
    group = GroupCommit(pool, lanes=4)
    runtime = cast(Runtime, SimpleNamespace(store=EventStore(pool, service), commits=group))
    principal = Principal("bench", Role.CITY_ADMIN)
    done = 0
    stop = time.monotonic() + seconds

    async def caller() -> None:
        nonlocal done
        while time.monotonic() < stop:
            context = CommandContext(
                principal=principal,
                correlation_id=str(uuid.uuid4()),
                occurred_at=dt.datetime.now(dt.UTC),
                command_id=f"client:bench:{service}:{uuid.uuid4()}",
            )
            await run_request(table, runtime, _command(service, done, usccs), context, None)
            done += 1

    postmaster = _parent(await pool.fetchval("SELECT pg_backend_pid()"))
    pg0 = _server_cpu(postmaster)
    counted.statements = 0
    commits0 = group.commits
    cpu0 = time.process_time()
    await asyncio.gather(*(caller() for _ in range(callers)))
    cpu = time.process_time() - cpu0
    statements = counted.statements
    pg = _server_cpu(postmaster) - pg0
    groups = group.commits - commits0
    await pool.close()
    return {
        "commands": done,
        "cpu_ms": 1000 * cpu / done,
        "pg_ms": 1000 * pg / done,
        "statements": statements / done,
        "group": done / max(groups, 1),
        "per_s": done / seconds,
    }


async def prepare(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, init=init_connection)
        for schema in ("incubation", "supervision"):
            await EventStore(pool, schema).create_schema()
        await pool.close()
        await conn.execute(incubation_model.DDL)
        await conn.execute(supervision_model.DDL)
        usccs = [f"5241010{n:04d}MJ0A1B2" for n in range(AGENCIES)]
        for uscc in usccs:
            await supervision_model.add_agency(
                conn, uscc, f"机构{uscc}", "jinshui", dt.date(2023, 1, 1)
            )
        return usccs
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    dsn = os.environ.get("DATABASE_URL")
    server = None
    if dsn is None:
        from devstack.postgres import start_postgres

        server = start_postgres(Path(tempfile.mkdtemp(prefix="profile-hooks-")))
        dsn = server.url
    try:
        usccs = await prepare(dsn)
        runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
        for n in range(args.rounds):
            for service in ("incubation", "supervision"):
                modes = (False, True) if n % 2 == 0 else (True, False)
                for batched in (m for m in modes if m in args.modes):
                    result = await measure(dsn, service, batched, args.seconds, args.callers, usccs)
                    runs.setdefault((service, batched), []).append(result)
                    print(service, "batched" if batched else "alone", result, flush=True)
        print(f"\nload average {os.getloadavg()}\n")
        keys = ("cpu_ms", "pg_ms", "statements", "group", "per_s")
        print("| service | hooks | " + " | ".join(keys) + " |")
        print("|---|---|" + "---|" * len(keys))
        for (service, batched), results in sorted(runs.items()):
            figures = [statistics.median(r[k] for r in results) for k in keys]
            cells = " | ".join(f"{f:.2f}" for f in figures)
            print(f"| {service} | {'batched' if batched else 'alone'} | {cells} |")
    finally:
        if server is not None:
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument(
        "--only",
        choices=("alone", "batched"),
        help="one mode (e.g. `batched` in a checkout of an older commit, whose table it runs)",
    )
    args = parser.parse_args(argv)
    args.modes = (False, True) if args.only is None else (args.only == "batched",)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
