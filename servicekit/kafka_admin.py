"""Creates the project's topics with unlimited retention: the log is the replayable history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, TopicAuthorizationFailedError, for_code

from servicekit.kafka_security import KafkaSecurity

# The Kafka log is the history integrators replay from offset 0, so it must never expire.
UNLIMITED_RETENTION = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def topic_configs(min_insync_replicas: int | None) -> dict[str, str]:
    """A new topic's settings: unlimited retention, and the acknowledgement quorum if given.

    With acks=all (servicekit.relay), min.insync.replicas is how many replicas hold a record
    before it is acknowledged: 2 of 3 lets one broker die with no acknowledged record lost.
    """
    configs = dict(UNLIMITED_RETENTION)
    if min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(min_insync_replicas)
    return configs


class TopicsNotReady(RuntimeError):
    """A topic is missing (or invisible to this principal) and could not be created."""


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[tuple[str, int]],
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
    security: KafkaSecurity | None = None,
) -> None:
    """Create each (name, partitions) topic if absent. Existing topics are left as they are.

    On a broker with ACLs the services may not create topics: the administrator's provisioning
    (`python -m servicekit.kafka_access provision`) creates them, and each service may only
    describe them. A topic that is still missing then stops the service at start, with a message
    saying so, instead of a relay that fails on every batch later.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **(security or KafkaSecurity()).client_options()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=topic_configs(min_insync_replicas),
            )
            for name, partitions in topics
            if name not in existing
        ]
        if new:
            response = await admin.create_topics(new)
            _raise_refusals(response.topic_errors)
    finally:
        await admin.close()


def _raise_refusals(results: Iterable[Sequence[Any]]) -> None:
    """CreateTopics answers per topic and raises nothing itself: look at each answer."""
    for name, code, *rest in results:
        if code == 0:
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue  # another replica created it between our list and create
        if error is TopicAuthorizationFailedError:
            raise TopicsNotReady(
                f"topic {name} does not exist (or this principal may not describe it) and this "
                "principal may not create it: run the Kafka provisioning "
                "(python -m servicekit.kafka_access provision; docs/operations.md)"
            )
        message = rest[0] if rest and rest[0] else error.__name__
        raise TopicsNotReady(f"topic {name} could not be created: {message}")
