"""Fixtures shared by the integration tests of the event store and the relay."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaProducer
from devstack.postgres import PostgresProcess

from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.relay import make_producer
from tests.conftest import Infra
from tests.support import own_postgres


@pytest.fixture
async def store(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[EventStore]:
    """An event store in the test module's own schema (`STORE_SCHEMA`, which its SQL names), so
    one module's events and relay checkpoints never reach another's."""
    size: int = getattr(request.module, "STORE_POOL_SIZE", 10)
    pool = await create_pool(database_url, max_size=size)
    store = EventStore(pool, request.module.STORE_SCHEMA)
    await store.create_schema()
    yield store
    await pool.close()


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    """The producer the relay uses (`make_producer`: idempotent, the partitioner set)."""
    producer = make_producer(infra.kafka)
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
def crashing_postgres() -> Iterator[PostgresProcess]:
    """A server of the test's own, which it stops in immediate mode (a crash)."""
    with own_postgres("socialwork-crash-") as server:
        yield server
