"""All four services as real processes, each with only its own Kafka principal and database role.

The ACLs (servicekit.kafka_access) and roles (servicekit.db_access) must be enough for
everything a service does — checking its topics, publishing, consuming in its groups,
dead-lettering, creating its tables — or least privilege would only hold on paper. A
registration travels registry -> Kafka -> incubation, supervision and reporting.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from socialwork_contracts.topics import SERVICES

from tests.conftest import TEST_SECRET, SecuredKafka, as_role
from tests.integration.processes import ServiceProcess
from tests.support import auth, registration, wait_for

pytestmark = pytest.mark.infra


async def streams_applied(database_url: str, schema: str, stream_id: str) -> int:
    conn = await asyncpg.connect(database_url)  # the administrator, looking behind the scenes
    try:
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM {schema}.consumer_streams WHERE stream_id = $1", stream_id
        )
        return count
    finally:
        await conn.close()


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
    finally:
        for process in processes.values():
            process.stop_quietly()
    for service, process in processes.items():
        log = process.log_path.read_text(encoding="utf-8", errors="replace")
        for refusal in ("AuthorizationFailed", "not authorized", "permission denied"):
            assert refusal not in log, f"{service}: {refusal} in its log"
