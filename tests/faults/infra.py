"""The suite's own Kafka broker and PostgreSQL server: started, killed and restarted on purpose.

Never the shared servers (KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL): the scenarios kill them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
from devstack.cluster import KafkaCluster, start_cluster
from devstack.kafka import KafkaProcess, start_kafka
from devstack.postgres import PostgresProcess


class Broker:
    """A single-node broker whose port and data survive a SIGKILL and a restart."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.process: KafkaProcess = start_kafka(state_dir)
        self.port = self.process.port
        self.controller_port = self.process.controller_port

    @property
    def bootstrap(self) -> str:
        return self.process.bootstrap

    def kill(self) -> None:
        """SIGKILL the JVM: no controlled shutdown, the next start recovers an unclean log."""
        self.process.kill()

    def restart(self) -> None:
        """Start again on the same ports and data dir, as an orchestrator would."""
        self.process = start_kafka(
            self.state_dir, port=self.port, controller_port=self.controller_port
        )

    def discard(self) -> None:
        """End of a scenario: its data is thrown away, so no clean shutdown is needed."""
        self.process.kill()


class ClusterBroker:
    """Three KRaft nodes (issue 14) behind the same faces as `Broker`: `kill` crashes the node
    chosen as `target` (a test picks the partition leader), `restart` brings back every node
    that is down, on its own ports and data."""

    def __init__(self, state_dir: Path, brokers: int = 3) -> None:
        self.cluster: KafkaCluster = start_cluster(state_dir, brokers=brokers, sasl=False)
        self.target = 1

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    def kill(self) -> None:
        self.cluster.kill(self.target)

    def restart(self) -> None:
        for node in self.cluster.nodes:
            if not node.process.running():
                self.cluster.restart(node.node_id)

    def discard(self) -> None:
        self.cluster.kill_all()


async def create_database(server: PostgresProcess) -> str:
    """A fresh, empty database on the suite's server; returns its URL."""
    name = f"fault_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = server.url.rpartition("/")
    return f"{base}/{name}"


async def drop_database(server: PostgresProcess, url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def advisory_lock_holder(admin_url: str, database: str, key: int) -> int | None:
    """The backend pid holding the session advisory lock `key` (a bigint) in `database`.

    PostgreSQL shows a bigint key as classid (high 32 bits) and objid (low 32 bits).
    """
    conn = await asyncpg.connect(admin_url)
    try:
        pid: int | None = await conn.fetchval(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND d.datname = $1 "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = $2",
            database,
            key,
        )
    finally:
        await conn.close()
    return pid


async def terminate_backend(admin_url: str, pid: int) -> bool:
    conn = await asyncpg.connect(admin_url)
    try:
        done: bool = await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    return done
