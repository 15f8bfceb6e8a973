"""What differs between bench_write's rounds (issue 12: one build's ratio moved 0.37-0.57 within
minutes): the conditions each side's run met, read before and after it.

For every run: the host's load average at its start and wrk's latency spread; for the registry's
runs also its group commit (groups, commands a group, BEGIN to COMMIT, a command's wait), the
relay's lag at the end, and PostgreSQL's WAL flushes (how many, their time when the server tracks
it), WAL bytes and full-page images, checkpoints and autovacuum/autoanalyze runs of the bench
database. The bare endpoint touches no database, so its WAL and checkpoint figures are those of
nothing (kept: a checkpoint or vacuum landing in a bare run is background noise too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.conftest import TEST_METRICS_TOKEN

# Settings that make a round's PostgreSQL events visible (`--diagnose`): WAL flush time,
# every checkpoint and autovacuum in the server's log.
DIAGNOSTIC_SETTINGS = {
    "track_wal_io_timing": "on",
    "log_checkpoints": "on",
    "log_autovacuum_min_duration": "0",
}

_SERVER = """
SELECT w.wal_records, w.wal_fpi, w.wal_bytes::float8, w.wal_write, w.wal_sync,
       w.wal_sync_time, b.checkpoints_timed + b.checkpoints_req AS checkpoints,
       b.buffers_backend,
       (SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_user_tables) AS autovacuums,
       (SELECT coalesce(sum(autoanalyze_count), 0) FROM pg_stat_user_tables) AS autoanalyzes
FROM pg_stat_wal w, pg_stat_bgwriter b
"""

# (metric, what) from the registry's /metrics: histograms' count and sum, gauges as they are.
_GROUP = "socialwork_group_commit"


async def set_diagnostic_settings(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name, value in DIAGNOSTIC_SETTINGS.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@dataclass(frozen=True)
class Snapshot:
    load: float
    server: dict[str, float]
    metrics: dict[str, float]


async def snapshot(db_url: str, registry_base: str | None) -> Snapshot:
    """The conditions now: load, PostgreSQL's counters, the registry's metrics (if given)."""
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(_SERVER)
    finally:
        await conn.close()
    assert row is not None
    server = {key: float(value or 0) for key, value in row.items()}
    metrics = await registry_metrics(registry_base) if registry_base else {}
    return Snapshot(os.getloadavg()[0], server, metrics)


async def registry_metrics(base: str) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.get(
            "/metrics", headers={"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}
        )
    answer.raise_for_status()
    found: dict[str, float] = {}
    for line in answer.text.splitlines():
        if line.startswith("socialwork_"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def conditions(before: Snapshot, after: Snapshot, requests: int) -> dict[str, Any]:
    """What a run met, from the snapshots around it."""

    def server(key: str) -> float:
        return after.server[key] - before.server[key]

    def metric(name: str) -> float:
        return after.metrics.get(name, 0.0) - before.metrics.get(name, 0.0)

    groups = metric(f"{_GROUP}_commands_count")
    syncs = server("wal_sync")
    return {
        "load_at_start": round(before.load, 2),
        "groups": int(groups),
        "commands_a_group": round(metric(f"{_GROUP}_commands_sum") / groups, 2) if groups else 0,
        "group_ms": round(metric(f"{_GROUP}_seconds_sum") * 1000 / groups, 2) if groups else 0,
        "group_wait_ms": (
            round(
                metric(f"{_GROUP}_wait_seconds_sum")
                * 1000
                / metric(f"{_GROUP}_wait_seconds_count"),
                2,
            )
            if metric(f"{_GROUP}_wait_seconds_count")
            else 0
        ),
        "relay_lag_at_end": after.metrics.get("socialwork_relay_lag_events", 0.0),
        "relay_batches": int(relay_batches(after) - relay_batches(before)),
        "wal_syncs": int(syncs),
        "requests_a_wal_sync": round(requests / syncs, 2) if syncs else 0,
        "wal_sync_ms": round(server("wal_sync_time") / syncs, 3) if syncs else 0,
        "wal_bytes_a_request": round(server("wal_bytes") / max(requests, 1)),
        "wal_fpi": int(server("wal_fpi")),
        "checkpoints": int(server("checkpoints")),
        "buffers_backend": int(server("buffers_backend")),
        "autovacuums": int(server("autovacuums")),
        "autoanalyzes": int(server("autoanalyzes")),
    }


def relay_batches(at: Snapshot) -> float:
    """The relay's batches so far, every topic (a registry publishes one)."""
    return sum(v for k, v in at.metrics.items() if k.startswith("socialwork_relay_batches_total"))


@dataclass
class Tally:
    """One side's conditions summed over the slices of a round."""

    first: Snapshot | None = None
    server: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def add(self, before: Snapshot, after: Snapshot) -> None:
        self.first = self.first or before
        for key, value in after.server.items():
            self.server[key] = self.server.get(key, 0.0) + value - before.server[key]
        for key, value in after.metrics.items():
            self.metrics[key] = self.metrics.get(key, 0.0) + value - before.metrics.get(key, 0.0)
        # a gauge: the last slice's value, not a sum
        self.metrics["socialwork_relay_lag_events"] = after.metrics.get(
            "socialwork_relay_lag_events", 0.0
        )

    def conditions(self, requests: int) -> dict[str, Any]:
        assert self.first is not None
        zero = Snapshot(self.first.load, dict.fromkeys(self.server, 0.0), {})
        return conditions(zero, Snapshot(0.0, self.server, self.metrics), requests)
