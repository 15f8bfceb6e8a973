"""HTTP registration -> event store -> relay -> Kafka, read by a plain consumer with the schemas."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from socialwork_contracts.topics import EVENT_TOPICS, REGISTRY

from services.registry.app import create_app
from tests.conftest import Infra
from tests.integration.apphost import running
from tests.integration.kafka_reader import read_until, validate_message
from tests.support import auth, registration

pytestmark = pytest.mark.infra


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


async def test_registration_reaches_kafka_valid_against_the_exported_schemas(
    client: httpx.AsyncClient, infra: Infra, database_url: str
) -> None:
    body = registration(101)
    response = await client.post(
        "/commands/register-agency", json=body, headers={**auth(), "X-Correlation-ID": "corr-e2e"}
    )
    assert response.status_code == 201
    event_id = response.json()["events"][0]["event_id"]

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchrow(
            "SELECT * FROM registry.events WHERE event_id = $1::uuid", event_id
        )
    finally:
        await conn.close()
    assert stored is not None and stored["correlation_id"] == "corr-e2e"

    records = await read_until(
        infra.kafka, REGISTRY.name, lambda r: r.key == body["uscc"].encode(), count=1
    )
    assert records, "the registration never reached Kafka"
    record = records[0]
    message = validate_message(record.value)
    assert message["id"] == event_id
    assert message["type"] == "AgencyRegistered.v2"
    assert message["subject"] == message["streamid"] == body["uscc"]
    assert message["correlationid"] == "corr-e2e" and message["actor"] == "tester"
    assert message["data"]["name"] == body["name"]
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["ce_type"] == "AgencyRegistered.v2" and headers["ce_id"] == event_id


async def test_events_of_one_agency_arrive_in_order_on_one_partition(
    client: httpx.AsyncClient, infra: Infra
) -> None:
    body = registration(102)
    uscc = body["uscc"]
    await client.post("/commands/register-agency", json=body, headers=auth())
    for n in range(6, 12):
        change = {"uscc": uscc, "full_time_staff": n, "qualified_staff": 4}
        assert (
            await client.post("/commands/change-agency-staff", json=change, headers=auth())
        ).status_code == 201
    records = await read_until(
        infra.kafka, REGISTRY.name, lambda r: r.key == uscc.encode(), count=7
    )
    assert len({r.partition for r in records}) == 1
    versions = [json.loads(r.value)["streamversion"] for r in records]
    assert versions == list(range(1, 8))


async def test_topics_exist_with_documented_partitions_and_unlimited_retention(
    client: httpx.AsyncClient, infra: Infra
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in EVENT_TOPICS])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        assert partitions == {t.name: t.partitions for t in EVENT_TOPICS}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in EVENT_TOPICS]
        )
        for response in configs:
            for resource in response.resources:
                values = {entry[0]: entry[1] for entry in resource[4]}
                assert values["retention.ms"] == "-1", resource[3]
                assert values["retention.bytes"] == "-1", resource[3]
    finally:
        await admin.close()
