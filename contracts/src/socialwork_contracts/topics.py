"""The platform's services and Kafka topics, each described once (the service manifest).

One topic per producing service; key = aggregate id, so one aggregate stays in order. `MANIFEST`
says what each service is: its local port, the topics and event types it folds, the roles its
API serves. Devstack, the provisioning jobs (topics, Kafka ACLs, database roles), the tests over
every service and the event catalog read it or are checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    producer: str
    partitions: int
    description: str

    @property
    def consumers(self) -> tuple[str, ...]:
        """The services that fold this topic (their `ServiceSpec.consumes` names it)."""
        return tuple(s.name for s in MANIFEST if self in s.consumes)


REGISTRY = TopicSpec(
    "socialwork.registry.events",
    "registry",
    6,
    "机构登记事件 — agency registration facts",
)
INCUBATION = TopicSpec(
    "socialwork.incubation.events",
    "incubation",
    6,
    "孵化基地与孵化周期事件 — bases and incubations",
)
SUPERVISION = TopicSpec(
    "socialwork.supervision.events",
    "supervision",
    6,
    "监管与信用事件 — supervision and credit lists",
)

EVENT_TOPICS: tuple[TopicSpec, ...] = (REGISTRY, INCUBATION, SUPERVISION)


@dataclass(frozen=True)
class ServiceSpec:
    """One service: what `./dev up`, provisioning, access rights and the tests need to know."""

    name: str  # `python -m services.<name>`, its database schema and role, its Kafka principal
    port: int  # local HTTP port (`./dev up`; docker-compose.yml publishes the same one)
    # The topics it folds. Kafka's ACLs are derived from it (who may read what); tests keep it
    # equal to the topics of the service's projections (services/<name>/consumers.py).
    consumes: tuple[TopicSpec, ...]
    # The event types it reacts to on those topics (None: every type, as reporting folds all);
    # tests keep it equal to the event classes its consumers.py names.
    event_types: tuple[str, ...] | None
    # The token roles its routes admit (servicekit.auth.Role values; tests/edge/policy.py
    # holds each route's own).
    roles: tuple[str, ...]

    @property
    def publishes(self) -> TopicSpec | None:
        """The event topic it produces (None for a service that only reads)."""
        return next((t for t in EVENT_TOPICS if t.producer == self.name), None)


MANIFEST: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "registry",
        8001,
        consumes=(SUPERVISION,),
        event_types=("PenaltyImposed",),
        roles=("city_admin", "unit_officer", "base_operator", "auditor"),
    ),
    ServiceSpec(
        "incubation",
        8002,
        consumes=(REGISTRY, SUPERVISION),
        event_types=(
            "AgencyRegistered",
            "AgencyProfileAmended",
            "AgencyStaffChanged",
            "AgencySuspended",
            "AgencyReinstated",
            "AgencyDeregistered",
            "AgencyRegistrationRevoked",
            "AgencyListed",
            "AgencyDelisted",
            "AnnualInspectionConcluded",
            "ViolationRecorded",
            "PenaltyImposed",
        ),
        roles=("city_admin", "unit_officer", "base_operator", "auditor"),
    ),
    ServiceSpec(
        "supervision",
        8003,
        consumes=(REGISTRY, INCUBATION),
        event_types=(
            "AgencyRegistered",
            "AgencyProfileAmended",
            "AgencySuspended",
            "AgencyReinstated",
            "AgencyDeregistered",
            "AgencyRegistrationRevoked",
            "QualifiedStaffShareFellShort",
            "IncubationStarted",
            "IncubationExtended",
            "IncubationIdentityLinked",
            "AgencyGraduated",
            "IncubationTerminated",
        ),
        roles=("city_admin", "unit_officer", "base_operator", "auditor", "integrator"),
    ),
    ServiceSpec(
        "reporting",
        8004,
        consumes=(REGISTRY, INCUBATION, SUPERVISION),
        event_types=None,
        roles=("city_admin", "unit_officer", "auditor", "integrator"),
    ),
)

# Every service of the platform, by name, in the manifest's order.
SERVICES: tuple[str, ...] = tuple(s.name for s in MANIFEST)


def service_spec(name: str) -> ServiceSpec:
    """The manifest entry of one service; KeyError for an unknown name."""
    for spec in MANIFEST:
        if spec.name == name:
            return spec
    raise KeyError(name)


def consumed_by(service: str) -> tuple[TopicSpec, ...]:
    """The event topics a service folds."""
    return service_spec(service).consumes


def topic_of(producer: str) -> TopicSpec:
    for spec in EVENT_TOPICS:
        if spec.producer == producer:
            return spec
    raise KeyError(producer)


def dead_letter_topic(consumer: str) -> str:
    """Each consuming service has its own dead-letter topic."""
    return f"socialwork.{consumer}.deadletter"


# Headers a consumer adds when it dead-letters a record; key, value and the record's own headers
# are copied unchanged. All values are UTF-8 strings.
DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq_consumer": "Consuming service (and group) that gave up on the record",
    "dlq_original_topic": "Topic the record was read from",
    "dlq_original_partition": "Its partition, as a decimal string",
    "dlq_original_offset": "Its offset, as a decimal string",
    "dlq_error": "Error type and message (truncated to 1000 characters)",
    "dlq_failed_at": "When it was dead-lettered, RFC 3339 in UTC",
}
