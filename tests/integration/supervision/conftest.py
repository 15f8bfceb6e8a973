"""The supervision and registry apps in-process on the test database and the real broker."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.incubation import AgencyGraduated, IncubationStarted
from socialwork_contracts.topics import INCUBATION

from servicekit.cloudevents import to_kafka_record
from servicekit.eventstore import RecordedEvent
from servicekit.relay import make_producer
from services.registry.app import create_app as create_registry
from services.supervision.app import create_app as create_supervision
from tests.conftest import Infra
from tests.integration.apphost import running
from tests.support import auth, registration, wait_for


@dataclass
class Apps:
    registry: httpx.AsyncClient
    supervision: httpx.AsyncClient
    database_url: str
    kafka: str
    # The incubation store these hand-made records come from: one per test, as in production.
    store_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    async def register(self, serial: int, registered_on: str = "2019-05-01") -> str:
        body = {**registration(serial), "registered_on": registered_on}
        response = await self.registry.post("/commands/register-agency", json=body, headers=auth())
        assert response.status_code in (200, 201), response.text
        uscc: str = body["uscc"]
        await wait_for(lambda: self.known(uscc))
        return uscc

    async def known(self, uscc: str) -> bool:
        conn = await asyncpg.connect(self.database_url)
        try:
            return bool(
                await conn.fetchval("SELECT 1 FROM supervision.agencies WHERE uscc = $1", uscc)
            )
        finally:
            await conn.close()

    async def resident(self, uscc: str, base_id: str, started_on: dt.date) -> str:
        """Publish an IncubationStarted as the incubation service would (its contract only)."""
        incubation_id = str(uuid.uuid4())
        event = IncubationStarted(
            incubation_id=incubation_id,
            base_id=base_id,
            agreement_id=str(uuid.uuid4()),
            uscc=uscc,
            office_id="302",
            term_start=started_on,
            term_end=started_on.replace(year=started_on.year + 1),
            started_on=started_on,
            local=True,
        )
        await self.publish(event, incubation_id)

        async def seen() -> bool:
            return await self.residency(incubation_id, "TRUE")

        await wait_for(seen)
        return incubation_id

    async def graduated(self, uscc: str, base_id: str, incubation_id: str, on: dt.date) -> None:
        event = AgencyGraduated(
            incubation_id=incubation_id,
            base_id=base_id,
            uscc=uscc,
            graduated_on=on,
            assessment_summary="出壳评估合格",
            office_id="302",
        )
        await self.publish(event, incubation_id, version=2)
        await wait_for(lambda: self.residency(incubation_id, "graduated"))

    async def residency(self, incubation_id: str, condition: str) -> bool:
        conn = await asyncpg.connect(self.database_url)
        try:
            return bool(
                await conn.fetchval(
                    f"SELECT {condition} FROM supervision.residencies WHERE incubation_id = $1",
                    incubation_id,
                )
            )
        finally:
            await conn.close()

    async def publish(self, event: DomainEvent, stream_id: str, version: int = 1) -> None:
        record = RecordedEvent(
            position=version,
            event_id=uuid.uuid4(),
            stream_id=stream_id,
            stream_version=version,
            event_type=event.event_type,
            event_version=event.event_version,
            data=event.model_dump(mode="json"),
            occurred_at=dt.datetime.now(dt.UTC),
            recorded_at=dt.datetime.now(dt.UTC),
            actor="test",
            actor_role="base_manager",
            correlation_id="test",
            causation_id="test",
        )
        producer: AIOKafkaProducer = make_producer(self.kafka)
        await producer.start()
        try:
            key, value, headers = to_kafka_record(record, "incubation", self.store_id)
            await producer.send_and_wait(INCUBATION.name, value=value, key=key, headers=headers)
        finally:
            await producer.stop()


@pytest.fixture
async def apps(
    service_env: dict[str, str], database_url: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Apps]:
    # The periodic check is triggered by the tests through the admin endpoint instead.
    monkeypatch.setenv("SUPERVISION_CHECK_INTERVAL_SECONDS", "0")
    async with running(create_registry) as registry, running(create_supervision) as supervision:
        yield Apps(registry, supervision, database_url, infra.kafka)
