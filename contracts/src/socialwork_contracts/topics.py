"""Kafka topics: one per producing service. Key = aggregate id, so one aggregate stays in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    producer: str
    partitions: int
    description: str
    # The services that fold this topic. Kafka's ACLs are derived from it (who may read what);
    # tests keep it equal to the topics of each service's projections.
    consumers: tuple[str, ...] = ()


REGISTRY = TopicSpec(
    "socialwork.registry.events",
    "registry",
    6,
    "机构登记事件 — agency registration facts",
    consumers=("incubation", "supervision", "reporting"),
)
INCUBATION = TopicSpec(
    "socialwork.incubation.events",
    "incubation",
    6,
    "孵化基地与孵化周期事件 — bases and incubations",
    consumers=("supervision", "reporting"),
)
SUPERVISION = TopicSpec(
    "socialwork.supervision.events",
    "supervision",
    6,
    "监管与信用事件 — supervision and credit lists",
    consumers=("registry", "incubation", "reporting"),
)

EVENT_TOPICS: tuple[TopicSpec, ...] = (REGISTRY, INCUBATION, SUPERVISION)

# Every service of the platform: the producers, then the services that only consume.
SERVICES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [t.producer for t in EVENT_TOPICS] + [c for t in EVENT_TOPICS for c in t.consumers]
    )
)


def consumed_by(service: str) -> tuple[TopicSpec, ...]:
    """The event topics a service folds."""
    return tuple(t for t in EVENT_TOPICS if service in t.consumers)


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
