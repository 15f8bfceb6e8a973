"""Registrations open their streams (`CommandHandler.opens`): a group of them is decided without
reading the streams and appended in one statement (issue 12), and every answer is still the one
a command run alone gives — a retry, a registered credit code, a reused key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from servicekit.eventstore import EventStore, IdempotencyKeyReused
from servicekit.eventstore.store import create_pool
from servicekit.http import Problem
from services.registry import readmodel
from services.registry.domain.commands import RegisterAgency
from services.registry.handlers import COMMANDS
from tests.support import logged_statements, one_lane_runtime, registration, run_together, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # One connection, one lane: the commands of a test form groups on the connection it watches.
    pool = await create_pool(database_url, max_size=1)
    await EventStore(pool, readmodel.SCHEMA).create_schema()
    await pool.execute(readmodel.DDL)
    yield pool
    await pool.close()


def _register(serial: int, **changes: Any) -> RegisterAgency:
    return RegisterAgency.model_validate({**registration(serial), **changes})


async def _register_all(
    pool: asyncpg.Pool, commands: list[tuple[RegisterAgency, str | None]]
) -> list[Any]:
    return await run_together(
        one_lane_runtime(pool, readmodel.SCHEMA), COMMANDS, commands, "register"
    )


async def test_a_group_of_registrations_is_its_insert_alone(pool: asyncpg.Pool) -> None:
    """Ten registrations of one group: one statement of the store (the insert of their events,
    command records and agencies), no read of their streams first (issue 12: a round trip
    fewer a group)."""
    seen = await logged_statements(pool, f"{readmodel.SCHEMA}.")
    results = await _register_all(pool, [(_register(n), f"k{n}") for n in range(10)])
    await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: let them run

    assert all(r.stream_version == 1 and not r.duplicate for r in results), results
    assert len(seen) == 1, seen
    assert seen[0].lstrip().startswith("WITH hold AS"), seen
    agencies = await pool.fetch(f"SELECT uscc, version FROM {readmodel.SCHEMA}.agencies")
    assert {(r["uscc"], r["version"]) for r in agencies} == {
        (registration(n)["uscc"], 1) for n in range(10)
    }


async def test_registrations_of_existing_streams_answer_as_a_run_alone(
    pool: asyncpg.Pool,
) -> None:
    """After three registrations, one group holds a retry (same key, same body), a second
    registration of a credit code under a new key, one that would also break a rule (its
    answer is still the duplicate), a key reused for another body, and a new agency: each
    gets the answer it gets alone, and only the new agency is stored."""
    first = await _register_all(pool, [(_register(n), f"k{n}") for n in range(3)])
    assert all(r.stream_version == 1 for r in first), first

    second = await _register_all(
        pool,
        [
            (_register(0), "k0"),
            (_register(1), "again"),
            (_register(2, full_time_staff=9, qualified_staff=0), "unqualified"),
            (_register(4), "k1"),
            (_register(3), "k3"),
        ],
    )

    retry, duplicate, unqualified, reused, new = second
    assert retry.duplicate and retry.events == first[0].events, retry
    for refused in (duplicate, unqualified):
        assert isinstance(refused, Problem) and refused.code == "duplicate_uscc", refused
    assert isinstance(reused, IdempotencyKeyReused), reused
    assert new.stream_version == 1 and not new.duplicate, new
    stored = await pool.fetch(f"SELECT stream_id, stream_version FROM {readmodel.SCHEMA}.events")
    assert sorted((r["stream_id"], r["stream_version"]) for r in stored) == sorted(
        (registration(n)["uscc"], 1) for n in (0, 1, 2, 3)
    )


async def test_a_group_of_registrations_waits_for_a_rebuilds_hold(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Without a read before it, the insert takes the append hold itself: while a rebuild
    holds appends, a group of registrations stores nothing; once it commits, all of them."""
    rebuild = await asyncpg.connect(database_url)
    try:
        held = rebuild.transaction()
        await held.start()
        await EventStore(pool, readmodel.SCHEMA).hold_appends(rebuild)
        group = asyncio.ensure_future(
            _register_all(pool, [(_register(n), f"h{n}") for n in range(5)])
        )

        async def waiting_on_the_hold() -> bool:
            count = await rebuild.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND wait_event = 'advisory' AND datname = current_database()"
            )
            return bool(count)

        await wait_for(waiting_on_the_hold, timeout=30)
        assert not await rebuild.fetchval(f"SELECT count(*) FROM {readmodel.SCHEMA}.events")
        await held.commit()
        results = await group
    finally:
        await rebuild.close()

    assert all(r.stream_version == 1 and not r.duplicate for r in results), results
