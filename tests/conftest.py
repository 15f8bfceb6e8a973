"""Session infrastructure: the real Kafka broker and PostgreSQL server.

`KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` point the tests at existing servers; otherwise the
project's devstack starts a broker and a server for the session and stops them afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from devstack.kafka import start_kafka
from devstack.postgres import start_postgres

TEST_SECRET = "test-secret-not-for-production-0123456789"
TEST_METRICS_TOKEN = "test-metrics-token-not-for-production"


@dataclass(frozen=True)
class Infra:
    kafka: str
    admin_dsn: str  # a database the tests may create other databases from


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    # Not under pytest's tmp_path: pytest prunes old base temp folders, which would pull the
    # data directory from under a server still used by a concurrent session.
    state = Path(tempfile.mkdtemp(prefix="socialwork-test-infra-"))
    kafka_proc = pg_proc = None
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    dsn = os.environ.get("DATABASE_URL")
    try:
        if not kafka:
            kafka_proc = start_kafka(state / "kafka")
            kafka = kafka_proc.bootstrap
        if not dsn:
            pg_proc = start_postgres(state / "postgres")
            dsn = pg_proc.url
        yield Infra(kafka, dsn)
    finally:
        if kafka_proc is not None:
            kafka_proc.stop()
        if pg_proc is not None:
            pg_proc.stop()
        shutil.rmtree(state, ignore_errors=True)


async def _admin(admin_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def database_url(infra: Infra) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin(infra.admin_dsn, f'CREATE DATABASE "{name}"')
    base, _, _ = infra.admin_dsn.rpartition("/")
    yield f"{base}/{name}"
    await _admin(infra.admin_dsn, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def service_env(infra: Infra, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a service process reads, pointing at the test servers."""
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "METRICS_TOKEN": TEST_METRICS_TOKEN,
        "RELAY_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
