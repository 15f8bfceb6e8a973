"""Kafka on the real broker with authentication on (issue 10, item 3).

Before: anyone who reached the broker could append facts (a forged `AgencyRegistered` appeared in
reporting). Now the SASL listener refuses a client without credentials, and each principal may
do exactly what servicekit.kafka_access grants it: a service writes its own topics only, reads
what it consumes; the integrator reads and never writes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from socialwork_contracts.topics import (
    EVENT_TOPICS,
    INCUBATION,
    REGISTRY,
    SERVICES,
    SUPERVISION,
    consumed_by,
    dead_letter_topic,
)

from servicekit.kafka_access import access_plan, managed_users
from servicekit.kafka_acls import (
    Grant,
    Operation,
    PatternType,
    ProvisioningError,
    ResourceType,
    admin_client,
    converge_grants,
    current_acls,
    principal,
    set_scram_credentials,
)
from servicekit.kafka_admin import TopicsNotReady, ensure_topics
from servicekit.kafka_security import KafkaSecurity
from servicekit.relay import make_producer
from tests.conftest import SecuredKafka
from tests.support import wait_for

pytestmark = pytest.mark.infra

TIMEOUT = 20


@asynccontextmanager
async def producer(
    bootstrap: str, security: KafkaSecurity, *, idempotent: bool = False
) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=idempotent,
        request_timeout_ms=10_000,
        **security.client_options(),
    )
    try:
        await asyncio.wait_for(client.start(), TIMEOUT)
        yield client
    finally:
        await client.stop()


async def write(bootstrap: str, security: KafkaSecurity, topic: str) -> int:
    """One record; its offset when the broker accepted it."""
    async with producer(bootstrap, security) as client:
        sent = await asyncio.wait_for(client.send_and_wait(topic, b"probe", key=b"k"), TIMEOUT)
        return int(sent.offset)


async def writes(bootstrap: str, security: KafkaSecurity, topic: str) -> bool:
    try:
        return await write(bootstrap, security, topic) >= 0
    except TopicAuthorizationFailedError:
        return False


async def refused(bootstrap: str, security: KafkaSecurity, topic: str) -> bool:
    return not await writes(bootstrap, security, topic)


async def test_a_write_without_credentials_is_refused(secured_kafka: SecuredKafka) -> None:
    # What anyone who reached the broker did before: a plain client, no credentials.
    with pytest.raises(KafkaConnectionError):
        await write(secured_kafka.bootstrap, KafkaSecurity(), REGISTRY.name)


async def test_a_write_with_a_wrong_password_is_refused(secured_kafka: SecuredKafka) -> None:
    with pytest.raises(KafkaConnectionError):
        await write(
            secured_kafka.bootstrap,
            secured_kafka.security("registry", "not-the-password"),
            REGISTRY.name,
        )


async def test_registry_writes_its_own_topic_and_not_incubations(
    secured_kafka: SecuredKafka,
) -> None:
    registry = secured_kafka.security("registry")
    assert await write(secured_kafka.bootstrap, registry, REGISTRY.name) >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secured_kafka.bootstrap, registry, INCUBATION.name)


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_writes_only_its_own_topics(
    secured_kafka: SecuredKafka, service: str
) -> None:
    security = secured_kafka.security(service)
    own = {t.name for t in EVENT_TOPICS if t.producer == service} | {dead_letter_topic(service)}
    others = {t.name for t in EVENT_TOPICS} | {dead_letter_topic(s) for s in SERVICES}
    # The relay's own producer (idempotent): needs no cluster-wide right beyond its topics.
    relay = make_producer(secured_kafka.bootstrap, security)
    await asyncio.wait_for(relay.start(), TIMEOUT)
    try:
        for topic in sorted(own):
            await asyncio.wait_for(relay.send_and_wait(topic, b"own", key=b"k"), TIMEOUT)
    finally:
        await relay.stop()
    for topic in sorted(others - own):
        with pytest.raises(TopicAuthorizationFailedError):
            await write(secured_kafka.bootstrap, security, topic)


async def read_one(
    bootstrap: str, security: KafkaSecurity, topic: str, *, group: str | None = None
) -> bytes | None:
    """The first record of partition 0 (assigned), or of any partition as a member of `group`.

    Assigned, a topic the principal may describe but not read fails on the fetch (aiokafka
    waits for the metadata of one it may not even describe: see `metadata_errors`).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=10_000,
        **security.client_options(),
    )
    await asyncio.wait_for(consumer.start(), TIMEOUT)
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, 0)])
        else:
            consumer.subscribe([topic])
        record = await asyncio.wait_for(consumer.getone(), TIMEOUT)
        value: bytes | None = record.value
        return value
    finally:
        await consumer.stop()


async def test_integrator_reads_and_never_writes(secured_kafka: SecuredKafka) -> None:
    # Something to read on partition 0, written by the producing service.
    async with producer(secured_kafka.bootstrap, secured_kafka.security("registry")) as client:
        await client.send_and_wait(REGISTRY.name, b"fact", partition=0)
    integrator = secured_kafka.security("integrator")
    group = f"integrator.{uuid.uuid4().hex[:8]}"
    assert await read_one(secured_kafka.bootstrap, integrator, REGISTRY.name, group=group)
    for topic in (INCUBATION.name, SUPERVISION.name):
        await read_one_or_wait(secured_kafka, integrator, topic)
    for topic in [t.name for t in EVENT_TOPICS] + [dead_letter_topic("reporting")]:
        with pytest.raises(TopicAuthorizationFailedError):
            await write(secured_kafka.bootstrap, integrator, topic)
    # The dead-letter topics are not even visible to it.
    dead = dead_letter_topic("registry")
    errors = await metadata_errors(secured_kafka.bootstrap, integrator, dead)
    assert errors == [TopicAuthorizationFailedError.errno]
    with pytest.raises(GroupAuthorizationFailedError):
        await read_one(secured_kafka.bootstrap, integrator, REGISTRY.name, group="registry.x")


async def metadata_errors(bootstrap: str, security: KafkaSecurity, topic: str) -> list[int]:
    """The error codes Kafka answers a principal's metadata request for a topic with."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [t["error_code"] for t in described if t["error_code"]]


async def read_one_or_wait(
    secured_kafka: SecuredKafka, security: KafkaSecurity, topic: str
) -> None:
    """Reading is allowed: no authorization error within a short wait (the topic may be empty)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=secured_kafka.bootstrap,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
        **security.client_options(),
    )
    await asyncio.wait_for(consumer.start(), TIMEOUT)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.getmany(timeout_ms=1000)
        await consumer.getmany(timeout_ms=500)  # errors of the first fetch surface here
    finally:
        await consumer.stop()


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_reads_what_it_consumes_and_nothing_else(
    secured_kafka: SecuredKafka, service: str
) -> None:
    security = secured_kafka.security(service)
    consumed = {t.name for t in consumed_by(service)}
    for topic in sorted(consumed):
        await read_one_or_wait(secured_kafka, security, topic)
    for topic in sorted({t.name for t in EVENT_TOPICS} - consumed):
        with pytest.raises(TopicAuthorizationFailedError):
            await read_one(secured_kafka.bootstrap, security, topic)
    # Its consumer groups (`<projection>.<store id>`) and nobody else's.
    assert consumed, "every service consumes something"
    topic = sorted(consumed)[0]
    with pytest.raises(GroupAuthorizationFailedError):
        await read_one(secured_kafka.bootstrap, security, topic, group=f"integrator.{service}")


async def test_a_service_may_not_create_a_topic(secured_kafka: SecuredKafka) -> None:
    registry = secured_kafka.security("registry")
    name = f"socialwork.test-{uuid.uuid4().hex[:8]}.events"
    with pytest.raises(TopicsNotReady, match="may not create it"):
        await ensure_topics(secured_kafka.bootstrap, [(name, 1)], security=registry)
    # The topics it needs exist (provisioned) and are visible to it: nothing to create.
    await ensure_topics(
        secured_kafka.bootstrap,
        [(t.name, t.partitions) for t in EVENT_TOPICS] + [(dead_letter_topic("registry"), 1)],
        security=registry,
    )


async def test_provisioning_removes_a_grant_beyond_the_plan(secured_kafka: SecuredKafka) -> None:
    rogue = Grant(
        principal("registry"),
        ResourceType.TOPIC,
        INCUBATION.name,
        PatternType.LITERAL,
        Operation.WRITE,
    )
    async with admin_client(secured_kafka.admin, KafkaSecurity()) as admin:
        await converge_grants(admin, ["registry"], [*access_plan(), rogue])
        registry = secured_kafka.security("registry")
        # ACL changes reach the authorizer through the metadata log: wait until the grant holds.
        await wait_for(lambda: writes(secured_kafka.bootstrap, registry, INCUBATION.name))
        changes = await converge_grants(admin, managed_users(), access_plan())
        assert [str(a.as_grant()) for a in changes.deleted] == [str(rogue)]
        assert changes.created == []
        held = {a.as_grant() for u in managed_users() for a in await current_acls(admin, u)}
        assert held == set(access_plan())
    # Until the deletion reached the authorizer, then for good: refused.
    await wait_for(lambda: refused(secured_kafka.bootstrap, registry, INCUBATION.name))
    with pytest.raises(TopicAuthorizationFailedError):
        await write(secured_kafka.bootstrap, registry, INCUBATION.name)


async def test_a_service_may_not_see_or_change_acls_or_credentials(
    secured_kafka: SecuredKafka,
) -> None:
    async with admin_client(secured_kafka.bootstrap, secured_kafka.security("registry")) as admin:
        # librdkafka reads a refused listing as "none" (it drops the error): the creations fail.
        with pytest.raises(ProvisioningError, match=r"create ACL .* CLUSTER_AUTHORIZATION_FAILED"):
            await converge_grants(admin, ["registry"], access_plan())
        with pytest.raises(ProvisioningError, match="SCRAM credential of integrator: CLUSTER_AUTH"):
            await set_scram_credentials(admin, {"integrator": "taken-over"})
    # The integrator's password is still its own.
    integrator = secured_kafka.security("integrator")
    await read_one_or_wait(secured_kafka, integrator, REGISTRY.name)
