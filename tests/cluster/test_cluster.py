"""Three KRaft brokers and every service twice (issue 14), under the fault suite's load.

Each scenario runs the fault suite's burst (16 retrying clients over HTTP, spread over both
instances of each service) and its verdict: every accepted command's events stored once, on
Kafka exactly once after de-duplication by event id, applied once by every consumer, every
partition finished, no manual step. On top of it, what a cluster and a second instance add:
topics replicated 3 with min.insync.replicas 2, partitions split between the instances, one
relay and one scheduler leader per store that moves within seconds when its instance dies,
and the two reporting instances answering the same reports.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from socialwork_contracts.topics import EVENT_TOPICS, SERVICES, dead_letter_topic

from tests.cluster.brokers import (
    busiest_leader,
    describe,
    rolling_restart,
    topic_settings,
    wait_fully_replicated,
    wait_led_without,
)
from tests.cluster.conftest import MIN_INSYNC, REPLICATION, ClusterStage
from tests.cluster.instances import (
    SCHEDULER_LOCK,
    alive,
    assignments,
    holder_instance,
    lock_holders,
    relay_leaders,
    wait_lock_moved,
    wait_relay_moved,
)
from tests.faults.evidence import consumers
from tests.faults.kafka_log import PARTITIONS, Reader
from tests.faults.load import Oracle
from tests.faults.scenario import Context, run
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra

# Shorter than the fault suite's 2,000: the budget of the whole cluster suite is five minutes.
BURST = int(os.environ.get("CLUSTER_BURST", "600"))
# A standby polls for the lock every RELAY_POLL_SECONDS (0.2 here) / 1 s (scheduler); the
# database drops a killed process's sessions at once. Seconds, generous for a loaded CI host.
LEADERSHIP_MOVES_WITHIN = 10.0
PRODUCERS = tuple(t.producer for t in EVENT_TOPICS)


async def test_partition_leader_killed_mid_burst_with_every_service_twice(
    cluster_stage: ClusterStage,
) -> None:
    stage, broker = cluster_stage.stage, cluster_stage.broker
    elected: list[float] = []

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        broker.target = await busiest_leader(broker.bootstrap)
        ctx.mark()
        killed_at = time.monotonic()
        broker.kill()
        await wait_led_without(broker.cluster, broker.target)
        elected.append(time.monotonic() - killed_at)
        await ctx.after(2 / 3)  # the burst goes on with two brokers, then the third comes back
        await asyncio.to_thread(broker.restart)
        await wait_fully_replicated(broker.cluster)

    oracle = await run(
        stage,
        "3 brokers: SIGKILL partition leader, all services x2",
        fault,
        instances=dict.fromkeys(SERVICES, 2),
        total=BURST,
    )
    assert elected, "no new partition leaders were elected"
    path = stage.table_path.with_name("cluster-election.txt")
    path.write_text(f"new partition leaders {elected[0]:.2f} s after SIGKILL of the busiest\n")

    record_rss(cluster_stage)
    await record_bytes_per_event(cluster_stage)
    await check_topics_replicated(broker.bootstrap)
    await check_partitions_split(cluster_stage)
    await check_reports_agree(cluster_stage, oracle)
    await check_one_leader_each(cluster_stage)
    await check_leadership_moves(cluster_stage)


async def test_rolling_restart_of_the_brokers_under_load(cluster_stage: ClusterStage) -> None:
    """The first broker stops a quarter into the burst; how many restarts the burst outlasts
    depends on the host's speed, so it is recorded (.state/faults/cluster-rolling.txt), not
    required."""
    broker = cluster_stage.broker
    during: list[int] = []

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 4)
        ctx.mark()

        def restarted(node_id: int) -> None:
            if not ctx.oracle.finished:
                during.append(node_id)

        await rolling_restart(broker.cluster, ctx.problems, restarted)

    await run(
        cluster_stage.stage,
        "3 brokers: rolling restart",
        fault,
        instances={},
        total=BURST,
    )
    path = cluster_stage.stage.table_path.with_name("cluster-rolling.txt")
    path.write_text(f"brokers restarted while the burst still ran: {during} of 1, 2, 3\n")


# --------------------------------------------------------------------------- checks


def record_rss(cluster_stage: ClusterStage) -> None:
    """Each instance's resident memory after the burst: docs/capacity.md sizes pods from it."""
    lines = []
    for service in SERVICES:
        for process in alive(cluster_stage.stage.fleet, service):
            assert process.proc is not None
            status = Path(f"/proc/{process.proc.pid}/status").read_text()
            rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
            high = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
            lines.append(
                f"{service} (port {process.port}): RSS {int(rss) // 1024} MiB, "
                f"peak {int(high) // 1024} MiB"
            )
    path = cluster_stage.stage.table_path.with_name("cluster-rss.txt")
    path.write_text("\n".join(lines) + "\n")


async def record_bytes_per_event(cluster_stage: ClusterStage) -> None:
    """Bytes of log segment per published event on one replica: docs/capacity.md grows the
    never-deleted topics from it. (Index files are preallocated and sparse, so their size says
    nothing here; they add about 20 bytes per 4 KiB of log.)"""
    ends = await describe_ends(cluster_stage.broker.bootstrap)
    data = cluster_stage.broker.cluster.nodes[0].state_dir / "data"
    lines = []
    for topic in (t.name for t in EVENT_TOPICS):
        logs = sum(f.stat().st_size for f in data.glob(f"{topic}-*/*.log"))
        records = sum(n for (name, _), n in ends.items() if name == topic)
        if records:
            lines.append(f"{topic}: {records} records, {logs / records:.0f} B/record (one replica)")
    path = cluster_stage.stage.table_path.with_name("cluster-bytes.txt")
    path.write_text("\n".join(lines) + "\n")


async def describe_ends(bootstrap: str) -> dict[tuple[str, int], int]:
    async with Reader(bootstrap) as reader:
        return await reader.end_offsets(tuple(t.name for t in EVENT_TOPICS))


async def check_topics_replicated(bootstrap: str) -> None:
    """Every topic the services created has 3 replicas and min.insync.replicas 2."""
    topics = tuple(t.name for t in EVENT_TOPICS) + tuple(dead_letter_topic(s) for s in SERVICES)
    states = await describe(bootstrap, topics)
    assert {p.topic for p in states} == set(topics)
    thin = [f"{p.topic}/{p.partition}: {p.replicas}" for p in states if len(p.replicas) != 3]
    assert not thin, f"partitions not replicated {REPLICATION}: {thin}"
    settings = await topic_settings(bootstrap, topics)
    wrong = {
        t: s.get("min.insync.replicas")
        for t, s in settings.items()
        if s.get("min.insync.replicas") != str(MIN_INSYNC)
    }
    assert not wrong, f"topics without min.insync.replicas={MIN_INSYNC}: {wrong}"


async def check_partitions_split(cluster_stage: ClusterStage) -> None:
    """Each consumer's partitions are shared by both instances of its service, none left out."""
    fleet = cluster_stage.stage.fleet
    specs = await consumers(cluster_stage.stage.database_url)
    expected = {c.name: sum(PARTITIONS[t] for t in c.topics) for c in specs}
    latest: dict[str, list[int]] = {}

    async def split() -> bool:
        for service in SERVICES:
            latest.update(await assignments(fleet, service))
        return set(latest) == set(expected) and all(
            len(counts) == 2 and min(counts) > 0 and sum(counts) == expected[name]
            for name, counts in latest.items()
        )

    try:
        await wait_for(split, timeout=60, interval=0.5)
    except AssertionError:
        pytest.fail(f"partitions not split between two instances: {latest} (of {expected})")


async def check_reports_agree(cluster_stage: ClusterStage, oracle: Oracle) -> None:
    """Both reporting instances answer the same reports, counting every accepted agency."""
    first, second = cluster_stage.stage.fleet.instances["reporting"]
    registered = sum(
        1 for key in oracle.accepted if oracle.commands[key].route == "register-agency"
    )
    headers = auth()
    async with httpx.AsyncClient(timeout=30) as client:
        for path in ("/reports/targets", "/reports/coverage", "/reports/half-year?year=2026"):
            answers = [
                (await client.get(f"{p.url}{path}", headers=headers)) for p in (first, second)
            ]
            assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
            assert answers[0].json() == answers[1].json(), f"{path} differs between instances"
        coverage = (await client.get(f"{first.url}/reports/coverage", headers=headers)).json()
    # Every registration in the workload serves the elderly (tests.support.registration), and a
    # suspended agency still counts (reports.LIVE_STATUSES).
    counted = sum(
        int(row["agencies"])
        for row in coverage["rows"]
        if row["dimension"] == "target_group" and row["item"] == "elderly"
    )
    assert counted == registered, f"coverage counts {counted} agencies, {registered} registered"


async def check_one_leader_each(cluster_stage: ClusterStage) -> None:
    fleet, url = cluster_stage.stage.fleet, cluster_stage.stage.database_url
    for service in PRODUCERS:
        leaders = await relay_leaders(fleet, service)
        assert len(leaders) == 1, f"{service}: {len(leaders)} relay leaders"
        assert len(await lock_holders(url, f"relay:{service}")) == 1
    assert len(await lock_holders(url, SCHEDULER_LOCK)) == 1, "not one scheduler leader"


async def check_leadership_moves(cluster_stage: ClusterStage) -> None:
    """SIGKILL the instance that leads; the other takes over within seconds."""
    fleet, url = cluster_stage.stage.fleet, cluster_stage.stage.database_url
    took: dict[str, float] = {}
    for service in ("registry", "incubation"):
        (leader,) = await relay_leaders(fleet, service)
        leader.kill()
        took[f"relay:{service}"] = await wait_relay_moved(
            fleet, service, leader, LEADERSHIP_MOVES_WITHIN
        )
    # Supervision's scheduler: the instance whose session holds the lock, found by client port.
    (holder,) = await lock_holders(url, SCHEDULER_LOCK)
    instance = await holder_instance(fleet, "supervision", url, holder)
    relay_there = instance in await relay_leaders(fleet, "supervision")
    instance.kill()
    took["scheduler"] = await wait_lock_moved(url, SCHEDULER_LOCK, holder, LEADERSHIP_MOVES_WITHIN)
    if relay_there:
        took["relay:supervision"] = await wait_relay_moved(
            fleet, "supervision", instance, LEADERSHIP_MOVES_WITHIN
        )
    assert len(alive(fleet, "supervision")) == 1
    # Measured figures for docs/capacity.md, beside the fault table.
    figures = ", ".join(f"{lock} {seconds:.2f} s" for lock, seconds in took.items())
    path = cluster_stage.stage.table_path.with_name("cluster-leadership.txt")
    path.write_text(f"leadership moved after SIGKILL of its instance: {figures}\n")
