"""The relay reads its next batch while Kafka acknowledges the current one (issue 12), and still
saves each checkpoint only after its batch was acknowledged, in log order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from asyncpg.transaction import Transaction

from servicekit import leadership
from servicekit import relay as relay_module
from servicekit.eventstore import EventStore, LogPosition
from servicekit.kafka_admin import ensure_topics
from servicekit.metrics import REGISTRY
from servicekit.relay import OutboxRelay
from tests.conftest import Infra
from tests.integration.kafka_reader import read_until
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra
STORE_SCHEMA = "relaypipe"  # the `store` fixture's schema (tests/integration/conftest.py)


async def test_the_next_batch_is_read_before_the_current_checkpoint_is_saved(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    for i in range(25):
        await store.append(f"p-{i}", [staff_event(f"p-{i}")], expected_version=0)
    steps: list[tuple[str, int]] = []
    read_log, advance = store.read_log, store.advance_checkpoint

    async def reading(columns: str, after: LogPosition, limit: int, **kw: Any) -> Any:
        steps.append(("read", after.position))
        return await read_log(columns, after, limit, **kw)

    async def saving(conn: Any, name: str, to: LogPosition) -> bool:
        steps.append(("checkpoint", to.position))
        return await advance(conn, name, to)

    monkeypatch.setattr(store, "read_log", reading)
    monkeypatch.setattr(store, "advance_checkpoint", saving)
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, batch_size=10)
    async with store.pool.acquire() as conn:
        counts = [await relay.publish_batch(conn) for _ in range(4)]
    assert counts == [10, 10, 5, 0]
    # batch 1 read; batch 2 read before batch 1's checkpoint; and so on: reads overlap sends.
    assert steps[:3] == [("read", 0), ("read", 10), ("checkpoint", 10)]
    # The batch of 5 was not full: it had read the whole log, so none was read ahead of it.
    assert [s for s in steps if s[0] == "read"] == [("read", p) for p in (0, 10, 20, 25)]
    assert [s for s in steps if s[0] == "checkpoint"] == [
        ("checkpoint", 10),
        ("checkpoint", 20),
        ("checkpoint", 25),
    ]
    records = await read_until(infra.kafka, topic, lambda r: True, count=25)
    assert sorted(json.loads(r.value)["position"] for r in records) == list(range(1, 26))


async def test_every_query_of_a_batch_reads_the_log_in_index_order(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    """A read of the next batch must not sort the whole unpublished log (issue 12: ordering by
    the selected `transaction_id::text::bigint` sorted every row after the checkpoint, per
    batch: a backlog of n events cost the relay O(n²))."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    for i in range(30):
        await store.append(f"q-{i}", [staff_event(f"q-{i}")], expected_version=0)
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, batch_size=10)
    queries: list[tuple[str, tuple[Any, ...]]] = []
    async with store.pool.acquire() as conn:
        with conn.query_logger(lambda q: queries.append((q.query, tuple(q.args)))):
            assert await relay.publish_batch(conn) == 10
            assert await relay.publish_batch(conn) == 10
        reads = [(q, a) for q, a in queries if q.lstrip().upper().startswith("SELECT")]
        assert any(".events" in q for q, _ in reads)
        # The planner may choose anything for 30 rows: make a sort its last resort.
        await conn.execute("SET enable_seqscan = off; SET enable_sort = off")
        for query, args in reads:
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query}", *args)
            assert "Sort" not in plan, (query, plan)


async def test_commits_that_follow_a_short_batch_gather_into_one_batch(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each group commit wakes the relay; a batch per wake-up cost its reads, checkpoint and
    Kafka request for a handful of events (issue 12). After a batch that was not full the
    relay lets the next commits gather, and publishes them together, each once."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, gather_seconds=3)
    batches: list[int] = []
    publish = relay.publish_batch

    async def counted(conn: Any) -> int:
        published = await publish(conn)
        if published:
            batches.append(published)
        return published

    monkeypatch.setattr(relay, "publish_batch", counted)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _leading(relay))
        for i in range(5):  # five commits, five wake-ups
            await store.append(f"w-{i}", [staff_event(f"w-{i}")], expected_version=0)

        async def checkpointed() -> bool:
            return (await store.checkpoint(relay.checkpoint_name)).position == 5

        await wait_for(checkpointed)
        assert batches == [5]
        records = await read_until(infra.kafka, topic, lambda r: True, count=5)
        assert sorted(json.loads(r.value)["position"] for r in records) == list(range(1, 6))
    finally:
        stop.set()
        await task


async def test_each_published_batch_is_counted(
    store: EventStore, producer: AIOKafkaProducer, infra: Infra
) -> None:
    """socialwork_relay_batches_total: events published ÷ batches tells how well commits gather
    (issue 12: the write benchmark reads it per round)."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 2)])
    for i in range(15):
        await store.append(f"c-{i}", [staff_event(f"c-{i}")], expected_version=0)
    relay = OutboxRelay(store, producer, producer_name="registry", topic=topic, batch_size=10)
    async with store.pool.acquire() as conn:
        assert [await relay.publish_batch(conn) for _ in range(3)] == [10, 5, 0]
    counted = REGISTRY.get_sample_value("socialwork_relay_batches_total", {"topic": topic})
    assert counted == 2


async def _leading(relay: OutboxRelay) -> bool:
    return relay.is_leader


@pytest.fixture
async def polling_relay(store: EventStore, producer: AIOKafkaProducer, infra: Infra) -> OutboxRelay:
    """A relay of a new topic whose poll (30 s) no test waits for."""
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka, [(topic, 1)])
    return OutboxRelay(store, producer, producer_name="registry", topic=topic, poll_seconds=30)


@contextlib.asynccontextmanager
async def held_back(
    relay: OutboxRelay, database_url: str, stream: str
) -> AsyncIterator[Transaction]:
    """The relay running, leading, and an event of `stream` committed behind an older
    transaction that holds an id (so the horizon) until the caller ends it."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    older = await asyncpg.connect(database_url)
    try:
        await wait_for(lambda: _leading(relay))
        held = older.transaction()
        await held.start()
        await older.fetchval("SELECT pg_current_xact_id()")  # it has an id: it holds the horizon
        await relay.store.append(stream, [staff_event(stream)], expected_version=0)
        yield held
    finally:
        await older.close()
        stop.set()
        await task


async def published_one(relay: OutboxRelay) -> bool:
    return (await relay.store.checkpoint(relay.checkpoint_name)).position == 1


async def test_events_held_back_by_an_older_transaction_go_out_when_it_ends_without_a_commit(
    polling_relay: OutboxRelay, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay takes only events below the oldest transaction still running anywhere in the
    database (a commit that lands late is waited for, never skipped). An event committed while
    an older transaction (here an unrelated one; in production another service's consumer
    batch) runs is left for later, and when that transaction ends nothing notifies the relay:
    it waited for the next commit of its own store or its poll (500 ms by default: the tail of
    visibility at 200 commands/s, issue 12). It now looks again soon while events wait."""
    relay = polling_relay
    committed = asyncio.Event()  # the event's append returned
    empty_reads: list[bool] = []  # reads that took nothing: begun after the commit?
    publish = relay.publish_batch

    async def counted(conn: Any) -> int:
        after_commit = committed.is_set()
        published = await publish(conn)
        if not published:
            empty_reads.append(after_commit)
        return published

    monkeypatch.setattr(relay, "publish_batch", counted)
    async with held_back(relay, database_url, "held-1") as held:
        committed.set()

        async def relay_woke() -> bool:  # the commit's notification: a read, nothing taken
            return any(empty_reads)

        await wait_for(relay_woke)
        assert not await published_one(relay)
        await held.rollback()
        await wait_for(lambda: published_one(relay), timeout=5)  # not the 30 s poll


async def test_events_held_back_are_looked_for_again_at_a_short_steady_interval(
    polling_relay: OutboxRelay, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While committed events wait behind an older transaction, the relay looked again after
    10 ms, doubling up to its poll: a transaction that held them 320 ms made them wait 630
    (bench_visible at 200/s: the relay's part p99 506 ms). The interval now stops at 40 ms, so
    an event goes out at most 40 ms after the transaction that held it back ends; the look is
    one EXISTS on the log's index."""
    relay = polling_relay
    waits: list[float] = []
    wait = leadership.wait  # what the relay calls

    async def recorded(stop: asyncio.Event, seconds: float) -> None:
        waits.append(seconds)
        await wait(stop, seconds)  # the relay's own wait, noted

    monkeypatch.setattr(relay_module, "wait", recorded)
    async with held_back(relay, database_url, "held-2") as held:
        waits.clear()

        async def looked_often() -> bool:
            return len(waits) >= 8

        await wait_for(looked_often)
        await held.rollback()
        await wait_for(lambda: published_one(relay), timeout=5)
        assert max(waits) <= 0.04, waits


async def test_a_stop_ends_an_idle_relay_at_once(polling_relay: OutboxRelay) -> None:
    """An idle relay waited for a commit's notification or its whole poll, and a stop did not
    end that wait: a service's shutdown (and each test here) took up to the poll (30 s)."""
    stop = asyncio.Event()
    task = asyncio.create_task(polling_relay.run(stop))
    await wait_for(lambda: _leading(polling_relay))
    await wait_for(lambda: _idle(polling_relay))
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def _idle(relay: OutboxRelay) -> bool:
    """Published what there was (nothing) and waits: its checkpoint is read, no event after."""
    return relay.published is not None and not await relay.store.any_after(relay.published)
