"""Least privilege on the development stack: each service's Kafka principal and database role.

The same provisioning as production (``servicekit.kafka_access``, ``servicekit.db_access``),
run as the development super users: Kafka's anonymous PLAINTEXT listener and PostgreSQL's
``postgres``. Each service then gets an environment of its own: the SASL listener with its own
SCRAM credentials, and a DATABASE_URL with its own role.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shlex
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from socialwork_contracts.topics import SERVICES

from devstack.kafka import SASL_MECHANISM
from servicekit import db_access, kafka_access
from servicekit.kafka_security import KafkaSecurity

PASSWORDS_FILE: Final = "kafka-passwords.json"


class KafkaListeners(Protocol):
    """A broker (devstack.kafka.KafkaProcess) or a cluster (devstack.cluster.KafkaCluster)."""

    @property
    def bootstrap(self) -> str: ...

    @property
    def sasl_bootstrap(self) -> str: ...


def kafka_passwords(state: Path) -> dict[str, str]:
    """One password per Kafka principal, generated once for this checkout (file mode 600)."""
    path = state / PASSWORDS_FILE
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text(encoding="utf-8"))
    users = kafka_access.managed_users()
    wanted = {user: known.get(user) or secrets.token_urlsafe(24) for user in users}
    if wanted != known:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
    return wanted


def provision_kafka(
    kafka: KafkaListeners,
    passwords: dict[str, str],
    *,
    replication: int = 1,
    min_insync: int | None = None,
) -> None:
    """Topics, SCRAM credentials and ACLs, through the anonymous super user's listener."""
    asyncio.run(
        kafka_access.provision(
            kafka.bootstrap,
            KafkaSecurity(),
            passwords,
            replication_factor=replication,
            min_insync_replicas=min_insync,
        )
    )


def role_url(admin_url: str, role: str) -> str:
    """The administrator's DSN with the role as user (devstack trusts local connections)."""
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{role}@{host}:{parts.port}" if parts.port else f"{role}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _provision_database(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await db_access.provision(conn, dict.fromkeys(SERVICES))
    finally:
        await conn.close()


def provision_database(admin_url: str) -> dict[str, str]:
    """Each service's role and schema; returns service -> its DATABASE_URL."""
    asyncio.run(_provision_database(admin_url))
    return {service: role_url(admin_url, service) for service in SERVICES}


def kafka_environment(kafka: KafkaListeners, user: str, password: str) -> dict[str, str]:
    """What a service reads to reach the SASL listener as its own principal."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.sasl_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password,
    }


def service_environments(
    state: Path,
    *,
    kafka: KafkaListeners | None,
    bootstrap: str,
    postgres_url: str | None,
    database_url: str,
    replication: int = 1,
    min_insync: int | None = None,
) -> dict[str, dict[str, str]]:
    """Each service's Kafka and database variables; provisions what devstack itself started.

    A broker or database given from outside (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL) is used as
    it is by every service: devstack provisions nothing there. On a cluster (`replication` > 1)
    the topics are created replicated, and the services are told so for any topic they create.
    """
    services = SERVICES
    if kafka is not None:
        passwords = kafka_passwords(state)
        provision_kafka(kafka, passwords, replication=replication, min_insync=min_insync)
        kafka_envs = {s: kafka_environment(kafka, s, passwords[s]) for s in services}
        if replication > 1:
            replicated = {"KAFKA_REPLICATION_FACTOR": str(replication)}
            if min_insync is not None:
                replicated["KAFKA_MIN_INSYNC_REPLICAS"] = str(min_insync)
            kafka_envs = {s: {**env, **replicated} for s, env in kafka_envs.items()}
    else:
        kafka_envs = {s: {"KAFKA_BOOTSTRAP_SERVERS": bootstrap} for s in services}
    if postgres_url is not None:
        urls = provision_database(postgres_url)
    else:
        urls = dict.fromkeys(services, database_url)
    return {s: {**kafka_envs[s], "DATABASE_URL": urls[s]} for s in services}


def write_service_env_files(state: Path, environments: dict[str, dict[str, str]]) -> list[Path]:
    """``<state>/env.<service>``: shell exports of one service's variables (mode 600)."""
    written = []
    for service, env in environments.items():
        path = state / f"env.{service}"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        body = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
