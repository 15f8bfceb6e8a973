"""Session infrastructure: the real Kafka broker and PostgreSQL server.

`KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` point the tests at existing servers; otherwise the
project's devstack starts a broker and a server for the session and stops them afterwards.

Most tests talk to the broker's PLAINTEXT listener, whose anonymous principal is a super user
(a devstack convenience that docker-compose.yml does not have). Tests of authentication and
ACLs use `secured_kafka`: the SASL listener of the same broker, provisioned like production.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from devstack.kafka import KafkaProcess, start_kafka
from devstack.postgres import start_postgres
from socialwork_contracts.topics import SERVICES

from servicekit import db_access
from servicekit.kafka_access import managed_users, provision
from servicekit.kafka_security import KafkaSecurity

TEST_SECRET = "test-secret-not-for-production-0123456789"
TEST_METRICS_TOKEN = "test-metrics-token-not-for-production"


@dataclass(frozen=True)
class Infra:
    kafka: str  # PLAINTEXT listener: anonymous super user (development and tests only)
    admin_dsn: str  # a database the tests may create other databases from
    kafka_sasl: str | None = None  # the SASL listener with ACLs, when the session started Kafka


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
        yield Infra(kafka, dsn, kafka_proc.sasl_bootstrap if kafka_proc is not None else None)
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


@dataclass(frozen=True)
class SecuredKafka:
    """A SASL listener with the platform's topics, principals and ACLs (servicekit.kafka_access)."""

    bootstrap: str  # SASL/SCRAM-SHA-512: ACLs apply
    admin: str  # PLAINTEXT: anonymous super user, to set up and to look behind the scenes
    passwords: dict[str, str]

    def security(self, user: str, password: str | None = None) -> KafkaSecurity:
        secret = self.passwords[user] if password is None else password
        return KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", user, secret)

    def environment(self, user: str) -> dict[str, str]:
        """The Kafka variables of a service process running as `user`."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.passwords[user],
        }


@pytest.fixture(scope="session")
async def secured_kafka(infra: Infra) -> AsyncIterator[SecuredKafka]:
    """The session broker's SASL listener, provisioned once; a broker of its own when the session
    uses an outside broker (KAFKA_BOOTSTRAP_SERVERS), whose SASL listener it does not know."""
    own: KafkaProcess | None = None
    state = Path(tempfile.mkdtemp(prefix="socialwork-test-sasl-"))
    try:
        if infra.kafka_sasl is not None:
            admin, sasl = infra.kafka, infra.kafka_sasl
        else:
            own = await asyncio.to_thread(start_kafka, state / "kafka")
            admin, sasl = own.bootstrap, own.sasl_bootstrap
        passwords = {user: f"{user}-{uuid.uuid4().hex}" for user in managed_users()}
        await provision(admin, KafkaSecurity(), passwords)
        yield SecuredKafka(sasl, admin, passwords)
    finally:
        if own is not None:
            await asyncio.to_thread(own.stop)
        shutil.rmtree(state, ignore_errors=True)


def as_role(url: str, role: str) -> str:
    """The same database, logged in as `role` (the test server trusts local connections)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


async def drop_roles(conn: asyncpg.Connection, roles: Iterable[str]) -> None:
    quoted = ", ".join('"' + role.replace('"', '""') + '"' for role in roles)
    await conn.execute(f"DROP OWNED BY {quoted} CASCADE")
    await conn.execute(f"DROP ROLE {quoted}")


@pytest.fixture
async def service_roles(database_url: str) -> AsyncIterator[dict[str, str]]:
    """Service -> its own role on the test's database (servicekit.db_access), named for this
    test because roles are cluster-wide."""
    names = {service: f"t{uuid.uuid4().hex[:8]}_{service}" for service in SERVICES}
    conn = await asyncpg.connect(database_url)
    try:
        await db_access.provision(conn, dict.fromkeys(SERVICES), roles=names)
        yield names
        await drop_roles(conn, names.values())
    finally:
        await conn.close()
