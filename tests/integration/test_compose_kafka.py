"""docker-compose.yml's Kafka run on this machine: the broker, kafka-init, the services' logins.

Compose cannot run here, but its broker configuration can: the `kafka` service's KAFKA_*
variables become server.properties exactly as the apache/kafka image turns them into it
(kafka.docker.KafkaDockerWrapper), with the container addresses moved to free local ports.
kafka-init's command then runs with kafka-init's environment, and each service logs in with
its own. So a typo in a variable name, a listener without SASL, or a principal without the
grants it needs fails here rather than in production.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from devstack.kafka import KafkaProcess, launch_broker
from devstack.ports import free_port
from socialwork_contracts.topics import EVENT_TOPICS, INCUBATION, REGISTRY

from servicekit.kafka_access import managed_users, password_variable
from servicekit.kafka_security import KafkaSecurity
from servicekit.settings import KafkaSettings
from tests.static.test_compose import (
    environment_of,
    interpolate,
    load_compose,
    platform_jobs,
    platform_services,
)

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
# Not made into server properties by the image (kafka.docker.KafkaDockerWrapper's exclusions).
IMAGE_EXCLUDED = {
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPT",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_JMX_HOSTNAME",
}
CONTAINER_PORTS = (19092, 9092, 9093)  # INTERNAL, HOST, CONTROLLER


def image_properties(env: dict[str, str]) -> dict[str, str]:
    """KAFKA_A_B__C___D -> a.b_c-d, as the image's KafkaDockerWrapper does it."""
    properties = {}
    for key, value in env.items():
        if key.startswith("KAFKA_") and key not in IMAGE_EXCLUDED:
            name = key.removeprefix("KAFKA_").lower().replace("_", ".")
            properties[name.replace("...", "-").replace("..", "_")] = value
    return properties


def localize(value: str, ports: dict[int, int]) -> str:
    """`kafka:19092`, `localhost:9092`, `:9093` -> 127.0.0.1:<the local port>."""
    return re.sub(
        r"(?:kafka|localhost)?:(19092|9092|9093)\b",
        lambda m: f"127.0.0.1:{ports[int(m[1])]}",
        value,
    )


def local_environment(
    service: dict[str, object], secrets: dict[str, str], ports: dict[int, int]
) -> dict[str, str]:
    """A Compose service's environment, interpolated and pointed at the local broker."""
    env = environment_of(service)
    return {k: localize(interpolate(v, secrets), ports) for k, v in env.items()}


@dataclass(frozen=True)
class ComposeKafka:
    process: KafkaProcess
    ports: dict[int, int]  # container port -> local port
    secrets: dict[str, str]  # what the operator exports

    def environment(self, service: dict[str, object]) -> dict[str, str]:
        return local_environment(service, self.secrets, self.ports)

    @property
    def internal(self) -> str:
        return f"127.0.0.1:{self.ports[19092]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.ports[9092]}"


def operator_secrets() -> dict[str, str]:
    names = ["KAFKA_ADMIN_PASSWORD", *(password_variable(u) for u in managed_users())]
    return {name: f"{name.lower()}-0123456789abcdef" for name in names}


@pytest.fixture(scope="module")
def compose_kafka() -> Iterator[ComposeKafka]:
    doc = load_compose()
    secrets = operator_secrets()
    ports = {port: free_port() for port in CONTAINER_PORTS}
    state = Path(tempfile.mkdtemp(prefix="socialwork-compose-kafka-"))
    properties = image_properties(local_environment(doc["services"]["kafka"], secrets, ports))
    for key in ("listeners", "advertised.listeners"):
        properties[key] = properties[key].replace("://:", "://127.0.0.1:")
    properties["log.dirs"] = str(state / "data")
    process = launch_broker(
        state, properties, port=ports[19092], controller_port=ports[9093], sasl_port=ports[19092]
    )
    try:
        yield ComposeKafka(process, ports, secrets)
    finally:
        process.stop()
        shutil.rmtree(state, ignore_errors=True)


def run_kafka_init(compose_kafka: ComposeKafka) -> str:
    doc = load_compose()
    job = platform_jobs(doc)["kafka-init"]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *job["command"][1:]],
        env={**inherited, **compose_kafka.environment(job)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def provisioned(compose_kafka: ComposeKafka) -> ComposeKafka:
    first = run_kafka_init(compose_kafka)
    assert "removed" in first
    again = run_kafka_init(compose_kafka)  # every `up` runs it: nothing left to change
    assert "(0 added, 0 removed)" in again, again
    return compose_kafka


@pytest.fixture
async def admin(provisioned: ComposeKafka) -> AsyncIterator[AIOKafkaAdminClient]:
    """The health check's login: PLAIN as admin with the listener's own JAAS entry."""
    jaas = provisioned.environment(load_compose()["services"]["kafka"])[
        "KAFKA_LISTENER_NAME_HOST_PLAIN_SASL_JAAS_CONFIG"
    ]
    user = re.search(r'username="([^"]+)"', jaas)
    password = re.search(r'password="([^"]+)"', jaas)
    assert user is not None and password is not None
    client = AIOKafkaAdminClient(
        bootstrap_servers=provisioned.host,
        **KafkaSecurity("SASL_PLAINTEXT", "PLAIN", user[1], password[1]).client_options(),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_kafka_init_creates_the_topics(admin: AIOKafkaAdminClient) -> None:
    topics = set(await admin.list_topics())
    assert {t.name for t in EVENT_TOPICS} <= topics


async def send(bootstrap: str, security: KafkaSecurity, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **security.client_options()
    )
    try:
        await asyncio.wait_for(producer.start(), 20)
        await asyncio.wait_for(producer.send_and_wait(topic, b"probe", key=b"k"), 20)
    finally:
        await producer.stop()


@pytest.mark.parametrize("listener", ["internal", "host"])
async def test_no_listener_takes_a_client_without_credentials(
    provisioned: ComposeKafka, listener: str
) -> None:
    with pytest.raises(KafkaConnectionError):
        await send(getattr(provisioned, listener), KafkaSecurity(), REGISTRY.name)


async def test_each_service_logs_in_with_its_compose_environment(provisioned: ComposeKafka) -> None:
    for name, service in platform_services(load_compose()).items():
        env = provisioned.environment(service)
        settings = KafkaSettings.model_validate(env)
        assert settings.kafka_bootstrap_servers == provisioned.internal
        security = KafkaSecurity.from_settings(settings)
        assert security.username == name
        for topic in EVENT_TOPICS:
            if topic.producer == name:
                await send(settings.kafka_bootstrap_servers, security, topic.name)
            else:
                with pytest.raises(TopicAuthorizationFailedError):
                    await send(settings.kafka_bootstrap_servers, security, topic.name)


async def test_registry_cannot_forge_incubation_facts(provisioned: ComposeKafka) -> None:
    registry = provisioned.environment(load_compose()["services"]["registry"])
    security = KafkaSecurity.from_settings(KafkaSettings.model_validate(registry))
    with pytest.raises(TopicAuthorizationFailedError):
        await send(provisioned.internal, security, INCUBATION.name)
