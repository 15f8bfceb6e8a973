"""What the cluster says about itself: partition leaders, in-sync replicas, topic settings."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from devstack.cluster import KafkaCluster
from socialwork_contracts.topics import EVENT_TOPICS

from tests.support import wait_for

EVENT_TOPIC_NAMES = tuple(t.name for t in EVENT_TOPICS)


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    leader: int  # node id, -1 while none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


async def describe(
    bootstrap: str, topics: tuple[str, ...] = EVENT_TOPIC_NAMES
) -> list[PartitionState]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        answer: list[dict[str, Any]] = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        PartitionState(
            t["topic"], p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"])
        )
        for t in answer
        for p in t["partitions"]
    ]


async def busiest_leader(bootstrap: str) -> int:
    """The node leading the most event-topic partitions: the one whose loss hurts most."""
    leaders = Counter(p.leader for p in await describe(bootstrap))
    return leaders.most_common(1)[0][0]


async def wait_led_without(cluster: KafkaCluster, node_id: int, timeout: float = 60.0) -> None:
    """Until no event partition is led by `node_id` or leaderless (a new leader was elected)."""

    async def moved() -> bool:
        try:
            states = await describe(cluster.bootstrap)
        except Exception:  # metadata from a node that just died: ask again
            return False
        return bool(states) and all(p.leader not in (node_id, -1) for p in states)

    await wait_for(moved, timeout=timeout, interval=0.2)


async def wait_fully_replicated(cluster: KafkaCluster, timeout: float = 120.0) -> None:
    """Until every event partition has every replica in sync again (a restarted node caught up)."""

    async def in_sync() -> bool:
        try:
            states = await describe(cluster.bootstrap)
        except Exception:  # a node still starting: ask again
            return False
        return bool(states) and all(set(p.isr) == set(p.replicas) for p in states)

    await wait_for(in_sync, timeout=timeout, interval=0.5)


async def topic_settings(bootstrap: str, topics: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Each topic's configuration as the brokers hold it (name -> value)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        answers = await admin.describe_configs(resources)
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for answer in answers:
        for resource in answer.resources:  # (code, message, type, name, entries)
            found[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    return found


async def rolling_restart(
    cluster: KafkaCluster, problems: list[str], restarted: Callable[[int], None]
) -> None:
    """Each node in turn: controlled shutdown, start again, wait until every replica is back in
    sync before the next (what an operator, or a StatefulSet's rolling update, does)."""
    for node in cluster.nodes:
        await asyncio.to_thread(cluster.stop_node, node.node_id)
        await asyncio.to_thread(cluster.restart, node.node_id)
        restarted(node.node_id)
        try:
            await wait_fully_replicated(cluster)
        except AssertionError as exc:
            problems.append(f"node {node.node_id} never caught up after its restart: {exc}")
            return
