"""What each instance of a service says it does: its metrics, and the locks its sessions hold."""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from servicekit.locks import lock_key
from tests.faults.fleet import Fleet
from tests.integration.processes import ServiceProcess
from tests.support import SCRAPER, wait_for

SCHEDULER_LOCK = "scheduler:supervision:scheduled-check"  # services/supervision/app.py


async def scrape(process: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, labels) -> value of one instance's /metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{process.url}/metrics", headers=SCRAPER)
    answer.raise_for_status()
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def alive(fleet: Fleet, service: str) -> list[ServiceProcess]:
    return [p for p in fleet.instances[service] if p.proc is not None and p.proc.poll() is None]


async def relay_leaders(fleet: Fleet, service: str) -> list[ServiceProcess]:
    """The live instances whose relay says it holds the leader lock."""
    leaders = []
    for process in alive(fleet, service):
        if (await scrape(process)).get(("socialwork_relay_leader", ()), 0.0) == 1.0:
            leaders.append(process)
    return leaders


async def assignments(fleet: Fleet, service: str) -> dict[str, list[int]]:
    """Consumer -> partitions assigned to each live instance (the group splits them)."""
    split: dict[str, list[int]] = defaultdict(list)
    for process in alive(fleet, service):
        for (name, labels), value in (await scrape(process)).items():
            if name == "socialwork_consumer_assigned_partitions":
                split[dict(labels)["consumer"]].append(int(value))
    return dict(split)


async def lock_holders(database_url: str, lock_name: str) -> list[int]:
    """Backend pids holding the leadership lock `lock_name` (servicekit.leadership)."""
    key = lock_key("leader", lock_name)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((classid::bigint << 32) | objid::bigint) = $1",
            key,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def wait_relay_moved(
    fleet: Fleet, service: str, former: ServiceProcess, timeout: float
) -> float:
    """Seconds until another live instance reports the relay's leadership."""
    started = time.monotonic()

    async def moved() -> bool:
        leaders = await relay_leaders(fleet, service)
        return len(leaders) == 1 and leaders[0] is not former

    await wait_for(moved, timeout=timeout, interval=0.1)
    return time.monotonic() - started


async def wait_lock_moved(database_url: str, lock_name: str, former: int, timeout: float) -> float:
    """Seconds until one session other than `former` holds the lock."""
    started = time.monotonic()

    async def moved() -> bool:
        holders = await lock_holders(database_url, lock_name)
        return len(holders) == 1 and holders[0] != former

    await wait_for(moved, timeout=timeout, interval=0.1)
    return time.monotonic() - started


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets process `pid` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


async def holder_instance(
    fleet: Fleet, service: str, database_url: str, backend: int
) -> ServiceProcess:
    """The instance whose connection is the database session `backend` (by its client port)."""
    conn = await asyncpg.connect(database_url)
    try:
        port = await conn.fetchval(
            "SELECT client_port FROM pg_stat_activity WHERE pid = $1", backend
        )
    finally:
        await conn.close()
    for process in alive(fleet, service):
        assert process.proc is not None
        if port in local_ports(process.proc.pid):
            return process
    raise AssertionError(f"no live {service} instance owns session {backend} (port {port})")
