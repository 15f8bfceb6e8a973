"""All four services as real processes, each with only its own Kafka principal and database role.

The ACLs (servicekit.kafka_access) and roles (servicekit.db_access) must be enough for
everything a service does — checking its topics, publishing, consuming in its groups,
dead-lettering, creating its tables — or least privilege would only hold on paper. A
registration travels registry -> Kafka -> incubation, supervision and reporting; then the
reporting replay Job rebuilds reporting's view beside the service, as reporting alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from socialwork_contracts.topics import SERVICES

from tests.conftest import TEST_SECRET, SecuredKafka, as_role
from tests.integration.processes import ServiceProcess
from tests.support import auth, registration, wait_for

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
REPLAY_JOB = ROOT / "deploy" / "k8s" / "replay" / "reporting-replay.yaml"


async def streams_applied(database_url: str, schema: str, stream_id: str) -> int:
    conn = await asyncpg.connect(database_url)  # the administrator, looking behind the scenes
    try:
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.consumer_streams WHERE stream_id = $1", stream_id
        )
        return count
    finally:
        await conn.close()


def replay_as_the_job(secrets: dict[str, str]) -> dict[str, Any]:
    """The replay Job's command (deploy/k8s/replay) with only the variables its manifest sets:
    those it names, their values from `secrets` (its Secrets, the ConfigMap's Kafka address and
    protocol), LOG_LEVEL; no token key. Its outcome, the JSON it prints."""
    job = yaml.safe_load(REPLAY_JOB.read_text(encoding="utf-8"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    named = {e["name"]: e.get("value") for e in container["env"]}
    kafka = {k: v for k, v in secrets.items() if k.startswith("KAFKA_") and k not in named}
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOG_LEVEL": "INFO",
        **kafka,  # the ConfigMap's KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, mechanism
        **{name: value if value is not None else secrets[name] for name, value in named.items()},
    }
    done = subprocess.run(  # noqa: S603 - our interpreter, the manifest's arguments
        [sys.executable, *container["command"][1:]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


async def consumer_groups(admin_bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=admin_bootstrap)
    await admin.start()
    try:
        groups = await admin.list_consumer_groups()
    finally:
        await admin.close()
    return [str(group[0]) for group in groups]


async def test_every_service_works_with_only_its_own_principal_and_role(
    secured_kafka: SecuredKafka, database_url: str, service_roles: dict[str, str], tmp_path: Path
) -> None:
    processes = {
        service: ServiceProcess(
            f"services.{service}",
            {
                **secured_kafka.environment(service),
                "DATABASE_URL": as_role(database_url, service_roles[service]),
                "AUTH_JWT_SECRET": TEST_SECRET,
                "RELAY_POLL_SECONDS": "0.2",
                "LOG_LEVEL": "INFO",
                "SUPERVISION_CHECK_INTERVAL_SECONDS": "0",
            },
            tmp_path / f"{service}.log",
        )
        for service in SERVICES
    }
    try:
        for process in processes.values():
            await asyncio.to_thread(process.start, 90.0)
        body = registration(random.randrange(700_000, 799_999))
        async with httpx.AsyncClient(timeout=10) as http:
            created = await http.post(
                f"{processes['registry'].url}/commands/register-agency", json=body, headers=auth()
            )
            assert created.status_code == 201, created.text

            async def reporting_knows_it() -> bool:
                url = f"{processes['reporting'].url}/agencies/{body['uscc']}"
                return (await http.get(url, headers=auth())).status_code == 200

            await wait_for(reporting_knows_it, timeout=60)
        for schema in ("incubation", "supervision"):
            await wait_for(
                lambda s=schema: streams_applied(database_url, s, body["uscc"]),  # type: ignore[misc]
                timeout=60,
            )
        groups = await consumer_groups(secured_kafka.admin)
        for service in SERVICES:
            assert any(g.startswith(f"{service}.") for g in groups), (service, groups)
        # The reporting replay Job, beside the running service, with what its manifest gives.
        outcome = await asyncio.to_thread(
            replay_as_the_job,
            {
                **secured_kafka.environment("reporting"),
                "DATABASE_URL": as_role(database_url, service_roles["reporting"]),
            },
        )
        assert outcome["switched"], outcome
        assert outcome["events"] >= 1, outcome
    finally:
        for process in processes.values():
            process.stop_quietly()
    for service, process in processes.items():
        log = process.log_path.read_text(encoding="utf-8", errors="replace")
        for refusal in ("AuthorizationFailed", "not authorized", "permission denied"):
            assert refusal not in log, f"{service}: {refusal} in its log"
