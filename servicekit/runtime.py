"""A service's process resources, made in its lifespan and passed explicitly (none at import)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from socialwork_contracts.topics import EVENT_TOPICS, TopicSpec, consumed_by, dead_letter_topic

from servicekit import stalls
from servicekit.auth import TokenSettings, token_settings_from
from servicekit.consumer import EventConsumer, Projection
from servicekit.dead_letters import DeadLetterPublisher
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.group_commit import GroupCommit
from servicekit.kafka_admin import ensure_topics
from servicekit.kafka_security import kafka_security
from servicekit.relay import OutboxRelay, make_producer
from servicekit.settings import ServiceSettings

log = structlog.get_logger()
# How long a start waits for the pool's connections beyond its first (a connect takes ~20 ms).
POOL_OPEN_SECONDS = 5.0


@dataclass
class Runtime:
    """Pool, store, producer, relay and (for consuming services) the FastStream broker."""

    settings: ServiceSettings
    service: str
    pool: asyncpg.Pool
    store: EventStore
    producer: AIOKafkaProducer
    relay: OutboxRelay | None
    broker: KafkaBroker
    installation_id: str
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    consumers: list[EventConsumer] = field(default_factory=list)
    # Set while the service must not take traffic (e.g. a view is being rebuilt in place).
    busy: bool = False
    # Consumers whose view is rebuilt into a new generation while the current one keeps serving
    # (by name): the operator's rebuild runs this instead of emptying the view in place.
    rebuilders: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)
    # A service's own readiness checks by name (reporting: its today's state held).
    readiness: dict[str, Callable[[], bool]] = field(default_factory=dict)

    @functools.cached_property
    def token_settings(self) -> TokenSettings:
        """Made once: the JWKS key cache inside it must outlive a request."""
        return token_settings_from(self.settings)

    @functools.cached_property
    def commits(self) -> GroupCommit:
        """The HTTP commands' group commit: concurrent commands share a transaction."""
        return GroupCommit(
            self.pool,
            max_group=self.settings.command_group_max,
            lanes=self.settings.command_group_lanes,
        )

    async def ready(self) -> dict[str, bool]:
        """Readiness: the database answers, and every consumer has joined its group once (a
        record produced now is applied without waiting for a join; a later rebalance or a broker
        outage does not take readiness back). The broker is reported, not required: while Kafka
        is away commands are still accepted and wait in the outbox (relay lag is a metric)."""
        checks = {"database": False}
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2)
            checks["database"] = True
        if self.consumers:
            checks["consuming"] = all(consumer.joined for consumer in self.consumers)
        checks.update((name, check()) for name, check in self.readiness.items())
        return checks

    async def broker_reachable(self) -> bool:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
            return True
        return False


async def open_pool(pool: asyncpg.Pool) -> None:
    """Open the pool's connections now, before anything holds one, so the first burst of
    requests does not wait on connects (issue 12: the load's first second, at 200 commands/s).

    Best effort: a PostgreSQL that refuses some (at its max_connections, or the role's limit)
    leaves the service to start with fewer, as it would have run. Those above the pool's floor
    close after asyncpg's five idle minutes, so a quiet instance does not hold them.
    """
    of = pool.get_max_size()
    held = await asyncio.gather(
        *(pool.acquire(timeout=POOL_OPEN_SECONDS) for _ in range(of)), return_exceptions=True
    )
    refused = [h for h in held if isinstance(h, BaseException)]
    for conn in held:
        if not isinstance(conn, BaseException):
            await pool.release(conn)
    if refused:
        reason = f"{type(refused[0]).__name__}: {refused[0]}"
        log.warning("pool.opened_in_part", opened=of - len(refused), of=of, reason=reason)


def bootstrap_list(servers: str) -> list[str]:
    """`a:1, b:2` as a list: FastStream takes a string as one address (aiokafka splits it)."""
    return [server.strip() for server in servers.split(",") if server.strip()]


async def start_runtime(
    settings: ServiceSettings, *, service: str, publishes: TopicSpec | None
) -> Runtime:
    """Create the schema and topics, connect, and start the relay if the service publishes."""
    security = kafka_security(settings)  # every Kafka client below authenticates as the service
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [(t.name, t.partitions) for t in EVENT_TOPICS] + [(dead_letter_topic(service), 1)],
        replication_factor=settings.kafka_replication_factor,
        min_insync_replicas=settings.kafka_min_insync_replicas,
        security=security,
    )
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
    await open_pool(pool)
    store = EventStore(pool, service)
    await store.create_schema()
    producer = make_producer(settings.kafka_bootstrap_servers, security)
    await producer.start()
    broker = KafkaBroker(
        bootstrap_list(settings.kafka_bootstrap_servers),
        security=security.faststream(),
        logger=None,
    )
    relay = None
    if publishes is not None:
        relay = OutboxRelay(
            store,
            producer,
            producer_name=publishes.producer,
            topic=publishes.name,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
        )
    installation = await store.installation_id()
    runtime = Runtime(settings, service, pool, store, producer, relay, broker, installation)
    if relay is not None:
        runtime.tasks.append(asyncio.create_task(relay.run(runtime.stop_event)))
    runtime.tasks.append(asyncio.create_task(stalls.watch_loop(runtime.stop_event)))
    stalls.watch_gc()
    log.info("runtime.started", service=service)
    return runtime


def add_consumer(runtime: Runtime, projection: Projection) -> EventConsumer:
    """Subscribe a projection (its own consumer group and checkpoints) on the service's broker.

    Call before `start_consumers`. Bad messages go to the store's `dead_letters` table, and from
    there to `socialwork.<service>.deadletter` (servicekit.dead_letters). The
    Kafka group is `<projection name>.<store id>`: instances of one service on one database share
    it (and split the partitions); another database never inherits its members or offsets.
    """
    # The broker's ACLs grant what the contract declares (servicekit.kafka_access): say so here
    # rather than as an authorization error from the broker later.
    undeclared = set(projection.topics) - {t.name for t in consumed_by(runtime.service)}
    if undeclared or not projection.name.startswith(f"{runtime.service}."):
        raise ValueError(
            f"{runtime.service}: projection {projection.name} must be named {runtime.service}.… "
            f"and fold only the topics its ServiceSpec.consumes names "
            f"(undeclared: {sorted(undeclared)})"
        )
    consumer = EventConsumer(
        broker=runtime.broker,
        pool=runtime.pool,
        schema=runtime.store.schema,
        projection=projection,
        group_id=f"{projection.name}.{runtime.installation_id[:8]}",
        fetch_max_wait_ms=runtime.settings.consumer_fetch_max_wait_ms,
        fetch_min_bytes=runtime.settings.consumer_fetch_min_bytes,
        offset_commit_ms=runtime.settings.consumer_offset_commit_ms,
        batch_interval_ms=runtime.settings.consumer_batch_interval_ms,
    )
    runtime.consumers.append(consumer)
    return consumer


async def start_consumers(runtime: Runtime) -> None:
    """Start the broker once the service has registered its subscribers on it, then their
    loops."""
    if runtime.consumers:
        publisher = DeadLetterPublisher(
            runtime.pool,
            runtime.producer,
            schema=runtime.store.schema,
            topic=dead_letter_topic(runtime.service),
        )
        runtime.tasks.append(asyncio.create_task(publisher.run(runtime.stop_event)))
        for consumer in runtime.consumers:
            runtime.tasks.append(asyncio.create_task(consumer.watch_epoch(runtime.stop_event)))
        await runtime.broker.start()
        for consumer in runtime.consumers:
            consumer.start()


async def stop_runtime(runtime: Runtime) -> None:
    """Graceful stop: consumers first, then the relay finishes its batch, then connections."""
    for consumer in runtime.consumers:
        await consumer.stop()
    await runtime.broker.stop()
    runtime.stop_event.set()
    if runtime.tasks:
        await asyncio.wait(runtime.tasks, timeout=15)
    await runtime.producer.stop()
    await runtime.pool.close()
    log.info("runtime.stopped", service=runtime.service)
