"""A fresh three-node cluster and database per scenario, on the fault suite's PostgreSQL server.

The fault suite's harness (tests/faults: bursts, oracle, convergence, verdict) runs unchanged;
only the broker is three KRaft nodes, and the services are told to create their topics with
replication factor 3 and min.insync.replicas 2.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from devstack.postgres import PostgresProcess

from tests.conftest import TEST_METRICS_TOKEN, TEST_SECRET
from tests.faults.conftest import ROWS, TABLE_PATH, fault_postgres
from tests.faults.fleet import Fleet
from tests.faults.infra import ClusterBroker, create_database, drop_database
from tests.faults.scenario import Stage

__all__ = ["fault_postgres"]  # the fault suite's server fixture, used here too

REPLICATION = 3
MIN_INSYNC = 2


@dataclass(frozen=True)
class ClusterStage:
    stage: Stage
    broker: ClusterBroker


@pytest.fixture
async def cluster_stage(
    fault_postgres: PostgresProcess, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ClusterStage]:
    kafka_dir = Path(tempfile.mkdtemp(prefix="socialwork-cluster-kafka-"))
    broker = ClusterBroker(kafka_dir, brokers=REPLICATION)
    database_url = await create_database(fault_postgres)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_REPLICATION_FACTOR": str(REPLICATION),
        "KAFKA_MIN_INSYNC_REPLICAS": str(MIN_INSYNC),
        "AUTH_JWT_SECRET": TEST_SECRET,
        "METRICS_TOKEN": TEST_METRICS_TOKEN,
        "RELAY_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    fleet = Fleet(env, tmp_path)
    # The fault suite's table collects these rows too when both run in one session.
    rows = request.config.stash.setdefault(ROWS, [])
    try:
        yield ClusterStage(
            Stage(fault_postgres, broker, database_url, fleet, rows, TABLE_PATH), broker
        )
    finally:
        fleet.stop()
        broker.discard()
        shutil.rmtree(kafka_dir, ignore_errors=True)
        if fault_postgres.running():
            await drop_database(fault_postgres, database_url)
