"""A store's relay waits only for transactions that could write its events (issue 12).

The relay takes events below the oldest transaction still running, so that a commit landing
late in the log is waited for, never skipped. It counted every transaction of the whole
PostgreSQL cluster: another service's consumer batch, reporting's index build during a replay,
or an operator's transaction left open in psql held back every service's publishing, for as
long as it ran. Now a transaction counts only if its role may insert into the store's events
(the service's own role, a role that can SET ROLE to it, a superuser): the others cannot write
there, so none of their ids can precede an event of this store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool, init_connection
from servicekit.kafka_admin import ensure_topics
from servicekit.relay import OutboxRelay
from tests.conftest import Infra, as_role, drop_roles
from tests.integration.kafka_reader import read_until
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def relay(
    database_url: str, service_roles: dict[str, str], producer: AIOKafkaProducer, infra: Infra
) -> AsyncIterator[OutboxRelay]:
    """The registry's store, connected as the registry's own role, and its relay running on a
    new topic of one partition (its poll, 30 s, no test waits for)."""
    pool = await create_pool(as_role(database_url, service_roles["registry"]))
    store = EventStore(pool, "registry")
    await store.create_schema()
    topic = f"test.horizon.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, poll_seconds=30)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _leading(relay))
        yield relay
    finally:
        stop.set()
        await task
        await pool.close()


async def _leading(relay: OutboxRelay) -> bool:
    return relay.is_leader


async def published_all(relay: OutboxRelay) -> bool:
    """The relay's checkpoint is past every committed event (none left after it)."""
    checkpoint = await relay.store.checkpoint(relay.checkpoint_name)
    return checkpoint.position > 0 and await relay.store.count_after(checkpoint) == 0


@contextlib.asynccontextmanager
async def holding_an_id(url: str, *statements: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction that holds an id (the horizon, as the cluster sees it)."""
    conn = await asyncpg.connect(url)
    await init_connection(conn)  # the store's codecs, to append on it
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
            await conn.fetchval("SELECT pg_current_xact_id()")
            yield conn
    finally:
        await conn.close()


async def test_a_transaction_of_a_role_that_cannot_write_the_store_holds_back_none_of_its_events(
    relay: OutboxRelay, database_url: str, service_roles: dict[str, str]
) -> None:
    """Another service's transaction runs, holding an id, while the registry appends: the
    registry's event goes out at once (before: not until that transaction ended)."""
    incubation = as_role(database_url, service_roles["incubation"])
    async with holding_an_id(incubation):
        await relay.store.append("h-1", [staff_event("h-1")], expected_version=0)
        await wait_for(lambda: published_all(relay), timeout=5)


@pytest.fixture
async def member_role(database_url: str, service_roles: dict[str, str]) -> AsyncIterator[str]:
    """A role that inherits nothing but may SET ROLE to the registry's (an operator's)."""
    name = f"t{uuid.uuid4().hex[:8]}_operator"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE ROLE "{name}" LOGIN NOINHERIT')
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"')
        await conn.execute(f'GRANT "{service_roles["registry"]}" TO "{name}"')
        yield name
        await drop_roles(conn, [name])
    finally:
        await conn.close()


@pytest.mark.parametrize("writer", ["own role", "member that sets the role", "superuser"])
async def test_a_transaction_that_can_write_the_store_still_holds_back_what_follows_it(
    relay: OutboxRelay,
    database_url: str,
    service_roles: dict[str, str],
    member_role: str,
    writer: str,
    monkeypatch: pytest.MonkeyPatch,
    infra: Infra,
) -> None:
    """A writer's transaction that began first appends its event late: the event committed
    meanwhile waits for it, and both go out in log order, once each."""
    registry = service_roles["registry"]
    url, statements = {
        "own role": (as_role(database_url, registry), ()),
        "member that sets the role": (
            as_role(database_url, member_role),
            (f'SET LOCAL ROLE "{registry}"',),
        ),
        "superuser": (database_url, ()),
    }[writer]
    looked_after_commit = asyncio.Event()
    publish = relay.publish_batch

    async def noted(conn: Any) -> int:
        committed = later_committed.is_set()
        count = await publish(conn)
        if committed:
            looked_after_commit.set()
        return count

    later_committed = asyncio.Event()
    monkeypatch.setattr(relay, "publish_batch", noted)
    async with holding_an_id(url, *statements) as older:
        await relay.store.append("late", [staff_event("late")], expected_version=0, conn=older)
        await relay.store.append("early", [staff_event("early")], expected_version=0)
        later_committed.set()
        await asyncio.wait_for(looked_after_commit.wait(), timeout=5)
        assert (await relay.store.checkpoint(relay.checkpoint_name)).position == 0
    await wait_for(lambda: published_all(relay), timeout=5)
    records = await read_until(infra.kafka, relay.topic, lambda r: True, count=2)
    assert [json.loads(r.value)["subject"] for r in records] == ["late", "early"]


async def test_writers_and_other_services_interleaved_lose_and_repeat_nothing(
    relay: OutboxRelay, database_url: str, service_roles: dict[str, str], infra: Infra
) -> None:
    """Adversary: each of the registry's writers takes its id, then waits for a later writer to
    end before it appends and commits (so older ids commit after newer ones), some roll back,
    and other services' transactions hold ids until some writer ends. Every committed event is
    published exactly once, in the order of its transaction."""
    registry = as_role(database_url, service_roles["registry"])
    others = [as_role(database_url, service_roles[s]) for s in ("incubation", "reporting")]
    rng = random.Random(12)
    writers = 60
    ended = [asyncio.Event() for _ in range(writers)]
    committed: list[str] = []

    async def writer(n: int) -> None:
        stream = f"w-{n}"
        later = n + rng.randint(1, 4)  # waits only for higher numbers: no cycle
        conn = await asyncpg.connect(registry)
        await init_connection(conn)
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.fetchval("SELECT pg_current_xact_id()")
            if later < writers:
                await ended[later].wait()
            await relay.store.append(stream, [staff_event(stream)], expected_version=0, conn=conn)
            if n % 5 == 0:
                await tx.rollback()
            else:
                await tx.commit()
                committed.append(stream)
        finally:
            await conn.close()
            ended[n].set()

    async def other(url: str, until: asyncio.Event) -> None:
        async with holding_an_id(url):
            await until.wait()

    tasks = [writer(n) for n in range(writers)] + [
        other(rng.choice(others), ended[rng.randrange(writers)]) for _ in range(20)
    ]
    rng.shuffle(tasks)
    await asyncio.gather(*tasks)
    await wait_for(lambda: published_all(relay), timeout=10)
    records = await read_until(
        infra.kafka, relay.topic, lambda r: True, count=len(committed) + 1, timeout=3
    )
    subjects = [json.loads(r.value)["subject"] for r in records]
    assert sorted(subjects) == sorted(committed)  # each once, none rolled back
    rows = await relay.store.pool.fetch(
        "SELECT stream_id FROM registry.events ORDER BY transaction_id, position"
    )
    assert subjects == [r["stream_id"] for r in rows]
