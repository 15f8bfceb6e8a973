"""The Kafka access plan, the services' Kafka settings and the database roles, without servers.

The real-broker and real-database proofs are tests/integration/test_kafka_acls.py,
test_database_roles.py and test_least_privilege_services.py; these keep the plan itself honest:
it must follow what the services consume, and grant nothing a service does not need.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
from typing import Any

import pytest
from confluent_kafka.admin import ScramMechanism
from pydantic import ValidationError
from socialwork_contracts.topics import (
    EVENT_TOPICS,
    REGISTRY,
    SERVICES,
    SUPERVISION,
    consumed_by,
    dead_letter_topic,
)

from servicekit import db_access
from servicekit.kafka_access import (
    INTEGRATOR,
    access_plan,
    integrator_grants,
    managed_users,
    password_variable,
    service_grants,
)
from servicekit.kafka_acls import Operation, PatternType, ResourceType, principal, scram_upsertion
from servicekit.kafka_security import KafkaSecurity
from servicekit.runtime import add_consumer
from servicekit.settings import KafkaSettings
from services.reporting import readmodel


def projections_of(service: str) -> list[tuple[str | None, tuple[str, ...]]]:
    """(name, topics) of every projection class in services/<service>/consumers.py."""
    module = importlib.import_module(f"services.{service}.consumers")
    found = []
    for value in vars(module).values():
        if not (dataclasses.is_dataclass(value) and isinstance(value, type)):
            continue
        fields = {f.name: f for f in dataclasses.fields(value)}
        if "topics" not in fields or value.__module__ != module.__name__:
            continue
        topics_field = fields["topics"]
        if topics_field.default_factory is not dataclasses.MISSING:
            topics = tuple(topics_field.default_factory())
        else:
            topics = tuple(topics_field.default)  # type: ignore[arg-type]
        name_field = fields.get("name")
        name = None
        if name_field is not None and isinstance(name_field.default, str):
            name = name_field.default
        found.append((name, topics))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_exactly_the_topics_its_projections_fold(service: str) -> None:
    projections = projections_of(service)
    assert projections, f"no projection found in services/{service}/consumers.py"
    folded = {topic for _, topics in projections for topic in topics}
    assert folded == {t.name for t in consumed_by(service)}
    reads = {
        g.name
        for g in service_grants(service)
        if g.resource is ResourceType.TOPIC and g.operation is Operation.READ
    }
    assert reads == folded


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_writes_only_its_own_topics_and_groups_are_its_own(service: str) -> None:
    grants = service_grants(service)
    assert {g.principal for g in grants} == {principal(service)}
    writes = {g.name for g in grants if g.operation is Operation.WRITE}
    own = {t.name for t in EVENT_TOPICS if t.producer == service} | {dead_letter_topic(service)}
    assert writes == own
    groups = [g for g in grants if g.resource is ResourceType.GROUP]
    assert [(g.name, g.pattern, g.operation) for g in groups] == [
        (f"{service}.", PatternType.PREFIXED, Operation.READ)
    ]
    # Consumer groups are `<projection name>.<store id>`: every name must fall under the prefix.
    for name, _ in projections_of(service):
        if name is not None:
            assert name.startswith(f"{service}."), name
    if service == "reporting":  # its live projection's name is made in its database
        assert "'reporting.projection.'" in readmodel.CONTROL_DDL


def test_nobody_may_create_alter_or_delete() -> None:
    allowed = {Operation.READ, Operation.WRITE, Operation.DESCRIBE}
    assert {g.operation for g in access_plan()} <= allowed
    assert {g.resource for g in access_plan()} <= {ResourceType.TOPIC, ResourceType.GROUP}
    assert {g.principal for g in access_plan()} == {principal(u) for u in managed_users()}


def test_the_integrator_only_reads_the_event_topics() -> None:
    grants = integrator_grants()
    assert {g.operation for g in grants} == {Operation.READ}
    topics = {g.name for g in grants if g.resource is ResourceType.TOPIC}
    assert topics == {t.name for t in EVENT_TOPICS}
    assert [g.name for g in grants if g.resource is ResourceType.GROUP] == [f"{INTEGRATOR}."]


def test_scram_credential_is_sha512_with_a_fresh_salt() -> None:
    upsertion = scram_upsertion("registry", "s3cret")
    assert (upsertion.user, upsertion.password) == ("registry", b"s3cret")
    assert upsertion.scram_credential_info.mechanism is ScramMechanism.SCRAM_SHA_512
    assert 4096 <= upsertion.scram_credential_info.iterations <= 16384  # what Kafka accepts
    assert upsertion.salt is None  # librdkafka draws a random salt for each credential


def test_password_variables() -> None:
    assert [password_variable(u) for u in managed_users()] == [
        "REGISTRY_KAFKA_PASSWORD",
        "INCUBATION_KAFKA_PASSWORD",
        "SUPERVISION_KAFKA_PASSWORD",
        "REPORTING_KAFKA_PASSWORD",
        "INTEGRATOR_KAFKA_PASSWORD",
    ]
    assert db_access.password_variable("registry") == "REGISTRY_DB_PASSWORD"


BOOTSTRAP = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:19092"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "set KAFKA_SASL_USERNAME"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "registry"},
            "set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        ({"KAFKA_SASL_USERNAME": "registry", "KAFKA_SASL_PASSWORD": "x"}, "is PLAINTEXT"),
        ({"KAFKA_SSL_CAFILE": "/ca.pem"}, "needs KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
    ],
    ids=[
        "no-username",
        "no-password",
        "credentials-without-sasl",
        "ca-without-ssl",
        "ssl",
        "gssapi",
    ],
)
def test_half_configured_kafka_security_is_refused_at_start(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ValidationError, match=expected):
        KafkaSettings.model_validate({**BOOTSTRAP, **env})


def test_kafka_security_reaches_every_client_library() -> None:
    settings = KafkaSettings.model_validate(
        {
            **BOOTSTRAP,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_USERNAME": "registry",
            "KAFKA_SASL_PASSWORD": "s3cret",
        }
    )
    security = KafkaSecurity.from_settings(settings)
    assert "s3cret" not in repr(security)
    options: dict[str, Any] = security.client_options()
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "registry",
        "sasl_plain_password": "s3cret",
        "ssl_context": None,
    }
    faststream = security.faststream()
    assert type(faststream).__name__ == "SASLScram512"
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "registry",
        "sasl.password": "s3cret",
    }
    tls = KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", "registry", "s3cret", "/etc/kafka/ca.pem")
    assert tls.librdkafka_config()["ssl.ca.location"] == "/etc/kafka/ca.pem"
    assert tls.librdkafka_config()["ssl.endpoint.identification.algorithm"] == "https"
    assert tls.librdkafka_config()["sasl.mechanism"] == "SCRAM-SHA-256"
    plain = KafkaSecurity.from_settings(KafkaSettings.model_validate(BOOTSTRAP))
    assert plain.client_options() == {"security_protocol": "PLAINTEXT"}
    assert plain.librdkafka_config() == {"security.protocol": "PLAINTEXT"}
    assert plain.faststream() is None
    with pytest.raises(ValueError, match="needs a username"):
        KafkaSecurity("SASL_PLAINTEXT")


@dataclasses.dataclass
class _Projection:
    name: str
    topics: tuple[str, ...]


@pytest.mark.parametrize(
    "projection",
    [
        _Projection("registry.forged", (REGISTRY.name,)),  # registry does not consume its own
        _Projection("incubation.borrowed", (SUPERVISION.name,)),  # another service's group
    ],
    ids=["undeclared-topic", "foreign-group"],
)
def test_a_service_may_only_subscribe_to_what_the_contract_declares(
    projection: _Projection,
) -> None:
    runtime: Any = types.SimpleNamespace(service="registry")
    with pytest.raises(ValueError, match=r"ServiceSpec\.consumes"):
        add_consumer(runtime, projection)  # type: ignore[arg-type]
