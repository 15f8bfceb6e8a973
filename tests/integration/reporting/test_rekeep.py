"""Kept states that late facts made inexact are kept again in the background (rekeep.py): a
first answer of a date after a late fact folds at most a quarter's facts again, and equals the
fold of every fact within its cut-off (the oracle); safe when killed midway, beside a second
instance, and across a switch-over."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sys

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from socialwork_contracts.registry import AgencyRegistered
from socialwork_contracts.topics import EVENT_TOPICS

from benchmarks.history_generator import envelope, fact_rows, history
from services.reporting import foldworker, readmodel
from services.reporting.app import create_app
from services.reporting.domain import checkpoint
from services.reporting.domain.facts import FactRow
from services.reporting.rebuild import keep_checkpoints
from services.reporting.rekeep import Rekeeper
from services.reporting.views import render
from tests.integration.apphost import running
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold, queries
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.prepared import KEEPING_BLOCKED, killed_while_keeping
from tests.support import wait_for

LATE_DAY = dt.date(2017, 6, 30)  # the late facts take effect on or before it
ASKED = dt.date(2022, 5, 2)  # a first answer years after them
REGISTRY = next(t.name for t in EVENT_TOPICS if t.producer == "registry")


def with_late_facts(seed: int) -> tuple[list[FactRow], list[FactRow]]:
    """A generated history without five facts of 2017's first half, and those five."""
    rows = list(fact_rows(2000, seed=seed))
    late = [r for r in rows if r[7] <= LATE_DAY][-5:]
    return [r for r in rows if r not in late], late


async def kept_then_late(pool: asyncpg.Pool, database_url: str, seed: int) -> list[dt.date]:
    """A history's states kept, then five late facts inserted: the kept days they made inexact."""
    rest, late = with_late_facts(seed)
    await insert(pool, rest)
    await keep_checkpoints(database_url, G)
    await insert(pool, late)
    return await inexact(pool)


async def inexact(pool: asyncpg.Pool, generation: str = G) -> list[dt.date]:
    """The kept days a fact within them committed after their snapshot has made inexact."""
    days: list[dt.date] | None = await pool.fetchval(
        f"SELECT array_agg(day ORDER BY day) FROM {generation}.checkpoints c WHERE EXISTS "
        f"(SELECT FROM {generation}.facts f WHERE f.effective_on <= c.day "
        "AND f.event_type = ANY($1::text[]) AND f.tx IS NOT NULL "
        "AND NOT pg_visible_in_snapshot(f.tx, c.snapshot::pg_snapshot))",
        foldworker.FOLDED,
    )
    return days or []


async def kept_days(pool: asyncpg.Pool, generation: str = G) -> list[dt.date]:
    days: list[dt.date] | None = await pool.fetchval(
        f"SELECT array_agg(day ORDER BY day) FROM {generation}.checkpoints"
    )
    return days or []


async def assert_a_first_answer_folds_a_quarter_at_most(pool: asyncpg.Pool, dsn: str) -> None:
    """From the state kept at the quarter end before `ASKED`: only the facts after it."""
    worker = foldworker.Worker()  # a new process: nothing held
    asked = queries(ASKED, None)
    answer = await worker.answer(dsn, G, asked, OPTIONS)
    since = checkpoint.last_checkpoint_day(ASKED)
    within = await pool.fetchval(
        f"SELECT count(*) FROM {G}.facts WHERE effective_on > $1 AND effective_on <= $2 "
        "AND event_type = ANY($3::text[])",
        since,
        ASKED,
        foldworker.FOLDED,
    )
    assert (worker.restored, worker.folded) == (1, within)
    state = await old_fold(pool, ASKED, None)
    for query, rendered in zip(asked, answer.rendered, strict=True):
        assert rendered == render(state, query, OPTIONS), query


def late_registrations(count: int) -> list[tuple[str, bytes, bytes]]:
    """Credit codes and envelopes of `count` agencies' registrations taking effect by
    `LATE_DAY`, recorded now (each its stream's first version, as the registry's relay
    publishes it)."""
    rng = random.Random(91)
    found = []
    for position, item in enumerate(history(3000, seed=91, first_agency=70_000), start=1):
        if isinstance(item.event, AgencyRegistered) and item.day <= LATE_DAY:
            found.append((item.event.uscc, *envelope(item, position, rng)))
            if len(found) == count:
                return found
    raise AssertionError("too few registrations by LATE_DAY")


@pytest.mark.usefixtures("service_env")
async def test_the_service_keeps_again_the_states_late_facts_made_inexact(
    pool: asyncpg.Pool,
    database_url: str,
    producer: AIOKafkaProducer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Late registrations applied by the live consumer make every state kept after their day
    inexact; the service keeps them again, and a first answer reads a quarter at most."""
    monkeypatch.setenv("REPORT_REKEEP_SECONDS", "0.2")
    await insert(pool, list(fact_rows(2000, seed=81)))
    await keep_checkpoints(database_url, G)  # as after a replay's switch-over
    days = await kept_days(pool)
    late = late_registrations(5)
    usccs = [uscc for uscc, _, _ in late]

    async def rekept() -> bool:
        present = await pool.fetchval(f"SELECT count(*) FROM {G}.facts WHERE uscc = ANY($1)", usccs)
        return present == len(late) and not await inexact(pool)

    async with running(create_app):
        for _, key, value in late:
            await producer.send_and_wait(REGISTRY, value, key=key)
        await wait_for(rekept, timeout=90)
    # Each kept again (the warm-up's fold at the start may keep more: year ends of any other
    # test's facts on the shared topics that the live consumer applied too).
    assert set(days) <= set(await kept_days(pool))
    await assert_a_first_answer_folds_a_quarter_at_most(pool, database_url)


async def test_one_fold_keeps_again_every_inexact_state(
    pool: asyncpg.Pool, database_url: str
) -> None:
    stale = await kept_then_late(pool, database_url, 82)
    assert stale and stale[0] <= checkpoint.last_checkpoint_day(LATE_DAY) + dt.timedelta(days=92)
    worker = foldworker.Worker()
    assert await worker.keep_again(database_url, G) == len(stale)
    assert worker.restored == 1  # from the state kept before the earliest: not the first fact
    assert await inexact(pool) == []
    await assert_a_first_answer_folds_a_quarter_at_most(pool, database_url)


async def test_a_burst_of_late_facts_is_kept_again_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rest, late = with_late_facts(86)
    await insert(pool, rest)
    await keep_checkpoints(database_url, G)
    rekeeper = Rekeeper(database_url, interval=60)
    # All exact: the next looks after its snapshot (this one keeps the days' figures by
    # recording, recorded_days.py).
    assert await rekeeper.look(pool)
    assert rekeeper.kept == 0
    for fact in late:  # one transaction each
        await insert(pool, [fact])
    stale = await inexact(pool)
    assert await rekeeper.look(pool) == len(stale)
    assert await rekeeper.look(pool)  # the days' figures from the late facts' on
    assert await rekeeper.look(pool) is None
    assert (rekeeper.rekeeps, rekeeper.kept, rekeeper.passes) == (1, len(stale), 2)
    assert await inexact(pool) == []


KEEP_AGAIN = """
import sys
from services.reporting import foldworker
foldworker.keep_again(sys.argv[1], "reporting_g1")
"""
LOCKED = f"SELECT 1 FROM {G}.checkpoints WHERE day = $1 FOR UPDATE"


async def test_a_re_keep_killed_midway_leaves_whole_rows_and_the_next_ends_it(
    pool: asyncpg.Pool, database_url: str
) -> None:
    stale = await kept_then_late(pool, database_url, 83)
    held = stale[len(stale) // 2]  # row-locked: the re-keep waits there and is killed
    await killed_while_keeping(pool, database_url, KEEP_AGAIN, LOCKED, held)
    left = await inexact(pool)
    assert left and all(day >= held for day in left)  # those before it kept again, whole
    assert set(left) < set(stale)
    for day in [*[d for d in stale if d < held][-1:], ASKED]:  # rows serve exact answers
        worker = foldworker.Worker()
        asked = queries(day, None)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        state = await old_fold(pool, day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query

    async def ended() -> bool:  # once the killed session's lock is gone, the next keeps the rest
        await foldworker.Worker().keep_again(database_url, G)
        return not await inexact(pool)

    await wait_for(ended, timeout=30)
    await assert_a_first_answer_folds_a_quarter_at_most(pool, database_url)


async def _blocked_keep(
    pool: asyncpg.Pool, database_url: str, held: dt.date
) -> tuple[asyncpg.Connection, asyncpg.transaction.Transaction, asyncio.subprocess.Process]:
    """A re-keep in a process of its own, waiting on a row lock another session holds."""
    blocker = await asyncpg.connect(database_url)
    transaction = blocker.transaction()
    await transaction.start()
    await blocker.execute(LOCKED, held)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KEEP_AGAIN, database_url, env={**os.environ}
    )

    async def waiting() -> bool:
        assert process.returncode is None
        return bool(await pool.fetchval(KEEPING_BLOCKED))

    await wait_for(waiting, timeout=60)
    return blocker, transaction, process


async def test_a_second_instance_leaves_the_re_keep_to_the_first(
    pool: asyncpg.Pool, database_url: str
) -> None:
    stale = await kept_then_late(pool, database_url, 84)
    blocker, transaction, process = await _blocked_keep(pool, database_url, stale[-1])
    try:
        second = foldworker.Worker()
        assert await second.keep_again(database_url, G) == 0  # the first holds the lock
        assert (second.folded, second.kept) == (0, 0)
        looking = Rekeeper(database_url, interval=60)
        assert await looking.look(pool) == 0  # sees it held: starts no process
        assert looking.rekeeps == 0
        await transaction.rollback()
        assert await process.wait() == 0
    finally:
        await blocker.close()
    assert await inexact(pool) == []
    await assert_a_first_answer_folds_a_quarter_at_most(pool, database_url)


async def test_a_switch_over_during_a_re_keep_is_not_held_and_gets_none_of_its_rows(
    pool: asyncpg.Pool, database_url: str
) -> None:
    stale = await kept_then_late(pool, database_url, 85)
    new = readmodel.generation_name(2)
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_ddl(new))
    blocker, transaction, process = await _blocked_keep(pool, database_url, stale[-1])
    try:
        async with pool.acquire() as conn, conn.transaction():  # the switch: the pointer moved
            await readmodel.current_generation(conn, lock=True)
            await conn.execute(f"UPDATE {readmodel.CONTROL}.generation SET current = $1", new)
        await transaction.rollback()
        assert await process.wait() == 0
    finally:
        await blocker.close()
    assert await inexact(pool) == []  # the old generation's rows kept, whole
    assert await kept_days(pool, new) == []
