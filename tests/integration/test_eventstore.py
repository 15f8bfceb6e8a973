"""The shared event store on the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import random
import uuid

import asyncpg
import pytest

from servicekit.eventstore import (
    START,
    ConcurrencyConflict,
    EventStore,
    IdempotencyKeyReused,
    StaleTransaction,
)
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra
STORE_SCHEMA = "teststore"  # the `store` fixture's schema (tests/integration/conftest.py)
STORE_POOL_SIZE = 20


async def test_append_and_read_a_stream(store: EventStore) -> None:
    first = await store.append("s-1", [staff_event("s-1", 3)], expected_version=0)
    second = await store.append(
        "s-1", [staff_event("s-1", 4), staff_event("s-1", 5)], expected_version=1
    )
    assert (first.stream_version, second.stream_version) == (1, 3)
    events = await store.read_stream("s-1")
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.data["full_time_staff"] for e in events] == [3, 4, 5]
    assert events[0].actor == "tester" and events[0].correlation_id == "corr-test"
    assert events[0].recorded_at >= events[0].occurred_at


async def test_wrong_expected_version_is_a_conflict_and_stores_nothing(store: EventStore) -> None:
    await store.append("s-2", [staff_event("s-2")], expected_version=0)
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append("s-2", [staff_event("s-2")], expected_version=0)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert len(await store.read_stream("s-2")) == 1


async def test_concurrent_writers_on_one_stream_one_wins(store: EventStore) -> None:
    results = await asyncio.gather(
        *(store.append("s-race", [staff_event("s-race")], expected_version=0) for _ in range(8)),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(conflicts) == 7
    assert len(await store.read_stream("s-race")) == 1


async def test_same_command_twice_returns_the_original_result(store: EventStore) -> None:
    first = await store.append(
        "s-3", [staff_event("s-3")], expected_version=0, command_id="cmd-1", command_hash="h"
    )
    again = await store.append(
        "s-3", [staff_event("s-3")], expected_version=0, command_id="cmd-1", command_hash="h"
    )
    assert again.duplicate and not first.duplicate
    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert len(await store.read_stream("s-3")) == 1


async def test_same_command_id_with_another_body_is_refused(store: EventStore) -> None:
    await store.append(
        "s-4", [staff_event("s-4")], expected_version=0, command_id="c", command_hash="a"
    )
    with pytest.raises(IdempotencyKeyReused):
        await store.append(
            "s-4", [staff_event("s-4")], expected_version=1, command_id="c", command_hash="b"
        )


async def test_same_event_id_twice_is_not_duplicated(store: EventStore) -> None:
    event = staff_event("s-5")
    await store.append("s-5", [event], expected_version=None)
    again = await store.append("s-5", [event], expected_version=None)
    assert again.duplicate
    assert len(await store.read_stream("s-5")) == 1


async def test_events_cannot_be_edited_or_deleted(store: EventStore) -> None:
    await store.append("s-6", [staff_event("s-6")], expected_version=0)
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute("UPDATE teststore.events SET actor = 'mallory'")
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute("DELETE FROM teststore.events")


async def test_tailing_reader_never_skips_a_late_commit(store: EventStore) -> None:
    """Writers race while a reader follows the log; the reader must see every event.

    Writers take no store-wide lock, so a transaction that wrote first may commit last, and a
    reader moving past the rows it saw would skip it. Each writer lingers a random moment inside
    its transaction after writing (through the inline hook) to force that case; the bound on
    running transactions in `read_all` is what makes the reader wait instead.
    """
    writers, per_writer = 8, 40
    seen: list[int] = []

    async def tail() -> None:
        last = START
        while len(seen) < writers * per_writer:
            batch = await store.read_all(last, 100)
            for event in batch:
                assert event.log_position > last
                seen.append(event.position)
                last = event.log_position
            await asyncio.sleep(0)

    async def linger(_conn: object, _events: object) -> None:
        await asyncio.sleep(random.random() * 0.004)

    async def write(w: int) -> None:
        for i in range(per_writer):
            stream = f"w{w}-{i % 5}"
            await store.append(stream, [staff_event(stream)], expected_version=None, inline=linger)

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(write(w) for w in range(writers)))
    await asyncio.wait_for(reader, 30)
    stored = [e.position for e in await store.read_all(START, 100_000)]
    assert len(stored) == writers * per_writer
    assert seen == stored, "the tailing reader skipped or reordered events"


async def test_writers_do_not_wait_for_each_other(store: EventStore) -> None:
    """No store-wide lock: a second writer commits while the first is still open."""
    async with store.pool.acquire() as conn, conn.transaction():
        await store.append("slow", [staff_event("slow")], expected_version=0, conn=conn)
        fast = await asyncio.wait_for(
            store.append("fast", [staff_event("fast")], expected_version=0), 2
        )
        assert fast.stream_version == 1
        # The slow writer's transaction is still running: a reader waits for it, so the fast
        # event, written later, is not yet readable either.
        assert await store.read_all(START, 10) == []

    # Once it commits, both are readable in log order (as soon as no older transaction of the
    # cluster is still running).
    async def both() -> list[str] | None:
        ids = [e.stream_id for e in await store.read_all(START, 10)]
        return ids if len(ids) == 2 else None

    assert await wait_for(both) == ["slow", "fast"]


async def test_concurrent_appends_to_one_stream_conflict_or_wait_never_fork(
    store: EventStore,
) -> None:
    """The unique (stream, version) constraint decides: one wins, the other is told."""
    await store.append("race", [staff_event("race")], expected_version=0)
    results = await asyncio.gather(
        *(store.append("race", [staff_event("race")], expected_version=1) for _ in range(6)),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert all(isinstance(r, ConcurrencyConflict) for r in results if r not in wins)
    versions = [e.stream_version for e in await store.read_stream("race")]
    assert versions == [1, 2]


async def test_read_all_pages_in_position_order(store: EventStore) -> None:
    for i in range(5):
        await store.append(f"p-{i}", [staff_event(f"p-{i}")], expected_version=0)
    first = await store.read_all(START, 2)
    rest = await store.read_all(first[-1].log_position, 10)
    assert [e.stream_id for e in first + rest] == [f"p-{i}" for i in range(5)]
    assert await store.head_position() == rest[-1].position
    assert uuid.UUID(str(first[0].event_id))


async def test_append_joins_the_callers_transaction(store: EventStore) -> None:
    class Abort(Exception):
        pass

    async def append_then_abort() -> None:
        async with store.pool.acquire() as conn, conn.transaction():
            await store.append("j-1", [staff_event("j-1")], expected_version=0, conn=conn)
            raise Abort

    with pytest.raises(Abort):
        await append_then_abort()
    assert await store.read_stream("j-1") == []
    async with store.pool.acquire() as conn, conn.transaction():
        await store.append("j-1", [staff_event("j-1")], expected_version=0, conn=conn)
    assert len(await store.read_stream("j-1")) == 1


async def test_a_stored_v1_event_reads_as_v2(store: EventStore) -> None:
    """An AgencyRegistered written by an older build (v1, one `locality`) loads as v2."""
    from socialwork_contracts.registry import AgencyRegistered

    v1 = {
        "uscc": "52410105MJ0000001X",
        "name": "郑州市金水区老版本社会工作服务中心",
        "kind": "service_agency",
        "locality": "jinshui",
        "address": "金水区",
        "legal_representative": "王芳",
        "charter_purpose": "社会工作",
        "charter_scope": "社区",
        "charter_method": "个案",
        "full_time_staff": 3,
        "qualified_staff": 1,
        "service_fields": ["community_service"],
        "target_groups": ["elderly"],
        "priority": True,
        "registered_on": "2018-06-01",
    }
    async with store.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO teststore.events (position, event_id, stream_id, stream_version,
                   event_type, event_version, data, occurred_at, recorded_at, actor, actor_role,
                   correlation_id, causation_id)
               VALUES (nextval('teststore.event_position'), $1, 'old-1', 1, 'AgencyRegistered',
                   1, $2, now(), now(), 'legacy', 'city_admin', 'c', 'c')""",
            uuid.uuid4(),
            v1,
        )
    [stored] = await store.read_stream("old-1")
    assert stored.event_version == 1
    event = stored.load()
    assert isinstance(event, AgencyRegistered)
    assert (event.reporting_unit, event.county_code) == ("jinshui", "410105")


async def test_a_transaction_older_than_the_streams_last_event_must_run_again(
    store: EventStore,
) -> None:
    """Readers order the log by writing transaction: an append by a transaction that began
    writing before the stream's last event would be read before it, so it is refused."""
    await store.append("old", [staff_event("old")], expected_version=0)
    async with store.pool.acquire() as conn, conn.transaction():
        await store.append(
            "first-write", [staff_event("first-write")], expected_version=0, conn=conn
        )
        await store.append("old", [staff_event("old")], expected_version=1)  # a newer transaction
        with pytest.raises(StaleTransaction):
            await store.append("old", [staff_event("old")], expected_version=2, conn=conn)


async def test_a_stream_loaded_by_an_older_transaction_is_not_appended_to(
    store: EventStore,
) -> None:
    """The same rule when the command's load did the append's checks (issue 12): the load
    notes that this transaction is older than the stream's last event, and the append refuses."""
    await store.append("old-l", [staff_event("old-l")], expected_version=0)
    async with store.pool.acquire() as conn, conn.transaction():
        await store.append("first-l", [staff_event("first-l")], expected_version=0, conn=conn)
        await store.append("old-l", [staff_event("old-l")], expected_version=1)  # newer
        loaded = await store.load("old-l", conn=conn)
        assert loaded.version == 2 and loaded.stale
        with pytest.raises(StaleTransaction):
            await store.append(
                "old-l", [staff_event("old-l")], expected_version=2, conn=conn, loaded=loaded
            )
    assert len(await store.read_stream("old-l")) == 2


async def test_a_load_holds_appends_back_from_a_rebuild(store: EventStore) -> None:
    """A load in a transaction takes the append hold: a rebuild (hold_appends) waits for it."""
    async with store.pool.acquire() as conn, conn.transaction():
        await store.load("held", conn=conn)
        async with store.pool.acquire() as rebuild, rebuild.transaction():
            await rebuild.execute("SET LOCAL lock_timeout = '100ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await store.hold_appends(rebuild)
