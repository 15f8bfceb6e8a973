"""While Kafka is away, the write API stays ready and takes commands; they wait in the outbox.

Readiness used to require the broker, so an orchestrator took the write API away during a
broker outage — the very case the transactional outbox exists for.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import asyncpg
import httpx
import pytest
from devstack.kafka import start_kafka

from tests.integration.processes import ServiceProcess
from tests.support import auth, registration, wait_for

pytestmark = pytest.mark.infra


async def test_the_write_api_stays_ready_and_accepts_commands_without_kafka(
    service_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    kafka = start_kafka(Path(tempfile.mkdtemp(prefix="outage-kafka-")))
    service = ServiceProcess(
        "services.registry",
        {**service_env, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap},
        tmp_path / "registry.log",
    )
    try:
        service.start()
        kafka.kill()  # the broker is gone; the service keeps running
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:

            async def broker_seen_down() -> bool:
                ready = await client.get("/health/ready")
                return ready.json()["checks"].get("broker") is False and ready.status_code == 200

            await wait_for(broker_seen_down, timeout=30)
            body = registration(700_001)
            accepted = await client.post(
                "/commands/register-agency", json=body, headers={**auth(), "Idempotency-Key": "k1"}
            )
            assert accepted.status_code == 201, accepted.text
        conn = await asyncpg.connect(database_url)
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM registry.events WHERE stream_id = $1", body["uscc"]
            )
        finally:
            await conn.close()
        assert stored == 1
        lines = (tmp_path / "registry.log").read_text().splitlines()
        assert sum("relay.broker_unavailable" in line for line in lines) <= 1
        # The client library's reconnect errors are kept to one line per kind, not one per try.
        assert len(lines) < 15, "\n".join(lines)
    finally:
        service.stop_quietly()
        kafka.stop()
