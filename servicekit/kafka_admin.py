"""Creates the project's topics with unlimited retention: the log is the replayable history."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

# The Kafka log is the history integrators replay from offset 0, so it must never expire.
UNLIMITED_RETENTION = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


async def ensure_topics(
    bootstrap: str, topics: Iterable[tuple[str, int]], *, replication_factor: int = 1
) -> None:
    """Create each (name, partitions) topic if absent. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=UNLIMITED_RETENTION,
            )
            for name, partitions in topics
            if name not in existing
        ]
        if new:
            # Another replica may create it between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()
