"""A group's commands run together (issue 12): one read of every stream and one insert of every
decision, through the one command path (`servicekit.command_api.run_request`).

Every guarantee of a command run alone holds: a refusal or a failure at the database fails that
command alone and the others are stored exactly once; a retry (same key, same command) gets the
first answer and a reused key (same key, another command) is refused, within one group as across
groups; a stale version is a conflict; a command is answered only after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery
from devstack.postgres import PostgresProcess
from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.registry import AgencyStaffChanged

from servicekit.command_table import CommandHandler, CommandTable
from servicekit.commands import _in_order
from servicekit.db import Connection
from servicekit.decisions import InvalidTransition
from servicekit.eventstore import ConcurrencyConflict, EventStore, IdempotencyKeyReused
from servicekit.eventstore.records import RecordedEvent
from servicekit.eventstore.store import (
    InlineProjection,
    InlineRow,
    InlineStatement,
    InlineStatements,
    create_pool,
)
from servicekit.group_commit import GroupCommit
from servicekit.http import Problem
from servicekit.runtime import Runtime
from tests.support import (
    logged_statements,
    one_lane_runtime,
    run_together,
    wait_for,
)

pytestmark = pytest.mark.infra

SCHEMA = "batchstore"


class ChangeStaff(BaseModel):
    uscc: str
    full_time_staff: int


def _evolve(state: int | None, event: DomainEvent) -> int:
    return (state or 0) + 1


def _decide(state: int | None, command: ChangeStaff, _situation: None) -> list[DomainEvent]:
    if command.full_time_staff <= 0:
        raise InvalidTransition("no_staff", "没有工作人员", "an agency has staff")
    staff = AgencyStaffChanged(
        uscc=command.uscc, full_time_staff=command.full_time_staff, qualified_staff=1
    )
    return [staff]


def _licences(_state: int) -> InlineProjection:
    """A read model with a unique index across streams (a licence per staff count, for the
    test): a concurrent command can trip it."""

    def arguments(events: Sequence[RecordedEvent]) -> tuple[str, str]:
        return events[-1].stream_id, f"L{events[-1].data['full_time_staff']}"

    return InlineStatement(
        f"INSERT INTO {SCHEMA}.licences (uscc, licence) VALUES ($1, $2) "
        "ON CONFLICT (uscc) DO UPDATE SET licence = excluded.licence",
        arguments,
    )


# The same read model as an InlineRow: in a batch, written by the events' own insert statement.
_LICENCE_ROWS = (
    f"INSERT INTO {SCHEMA}.licences (uscc, licence) "
    "SELECT r.uscc, 'L' || r.staff "
    "FROM jsonb_to_recordset($rows::jsonb) AS r(uscc text, staff int) "
    "WHERE EXISTS (SELECT 1 FROM ins WHERE ins.stream_id = r.uscc) "
    "ON CONFLICT (uscc) DO UPDATE SET licence = excluded.licence"
)


def _licence_row(state: tuple[str, int]) -> InlineProjection:
    uscc, staff = state
    return InlineRow(_LICENCE_ROWS, {"uscc": uscc, "staff": staff})


def _staffed(_state: object, event: DomainEvent) -> tuple[str, int]:
    assert isinstance(event, AgencyStaffChanged)
    return event.uscc, event.full_time_staff


def _table(licensed: bool | str = False) -> CommandTable:
    """`licensed`: a read model written by an InlineStatement (True) or an InlineRow ("row")."""
    inline: Any = {False: None, True: _licences, "row": _licence_row}[licensed]
    handler = CommandHandler[Any, ChangeStaff, None](
        stream_id=lambda command: command.uscc,
        evolve=_staffed if licensed == "row" else _evolve,
        decide=_decide,
        authorize=lambda principal, state, command, situation: None,
        inline=inline,
    )
    return {ChangeStaff: handler}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # One connection, one lane: every command of a test lands on the connection it watches.
    pool = await create_pool(database_url, max_size=1)
    store = EventStore(pool, SCHEMA)
    await store.create_schema()
    await pool.execute(
        f"CREATE TABLE {SCHEMA}.licences (uscc text PRIMARY KEY, licence text UNIQUE)"
    )
    yield pool
    await pool.close()


def _runtime(pool: asyncpg.Pool) -> Runtime:
    return one_lane_runtime(pool, SCHEMA)


async def _run_all(
    runtime: Runtime,
    table: CommandTable,
    commands: Sequence[tuple[ChangeStaff, str | None]],
    if_match: int | None = None,
) -> list[Any]:
    return await run_together(runtime, table, commands, "change", if_match)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize(("licensed", "statements"), [(True, 3), ("row", 2)])
async def test_a_group_reads_appends_and_projects_its_commands_together(
    pool: asyncpg.Pool, keyed: bool, licensed: bool | str, statements: int
) -> None:
    """Ten commands of one group: one read, one insert and one upsert of the read model (its
    rows sent together), not three statements each; an InlineRow read model is written by the
    insert itself (issue 12: one round trip and one execution fewer a group)."""
    runtime = _runtime(pool)
    seen = await logged_statements(pool, f"{SCHEMA}.")
    commands = [
        (ChangeStaff(uscc=f"b-{n}", full_time_staff=n + 1), f"k{n}" if keyed else None)
        for n in range(10)
    ]
    results = await _run_all(runtime, _table(licensed), commands)
    await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: let them run

    assert all(not isinstance(r, BaseException) and not r.duplicate for r in results), results
    assert len(seen) == statements, seen
    licences = await pool.fetch(f"SELECT uscc, licence FROM {SCHEMA}.licences ORDER BY licence")
    assert {(r["uscc"], r["licence"]) for r in licences} == {
        (f"b-{n}", f"L{n + 1}") for n in range(10)
    }
    versions = await pool.fetch(
        f"SELECT stream_id, stream_version FROM {SCHEMA}.events ORDER BY stream_id"
    )
    assert [(r["stream_id"], r["stream_version"]) for r in versions] == [
        (f"b-{n}", 1) for n in range(10)
    ]


@pytest.mark.parametrize("licensed", [True, "row"])
async def test_a_failure_at_the_database_fails_its_command_alone(
    pool: asyncpg.Pool, licensed: bool | str
) -> None:
    """Two commands of one group take the same licence (a unique index of the read model): the
    batch fails at the database, the group runs each command alone, the second one fails by
    itself, and every other command is stored exactly once, its read-model row with it."""
    runtime = _runtime(pool)
    commands = [(ChangeStaff(uscc=f"u-{n}", full_time_staff=10 + n), f"u{n}") for n in range(6)]
    commands.insert(3, (ChangeStaff(uscc="u-clash", full_time_staff=11), "uc"))
    results = await _run_all(runtime, _table(licensed), commands)

    assert isinstance(results[3], Problem) and results[3].status == 409
    assert all(not isinstance(r, BaseException) for i, r in enumerate(results) if i != 3)
    assert await _stored(pool) == {f"u-{n}": 1 for n in range(6)}
    commands_stored = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.commands")
    assert commands_stored == 6
    licences = await pool.fetch(f"SELECT uscc, licence FROM {SCHEMA}.licences")
    assert {(r["uscc"], r["licence"]) for r in licences} == {
        (f"u-{n}", f"L{10 + n}") for n in range(6)
    }
    # Retried with the same keys, each answers from its first result, once more in one group.
    again = await _run_all(runtime, _table(licensed), commands)
    assert [r.duplicate for i, r in enumerate(again) if i != 3] == [True] * 6
    assert isinstance(again[3], Problem)
    assert await _stored(pool) == {f"u-{n}": 1 for n in range(6)}


async def test_a_refusal_in_a_group_fails_alone(pool: asyncpg.Pool) -> None:
    runtime = _runtime(pool)
    commands = [(ChangeStaff(uscc=f"r-{n}", full_time_staff=n), None) for n in range(4)]
    results = await _run_all(runtime, _table(), commands)
    assert isinstance(results[0], Problem) and results[0].status == 409
    assert all(r.stream_version == 1 for r in results[1:])
    assert await _stored(pool) == {f"r-{n}": 1 for n in range(1, 4)}


async def test_keys_and_versions_hold_within_and_across_groups(pool: asyncpg.Pool) -> None:
    runtime = _runtime(pool)
    first = ChangeStaff(uscc="i-1", full_time_staff=3)
    other = ChangeStaff(uscc="i-1", full_time_staff=4)
    # One group: the same key twice (a retry in flight), the key reused for another command,
    # and a second command on the same stream.
    results = await _run_all(
        runtime,
        _table(),
        [
            (first, "k"),
            (first, "k"),
            (other, "k"),
            (ChangeStaff(uscc="i-1", full_time_staff=5), None),
        ],
    )
    assert not results[0].duplicate and results[1].duplicate
    assert [e.event_id for e in results[1].events] == [e.event_id for e in results[0].events]
    assert isinstance(results[2], IdempotencyKeyReused)
    assert results[3].stream_version == 2
    assert await _stored(pool) == {"i-1": 2}
    # Another group: the key answers from the first, If-Match checks the version.
    later = await _run_all(runtime, _table(), [(first, "k"), (other, "k")])
    assert later[0].duplicate and isinstance(later[1], IdempotencyKeyReused)
    stale = await _run_all(
        runtime, _table(), [(ChangeStaff(uscc="i-1", full_time_staff=6), None)], 1
    )
    assert isinstance(stale[0], ConcurrencyConflict)
    assert await _stored(pool) == {"i-1": 2}


async def _stored(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        f"SELECT stream_id, count(*) AS n FROM {SCHEMA}.events GROUP BY stream_id"
    )
    return {r["stream_id"]: r["n"] for r in rows}


async def test_a_batch_that_loses_a_race_runs_its_commands_again_alone(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Another transaction appends to one of the group's streams and commits while the batch's
    insert waits on the unique version: the batch is undone, each command runs alone, the one
    on the contested stream decides on the winner's event, and nothing is stored twice."""
    runtime = _runtime(pool)
    rival = await asyncpg.connect(database_url)
    try:
        await rival.execute("BEGIN")
        await rival.execute(
            f"INSERT INTO {SCHEMA}.events (position, event_id, stream_id, stream_version, "
            "event_type, event_version, data, occurred_at, recorded_at, actor, actor_role, "
            f"correlation_id, causation_id) VALUES (nextval('{SCHEMA}.event_position'), "
            "gen_random_uuid(), 'race-1', 1, 'AgencyStaffChanged', 1, "
            """'{"uscc": "race-1", "full_time_staff": 2, "qualified_staff": 1}', """
            "now(), now(), 'rival', 'city_admin', 'c', 'c')"
        )
        commands = [
            (ChangeStaff(uscc=f"race-{n}", full_time_staff=3), f"race{n}") for n in range(3)
        ]
        pending = asyncio.create_task(_run_all(runtime, _table(), commands))
        await _until_waiting_on_a_lock(rival)
        await rival.execute("COMMIT")
    finally:
        await rival.close()
    results = await pending
    assert [r.stream_version for r in results] == [1, 2, 1]
    assert await _stored(pool) == {"race-0": 1, "race-1": 2, "race-2": 1}
    recorded = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.commands")
    assert recorded == 3


async def _until_waiting_on_a_lock(conn: asyncpg.Connection) -> None:
    async def waiting() -> bool:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return bool(count)

    await wait_for(waiting, timeout=30)


async def test_postgres_stopped_mid_batch_loses_nothing_answered_and_stores_nothing_unanswered(
    crashing_postgres: PostgresProcess,
) -> None:
    """The database stops (immediate: a crash) after a group's batch inserted its events and
    before its commit. Every command of that group gets an error, none of it is stored; what an
    earlier group answered accepted is all there after recovery; a client's retry (same keys)
    then stores each command once."""
    server = crashing_postgres

    async def crash(conn: Connection, events: Sequence[RecordedEvent]) -> None:
        await asyncio.to_thread(server.crash)  # pg_ctl stop -m immediate

    crashing: CommandTable = {
        ChangeStaff: replace(_table()[ChangeStaff], inline=lambda _state: crash)
    }
    accepted = [(ChangeStaff(uscc=f"c-{n}", full_time_staff=3), f"c{n}") for n in range(5)]
    lost = [(ChangeStaff(uscc=f"d-{n}", full_time_staff=3), f"d{n}") for n in range(5)]
    pool = await create_pool(server.url, max_size=1)
    try:
        await EventStore(pool, SCHEMA).create_schema()
        runtime = _runtime(pool)
        first = await _run_all(runtime, _table(), accepted)
        assert [r.stream_version for r in first] == [1] * 5
        second = await _run_all(runtime, crashing, lost)
        assert all(isinstance(r, Exception) for r in second), second
    finally:
        pool.terminate()
    await asyncio.to_thread(server.start_again)
    pool = await create_pool(server.url, max_size=1)
    try:
        assert await _stored(pool) == {f"c-{n}": 1 for n in range(5)}
        assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.commands") == 5
        again = await _run_all(_runtime(pool), _table(), lost)
        assert [r.duplicate for r in again] == [False] * 5
        assert await _stored(pool) == {f"{p}-{n}": 1 for p in "cd" for n in range(5)}
    finally:
        await pool.close()


async def test_a_lane_keeps_its_connection_while_there_is_work(pool: asyncpg.Pool) -> None:
    """Three groups in a row on one lane (at most two commands a group): the lane takes its
    connection once and gives it back once, when idle — one reset of the connection for the
    three, not one each (a round trip and the pool's work a group)."""
    store = EventStore(pool, SCHEMA)
    group = GroupCommit(pool, lanes=1, max_group=2)
    runtime = cast(Runtime, SimpleNamespace(store=store, commits=group))
    resets: list[str] = []

    def log(query: LoggedQuery) -> None:
        if "RESET ALL" in query.query:
            resets.append(query.query)

    async with pool.acquire() as conn:
        conn.add_query_logger(log)
    commands = [(ChangeStaff(uscc=f"l-{n}", full_time_staff=n + 1), None) for n in range(6)]
    results = await _run_all(runtime, _table(), commands)

    assert all(r.stream_version == 1 for r in results), results
    assert group.commits == 3
    # Idle, the lane gives its connection back: the pool's one connection comes free.
    async with pool.acquire():
        await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: let them run
        assert len(resets) == 2, resets  # this test's release of it above, and the lane's


def test_a_projection_whose_statements_would_reorder_runs_by_itself() -> None:
    """A group's projection statements are sent once each, in the order first met: a projection
    listing them in another order, or one statement twice, is not merged with the others."""

    def statements(*texts: str) -> InlineStatements:
        return InlineStatements(tuple(InlineStatement(t, lambda events: ()) for t in texts))

    sent: dict[str, Any] = {"a": [], "b": []}
    assert _in_order(statements("a", "b"), sent)
    assert _in_order(statements("b", "c"), sent)
    assert not _in_order(statements("b", "a"), sent)
    assert not _in_order(statements("c", "a"), sent)  # c would go after b, a before it
    assert not _in_order(statements("c", "c"), sent)
    assert not _in_order(None, sent)


def _framed(pool: asyncpg.Pool, max_group: int) -> Runtime:
    group = GroupCommit(pool, lanes=1, max_group=max_group)
    return cast(Runtime, SimpleNamespace(store=EventStore(pool, SCHEMA), commits=group))


async def test_back_to_back_groups_take_three_round_trips_each(pool: asyncpg.Pool) -> None:
    """Three groups in a row on one lane: each is its read, its insert and its commit, the
    next group's BEGIN sent with the commit; the batch takes no savepoint (issue 12: a round
    trip and a subtransaction fewer a group). The connection is given back clean."""
    seen = await logged_statements(pool)
    commands = [(ChangeStaff(uscc=f"f-{n}", full_time_staff=n + 1), f"f{n}") for n in range(6)]
    results = await _run_all(_framed(pool, max_group=2), _table("row"), commands)

    async def third_commit_logged() -> bool:  # asyncpg calls query loggers with call_soon
        return sum(q.startswith("COMMIT") for q in seen) >= 3

    await wait_for(third_commit_logged)

    assert all(r.stream_version == 1 and not r.duplicate for r in results), results
    framing = [q for q in seen if q.split()[0].rstrip(";") in {"BEGIN", "COMMIT", "SAVEPOINT"}]
    assert framing == ["BEGIN", "COMMIT; BEGIN", "COMMIT; BEGIN", "COMMIT; BEGIN"], seen
    store_statements = [q for q in seen if f"{SCHEMA}." in q]
    assert len(framing) + len(store_statements) == 1 + 3 * 3, seen

    async def rolled_back_when_idle() -> bool:  # the last BEGIN, before the pool's reset
        return seen[-2] == "ROLLBACK" and "RESET ALL" in seen[-1]

    await wait_for(rolled_back_when_idle)
    assert await _stored(pool) == {f"f-{n}": 1 for n in range(6)}
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.commands") == 6
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.licences") == 6


async def test_a_batch_failing_in_a_begun_transaction_fails_its_command_alone(
    pool: asyncpg.Pool,
) -> None:
    """The second group's batch (its transaction begun with the first group's commit) trips
    the read model's unique index: it is rolled back, its commands run alone, the clashing one
    fails by itself; the first group's commands stay stored once, the third's are stored."""
    commands = [(ChangeStaff(uscc=f"g-{n}", full_time_staff=20 + n), f"g{n}") for n in range(6)]
    commands.insert(3, (ChangeStaff(uscc="g-clash", full_time_staff=21), "gc"))
    results = await _run_all(_framed(pool, max_group=3), _table("row"), commands)

    assert isinstance(results[3], Problem) and results[3].status == 409
    assert all(not isinstance(r, BaseException) for i, r in enumerate(results) if i != 3)
    assert await _stored(pool) == {f"g-{n}": 1 for n in range(6)}
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.commands") == 6
    licences = await pool.fetch(f"SELECT uscc, licence FROM {SCHEMA}.licences")
    assert {(r["uscc"], r["licence"]) for r in licences} == {
        (f"g-{n}", f"L{20 + n}") for n in range(6)
    }
