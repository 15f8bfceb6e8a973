"""The /metrics endpoint: positions and lags read at scrape time, for the scraper's token only."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from aiokafka import TopicPartition
from fastapi import Depends, FastAPI, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from servicekit.auth import Unauthenticated
from servicekit.metrics import (
    CONSUMER_ASSIGNED,
    CONSUMER_LAG,
    CONSUMER_POSITION,
    PUBLISHED_POSITION,
    REGISTRY,
    RELAY_LAG,
    RELAY_LEADER,
    STORE_POSITION,
)
from servicekit.runtime import Runtime


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
