"""Prometheus metrics every service exposes at /metrics.

Counters and histograms are updated where the work happens; lags and positions are read at
scrape time from the store, the relay and the consumers, so they are never stale.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from aiokafka import TopicPartition
from fastapi import Depends, FastAPI, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import SecretStr

from servicekit.auth import Unauthenticated

if TYPE_CHECKING:
    from servicekit.runtime import Runtime

# One registry per process: metrics are process-wide like the logs.
REGISTRY = CollectorRegistry()

COMMANDS = Counter(
    "socialwork_commands_total",
    "Commands handled, by command type and outcome (accepted, duplicate, refused, conflict)",
    ["command", "outcome"],
    registry=REGISTRY,
)
REFUSED_REQUESTS = Counter(
    "socialwork_refused_requests_total",
    "Requests refused at the edge, by status (401 unauthenticated, 403 forbidden, 429 too many "
    "failed authentications) and route template; each is also logged as security.refused",
    ["status", "route"],
    registry=REGISTRY,
)
APPEND_SECONDS = Histogram(
    "socialwork_event_append_seconds",
    "Time to append a command's events to the event store (one transaction)",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DEAD_LETTERS = Counter(
    "socialwork_dead_letters_total",
    "Messages sent to the dead-letter topic, by consumer",
    ["consumer"],
    registry=REGISTRY,
)
EVENTS_APPLIED = Counter(
    "socialwork_consumer_events_applied_total",
    "Events applied by a consumer (after de-duplication)",
    ["consumer"],
    registry=REGISTRY,
)
PARKED_EVENTS = Counter(
    "socialwork_relay_parked_events_total",
    "Events the relay could not publish (refused by Kafka, e.g. too large), parked under /admin",
    ["topic"],
    registry=REGISTRY,
)
PARKED_RECORDS = Counter(
    "socialwork_consumer_parked_records_total",
    "Records a consumer parked because an earlier version of their stream had not arrived",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_RETRIES = Counter(
    "socialwork_consumer_retries_total",
    "Batches or records retried after a transient database or connection error",
    ["consumer"],
    registry=REGISTRY,
)
OFFSET_GAPS = Counter(
    "socialwork_consumer_offset_gaps_total",
    "Times a consumer received a record past its checkpoint and went back for the rest",
    ["consumer"],
    registry=REGISTRY,
)
STORE_POSITION = Gauge(
    "socialwork_store_position", "Highest global position in the event store", registry=REGISTRY
)
PUBLISHED_POSITION = Gauge(
    "socialwork_relay_published_position",
    "Highest position the relay has published to Kafka (this instance, when leader)",
    registry=REGISTRY,
)
RELAY_LAG = Gauge(
    "socialwork_relay_lag_events",
    "Events committed after the relay's checkpoint (not yet on Kafka)",
    registry=REGISTRY,
)
RELAY_LEADER = Gauge(
    "socialwork_relay_leader", "1 if this instance's relay holds the leader lock", registry=REGISTRY
)
CONSUMER_POSITION = Gauge(
    "socialwork_consumer_position",
    "Next offset a consumer will apply (its projection position), per topic and partition",
    ["consumer", "topic", "partition"],
    registry=REGISTRY,
)
CONSUMER_ASSIGNED = Gauge(
    "socialwork_consumer_assigned_partitions",
    "Partitions assigned to this instance's consumer (the group shares them among instances)",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "socialwork_consumer_lag_messages",
    "Messages on the partition not yet applied by the consumer",
    ["consumer", "topic", "partition"],
    registry=REGISTRY,
)


async def refresh(runtime: Runtime) -> None:
    """Read positions and lags for one scrape."""
    head = await runtime.store.head_position()
    STORE_POSITION.set(head)
    relay = runtime.relay
    if relay is not None:
        published = await runtime.store.checkpoint(relay.checkpoint_name)
        PUBLISHED_POSITION.set(published.position)
        RELAY_LAG.set(await runtime.store.count_after(published))
        RELAY_LEADER.set(1 if relay.is_leader else 0)
    for consumer in runtime.consumers:
        name = consumer.projection.name
        kafka = consumer.subscriber.consumer
        # Lag is known only for partitions assigned to this instance (others belong to a peer).
        assigned = kafka.assignment() if kafka is not None else set()
        CONSUMER_ASSIGNED.labels(name).set(len(assigned))
        for (topic, partition), next_offset in (await consumer.checkpoints()).items():
            CONSUMER_POSITION.labels(name, topic, str(partition)).set(next_offset)
            tp = TopicPartition(topic, partition)
            if kafka is None or tp not in assigned:
                continue
            highwater = kafka.highwater(tp)
            if highwater is not None:
                CONSUMER_LAG.labels(name, topic, str(partition)).set(
                    max(highwater - next_offset, 0)
                )


# Issue 10: metrics name routes, consumers and lags, so only the scraper may read them. A shared
# token (METRICS_TOKEN), not a user's JWT: Prometheus sends a fixed bearer token from a file.
_scraper = HTTPBearer(
    scheme_name="MetricsToken",
    auto_error=False,
    description="The METRICS_TOKEN of the service (docs/operations.md)",
)


def check_metrics_token(
    expected: SecretStr | None, credentials: HTTPAuthorizationCredentials | None
) -> None:
    """Raise Unauthenticated unless the credentials are the configured metrics token."""
    if expected is None:
        raise Unauthenticated("metrics are closed: METRICS_TOKEN is not set")
    if credentials is None:
        raise Unauthenticated("missing bearer token (METRICS_TOKEN)")
    given = credentials.credentials.encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected.get_secret_value().encode()):
        raise Unauthenticated("wrong metrics token")


def install_metrics(app: FastAPI, runtime: Callable[[], Runtime | None]) -> None:
    def scraper(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scraper)],
    ) -> None:
        current = runtime()
        check_metrics_token(
            current.settings.metrics_token if current is not None else None, credentials
        )

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics (bearer METRICS_TOKEN)",
        dependencies=[Depends(scraper)],
    )
    async def metrics() -> Response:
        current = runtime()
        if current is not None:
            await refresh(current)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
