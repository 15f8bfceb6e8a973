"""Several KRaft nodes from the same Maven classpath: a replicated Kafka cluster (issue 14).

Each node is a combined broker + controller with its own ports, data and log under
``<state>/node-<id>``; the quorum is static (``controller.quorum.voters`` lists every node), so
with three nodes it survives the loss of any one. Topics get replication factor 3 and
``min.insync.replicas`` 2 by default: with ``acks=all`` a write is acknowledged once two
replicas have it, so one broker may die without losing an acknowledged record and without
stopping writes. Listeners are those of :func:`devstack.kafka.server_properties` (PLAINTEXT for
tools and tests, SASL with ACLs for the services).
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devstack._process import StopsOnExit
from devstack.kafka import (
    _BIND_ATTEMPTS,
    _BIND_CLASH,
    KAFKA_VERSION,
    START_TIMEOUT,
    KafkaError,
    KafkaProcess,
    _wait_started,
    random_cluster_id,
    server_properties,
    spawn_broker,
)
from devstack.ports import LOCALHOST, free_port

# A majority of three voters is two: the quorum, and every topic, outlive one lost node.
DEFAULT_BROKERS: Final = 3


def min_insync_for(replication: int) -> int:
    """One replica may be lost without refusing writes: RF 3 -> 2; a single broker -> 1."""
    return max(1, replication - 1)


@dataclass
class ClusterNode:
    """One node's fixed identity (ports and folder survive a kill and a restart)."""

    node_id: int
    state_dir: Path
    settings: dict[str, str]
    port: int
    controller_port: int
    sasl_port: int | None
    process: KafkaProcess

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.port}"


class KafkaCluster(StopsOnExit):
    """A running cluster started by :func:`start_cluster`."""

    def __init__(
        self, nodes: list[ClusterNode], *, cluster_id: str, replication: int, version: str
    ) -> None:
        self.nodes = nodes
        self.cluster_id = cluster_id
        self.replication = replication
        self.min_insync = min_insync_for(replication)
        self.version = version

    @property
    def bootstrap(self) -> str:
        """Every node's PLAINTEXT listener (anonymous super user, development), comma-separated."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def sasl_bootstrap(self) -> str:
        """Every node's authenticated listener, where ACLs apply."""
        if any(node.sasl_port is None for node in self.nodes):
            raise KafkaError("this cluster was started without SASL listeners")
        return ",".join(f"{LOCALHOST}:{node.sasl_port}" for node in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def node_at(self, port: int) -> ClusterNode:
        """The node whose PLAINTEXT listener is this port (Kafka's metadata names brokers so)."""
        for node in self.nodes:
            if node.port == port:
                return node
        raise KeyError(port)

    def kill(self, node_id: int) -> int:
        """SIGKILL one node (a crash: no controlled shutdown, an unclean log on restart)."""
        return self.node(node_id).process.kill()

    def stop_node(self, node_id: int) -> int:
        """SIGTERM one node: a controlled shutdown that hands its leaderships over first."""
        return self.node(node_id).process.stop()

    def restart(self, node_id: int, timeout: float = START_TIMEOUT) -> KafkaProcess:
        """Start a stopped node again on its own ports and data, as an orchestrator would."""
        node = self.node(node_id)
        if node.process.running():
            raise KafkaError(f"node {node_id} still runs (pid {node.process.pid})")
        process, offset = spawn_broker(
            node.state_dir,
            node.settings,
            port=node.port,
            controller_port=node.controller_port,
            sasl_port=node.sasl_port,
            version=self.version,
            cluster_id=self.cluster_id,
        )
        node.process = process
        try:
            _wait_started(process, offset, timeout)
        except BaseException:
            process.stop(timeout=10.0)
            raise
        return process

    def running(self) -> bool:
        """True while every node runs."""
        return all(node.process.running() for node in self.nodes)

    def stop(self) -> None:
        """SIGTERM every node at once (a controlled shutdown each), then wait for all."""
        for node in self.nodes:
            if node.process.running():
                # All at once, so the nodes shut down together instead of one after another.
                node.process._signal(signal.SIGTERM)
        for node in self.nodes:
            node.process.stop()

    def kill_all(self) -> None:
        for node in self.nodes:
            node.process.kill()

    def __repr__(self) -> str:
        return f"KafkaCluster(bootstrap={self.bootstrap!r}, nodes={len(self.nodes)})"


def _existing_cluster_id(state_dir: Path) -> str | None:
    """The cluster id an earlier run formatted node 1 with (a restarted `./dev up`)."""
    meta = state_dir / "node-1" / "data" / "meta.properties"
    with contextlib.suppress(OSError):
        for line in meta.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
    return None


def _pick_ports(count: int, per_node: int) -> list[list[int]]:
    chosen: list[int] = []
    for _ in range(count * per_node):
        port = free_port()
        while port in chosen:
            port = free_port()
        chosen.append(port)
    return [chosen[i * per_node : (i + 1) * per_node] for i in range(count)]


def start_cluster(
    state_dir: Path,
    *,
    brokers: int = DEFAULT_BROKERS,
    sasl: bool = True,
    version: str = KAFKA_VERSION,
    timeout: float = START_TIMEOUT,
) -> KafkaCluster:
    """Start `brokers` combined nodes on free ports and return once every one has started.

    Every node is spawned before any is waited for: a node reports ``Kafka Server started``
    only once a majority of the voters runs. Replication is min(3, brokers). A formatted state
    folder is reused with its cluster id (ports may differ: the voters are static).
    """
    if brokers < 1:
        raise ValueError("a cluster needs at least one broker")
    state_dir = state_dir.resolve()
    cluster_id = _existing_cluster_id(state_dir) or random_cluster_id()
    replication = min(3, brokers)
    for attempt in range(1, _BIND_ATTEMPTS + 1):
        ports = _pick_ports(brokers, 3 if sasl else 2)
        voters = ",".join(f"{n + 1}@{LOCALHOST}:{p[1]}" for n, p in enumerate(ports))
        nodes: list[ClusterNode] = []
        offsets: list[int] = []
        try:
            for n, (port, controller_port, *rest) in enumerate(ports):
                node_dir = state_dir / f"node-{n + 1}"
                sasl_port = rest[0] if rest else None
                settings = server_properties(
                    port=port,
                    controller_port=controller_port,
                    data_dir=node_dir / "data",
                    sasl_port=sasl_port,
                    node_id=n + 1,
                    voters=voters,
                    replication=replication,
                    min_insync=min_insync_for(replication),
                )
                process, offset = spawn_broker(
                    node_dir,
                    settings,
                    port=port,
                    controller_port=controller_port,
                    sasl_port=sasl_port,
                    version=version,
                    cluster_id=cluster_id,
                )
                nodes.append(
                    ClusterNode(
                        n + 1, node_dir, settings, port, controller_port, sasl_port, process
                    )
                )
                offsets.append(offset)
            for node, offset in zip(nodes, offsets, strict=True):
                _wait_started(node.process, offset, timeout)
        except KafkaError as exc:
            for node in nodes:
                node.process.kill()
            if attempt < _BIND_ATTEMPTS and _BIND_CLASH in str(exc):
                continue
            raise
        except BaseException:
            for node in nodes:
                node.process.kill()
            raise
        return KafkaCluster(nodes, cluster_id=cluster_id, replication=replication, version=version)
    raise AssertionError("unreachable")  # pragma: no cover
