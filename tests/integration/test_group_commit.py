"""Group commit (issue 12): concurrent commands share a transaction, each in its own savepoint.

A command that fails (a version conflict, a refusal) fails alone and stores nothing; the others
land exactly once; a retried command (same id) is answered from the first result even within
one group; and N concurrent commands take fewer than N commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from servicekit.db import Connection
from servicekit.eventstore import ConcurrencyConflict, EventStore
from servicekit.eventstore.records import AppendResult
from servicekit.eventstore.store import create_pool
from servicekit.group_commit import GroupCommit
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    pool = await create_pool(database_url, max_size=8)
    store = EventStore(pool, "groupstore")
    await store.create_schema()
    yield store
    await pool.close()


def appending(store: EventStore, stream: str, expected: int, command_id: str | None = None):  # type: ignore[no-untyped-def]
    async def work(conn: Connection) -> AppendResult:
        return await store.append(
            stream,
            [staff_event(stream)],
            expected_version=expected,
            command_id=command_id,
            command_hash="h" if command_id else None,
            conn=conn,
        )

    return work


async def test_concurrent_commands_share_commits_and_a_conflict_fails_alone(
    store: EventStore,
) -> None:
    await store.append("g-taken", [staff_event("g-taken")], expected_version=0)
    group = GroupCommit(store.pool)
    works = [appending(store, f"g-{n}", 0) for n in range(30)]
    works.insert(15, appending(store, "g-taken", 0))  # stale: the stream is at version 1
    results = await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)

    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], ConcurrencyConflict)
    assert isinstance(results[15], ConcurrencyConflict)
    for n in range(30):
        assert len(await store.read_stream(f"g-{n}")) == 1
    assert len(await store.read_stream("g-taken")) == 1
    transactions = await store.pool.fetchval(
        "SELECT count(DISTINCT transaction_id) FROM groupstore.events WHERE stream_id LIKE 'g-%' "
        "AND stream_id <> 'g-taken'"
    )
    assert transactions < 30
    assert group.commits < 30


async def test_a_retry_in_the_same_group_is_answered_from_the_first(store: EventStore) -> None:
    group = GroupCommit(store.pool)
    first, again = await asyncio.gather(
        group.run(appending(store, "g-retry", 0, "cmd-r")),
        group.run(appending(store, "g-retry", 0, "cmd-r")),
    )
    assert not first.duplicate and again.duplicate
    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert len(await store.read_stream("g-retry")) == 1


async def test_a_refusal_rolls_back_only_its_own_writes(store: EventStore) -> None:
    group = GroupCommit(store.pool)

    async def refused(conn: Connection) -> None:
        await appending(store, "g-refused", 0)(conn)
        raise ValueError("refused after writing")

    outcomes = await asyncio.gather(
        group.run(appending(store, "g-a", 0)),
        group.run(refused),
        group.run(appending(store, "g-b", 0)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ValueError)
    assert await store.read_stream("g-refused") == []
    assert len(await store.read_stream("g-a")) == len(await store.read_stream("g-b")) == 1


async def test_a_command_that_loses_a_race_is_answered_from_the_winner(store: EventStore) -> None:
    """Another transaction appends the same command first and commits while the group's insert
    waits on the unique index: the command is run again and answered as a duplicate, once."""
    group = GroupCommit(store.pool)
    async with store.pool.acquire() as rival:
        transaction = rival.transaction()
        await transaction.start()
        winner = await appending(store, "g-race", 0, "cmd-race")(rival)
        pending = asyncio.create_task(group.run(appending(store, "g-race", 0, "cmd-race")))
        await wait_for(lambda: _waiting_on_a_lock(store), timeout=30)
        await transaction.commit()
    answer = await pending
    assert answer.duplicate
    assert [e.event_id for e in answer.events] == [e.event_id for e in winner.events]
    assert len(await store.read_stream("g-race")) == 1


async def _waiting_on_a_lock(store: EventStore) -> bool:
    waiting = await store.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()"
    )
    return bool(waiting)
