"""Group commit (issue 12): concurrent commands share a transaction, each in its own savepoint.

A command that fails (a version conflict, a refusal) fails alone and stores nothing; the others
land exactly once; a retried command (same id) is answered from the first result even within
one group; and N concurrent commands take fewer than N commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery
from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.registry import AgencyStaffChanged

from servicekit.auth import Principal, Role
from servicekit.commands import CommandContext, CommandSteps, Outcome, execute
from servicekit.db import Connection
from servicekit.eventstore import ConcurrencyConflict, EventStore
from servicekit.eventstore.records import AppendResult
from servicekit.eventstore.store import create_pool, init_connection
from servicekit.group_commit import GroupCommit
from servicekit.metrics import REGISTRY
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


class ChangeStaff(BaseModel):
    uscc: str
    full_time_staff: int


def _staff_changed(state: int | None, event: DomainEvent) -> int:
    return (state or 0) + 1


def _decide(state: int | None, command: ChangeStaff) -> list[DomainEvent]:
    return [AgencyStaffChanged(uscc=command.uscc, full_time_staff=command.full_time_staff,
                               qualified_staff=1)]  # fmt: skip


async def _run_counting(
    store: EventStore, conn: Connection, stream: str, command_id: str | None
) -> tuple[Outcome, list[str]]:
    queries: list[str] = []

    def log(query: LoggedQuery) -> None:
        queries.append(query.query)

    conn.add_query_logger(log)
    try:
        steps = CommandSteps[int, ChangeStaff](
            stream_id=stream,
            command=ChangeStaff(uscc=stream, full_time_staff=5),
            context=CommandContext(
                principal=Principal("tester", Role.CITY_ADMIN),
                correlation_id="corr-rt",
                occurred_at=dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.UTC),
                command_id=command_id,
            ),
            evolve=_staff_changed,
            decide=_decide,
            authorize=lambda state: None,
        )
        outcome = await execute(store, steps, conn=conn)
    finally:
        conn.remove_query_logger(log)
    await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: let them run
    return outcome, queries


@pytest.mark.parametrize("command_id", [None, "cmd-round-trips"])
async def test_a_command_in_a_group_is_two_statements_besides_its_savepoint(
    store: EventStore, command_id: str | None
) -> None:
    """Issue 12: the stream, the earlier command and the append's checks come back in one
    round trip, and the insert is the only other (it was read + find + check + insert)."""
    stream = f"g-rt-{command_id}"
    await store.append(stream, [staff_event(stream)], expected_version=0)
    group = GroupCommit(store.pool)
    counted: list[list[str]] = []

    async def work(conn: Connection) -> Outcome:
        outcome, queries = await _run_counting(store, conn, stream, command_id)
        # the store's statements (not asyncpg's one-off type introspection of a new connection)
        counted.append([q for q in queries if "groupstore." in q])
        return outcome

    outcome = await group.run(work)
    assert outcome.result.stream_version == 2 and outcome.state == 2
    assert len(counted[0]) == 2, counted[0]
    if command_id is not None:  # a retry is answered from the load's lookup
        again = await group.run(work)
        assert again.result.duplicate and again.result.stream_version == 2
    assert len(await store.read_stream(stream)) == 2


async def test_a_loaded_stream_overtaken_before_the_insert_is_run_again(
    store: EventStore,
) -> None:
    """Between a command's load and its insert another transaction commits the stream's next
    version: the insert trips the unique version, and the group runs the command again on the
    new state (nothing is appended twice, nothing on a stale version)."""
    await store.append("g-over", [staff_event("g-over")], expected_version=0)
    group = GroupCommit(store.pool)
    runs: list[int] = []

    async def work(conn: Connection) -> AppendResult:
        loaded = await store.load("g-over", conn=conn)
        runs.append(loaded.version)
        if len(runs) == 1:  # a rival commits version 2 after this load
            await store.append("g-over", [staff_event("g-over")], expected_version=1)
        return await store.append(
            "g-over",
            [staff_event("g-over")],
            expected_version=loaded.version,
            conn=conn,
            loaded=loaded,
        )

    result = await group.run(work)
    assert runs == [1, 2]
    assert result.stream_version == 3
    versions = [e.stream_version for e in await store.read_stream("g-over")]
    assert versions == [1, 2, 3]


async def test_a_lane_keeps_its_connection_between_groups_and_gives_it_back_when_idle(
    store: EventStore,
) -> None:
    """Issue 12: giving the connection back after each busy spell cost the pool's reset (a
    round trip) per spell under load; a lane now waits `linger` for the next command."""

    async def backend(conn: Connection) -> int:
        pid: int = conn.get_server_pid()
        return pid

    group = GroupCommit(store.pool, lanes=1, linger=1.0)
    idle = store.pool.get_idle_size()
    first = await group.run(backend)

    async def kept() -> bool:  # the lane waits for the next command, connection in hand
        return store.pool.get_idle_size() == idle - 1

    await wait_for(kept)
    assert await group.run(backend) == first  # the next group, on the same connection

    async def given_back() -> bool:
        return store.pool.get_idle_size() == idle

    await wait_for(given_back)  # after a second without commands


def _histogram(name: str) -> tuple[float, float]:
    """(count, sum) of a histogram of servicekit's registry."""
    count = REGISTRY.get_sample_value(f"{name}_count") or 0.0
    total = REGISTRY.get_sample_value(f"{name}_sum") or 0.0
    return count, total


async def test_groups_report_their_commands_wait_length_and_size(store: EventStore) -> None:
    """What an operator needs when accepted answers are slow (issue 12: at 200 commands/s the
    accepted tail grew with nothing to show where): how long commands waited for their group,
    how long groups took, how many commands each held."""
    names = (
        "socialwork_group_commit_wait_seconds",
        "socialwork_group_commit_seconds",
        "socialwork_group_commit_commands",
    )
    before = {name: _histogram(name) for name in names}
    group = GroupCommit(store.pool)
    await asyncio.gather(*(group.run(appending(store, f"m-{n}", 0)) for n in range(10)))
    after = {name: _histogram(name) for name in names}
    waits, lengths, sizes = (
        (after[n][0] - before[n][0], after[n][1] - before[n][1]) for n in names
    )
    assert waits[0] == 10  # every command, once
    assert lengths[0] == group.commits  # every group that committed
    assert sizes == (group.commits, 10)  # and the commands they held


async def test_a_lane_beaten_to_a_command_keeps_its_connection(database_url: str) -> None:
    """Two lanes wait; each arrival wakes both, one takes it, the other keeps waiting with its
    connection until `linger` passes without work. Issue 12: the other lane gave its connection
    back on every arrival (the pool's reset, then an acquire and a BEGIN for the next)."""
    acquired: list[int] = []

    async def setup(conn: object) -> None:  # asyncpg calls it on every acquire
        acquired.append(1)

    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=4, init=init_connection, setup=setup
    )
    try:
        store = EventStore(pool, "groupstore")
        await store.create_schema()
        acquired.clear()
        # Groups of one, and the first command held until the second lane has its connection:
        # both lanes then hold one when the arrivals below come (else the first lane may take
        # both first commands while the second opens a connection, and no lane is beaten).
        group = GroupCommit(pool, lanes=2, linger=1.0, max_group=1)

        async def both_lanes_connected() -> bool:
            return len(acquired) == 2

        async def after_the_second_lane(conn: Connection) -> AppendResult:
            await wait_for(both_lanes_connected, timeout=10)
            result: AppendResult = await appending(store, "lane-0", 0)(conn)
            return result

        first = await asyncio.gather(
            group.run(after_the_second_lane), group.run(appending(store, "lane-1", 0))
        )
        for n in range(2, 8):  # one at a time: every arrival wakes both lanes
            await group.run(appending(store, f"lane-{n}", 0))
        assert [r.stream_version for r in first] == [1, 1]
        assert len(acquired) == 2, acquired  # each lane once
    finally:
        await pool.close()


async def test_a_lane_holding_the_next_groups_begin_keeps_no_reader_waiting(
    store: EventStore, database_url: str
) -> None:
    """A lane waits for its next group in the transaction its last COMMIT began (issue 12: a
    round trip fewer a group). Having run no statement, that transaction holds no id and no
    snapshot: an event another writer commits meanwhile is settled for the log's readers."""
    group = GroupCommit(store.pool, lanes=1, linger=3.0)  # time enough to look at the lane
    lane_pid = await group.run(_server_pid)
    await store.append("begun-other", [staff_event("begun-other")], expected_version=0)

    observer = await asyncpg.connect(database_url)
    try:
        lane = await observer.fetchrow(
            "SELECT state, backend_xid, backend_xmin FROM pg_stat_activity WHERE pid = $1",
            lane_pid,
        )
    finally:
        await observer.close()
    assert lane is not None
    assert tuple(lane) == ("idle in transaction", None, None), lane
    settled = [e.stream_id for e in await store.read_all()]
    assert "begun-other" in settled, settled

    async def given_back() -> bool:  # idle, the lane rolls back and gives its connection back
        return store.pool.get_idle_size() == store.pool.get_size()

    await wait_for(given_back)


async def _server_pid(conn: Connection) -> int:
    pid: int = conn.get_server_pid()
    return pid


async def test_a_group_whose_commit_fails_answers_none_accepted_and_stores_nothing(
    store: EventStore,
) -> None:
    """An answer is given after the group's commit, so a command is never reported accepted
    before it is durable. Here PostgreSQL refuses the COMMIT itself (a deferred constraint,
    checked at commit, fails for one stream's event): every command of that group gets the
    error and none of its events is stored; the lane's next group commits as usual."""
    await store.pool.execute("""
        CREATE FUNCTION groupstore.refused_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.stream_id = 'g-refused-at-commit' THEN
                RAISE EXCEPTION 'refused at commit';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refused_at_commit AFTER INSERT ON groupstore.events
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION groupstore.refused_at_commit();
    """)
    group = GroupCommit(store.pool, lanes=1)
    works = [appending(store, f"g-commit-{n}", 0) for n in range(8)]
    works.insert(4, appending(store, "g-refused-at-commit", 0))
    results = await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)

    assert all(isinstance(r, asyncpg.RaiseError) for r in results), results
    assert group.commits == 0
    stored = await store.pool.fetchval(
        "SELECT count(*) FROM groupstore.events WHERE stream_id LIKE 'g-%commit%'"
    )
    assert stored == 0
    after = await group.run(appending(store, "g-commit-after", 0))
    assert after.stream_version == 1 and group.commits == 1
