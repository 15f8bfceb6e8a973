"""The states kept after a switch-over (issue 12, first answers of new as-of dates): the fold
that runs after it keeps the state at every quarter end, so a report as of a quarter or
half-year end is restored with no fact folded, and any other date folds at most a quarter's
facts; answers equal the old fold of every fact within the cut-off (the oracle)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

import asyncpg

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker
from services.reporting.domain.periods import local_date
from services.reporting.rebuild import keep_checkpoints
from services.reporting.views import render
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold, queries
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.prepared import killed_while_keeping


def quarter_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """Each last day of March, June, September and December from `first` to `last`."""
    ends = [
        dt.date(year, month, 30 if month in (6, 9) else 31)
        for year in range(first.year, last.year + 1)
        for month in (3, 6, 9, 12)
    ]
    return [day for day in ends if first <= day <= last]


async def test_the_fold_after_a_switch_over_keeps_every_quarter_end(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await insert(pool, list(fact_rows(2000, seed=71)))
    await keep_checkpoints(database_url, G)  # as after a replay's switch-over
    async with pool.acquire() as conn:
        first = await conn.fetchval(
            f"SELECT min(effective_on) FROM {G}.facts WHERE event_type = ANY($1::text[])",
            foldworker.FOLDED,
        )
        kept = await conn.fetchval(f"SELECT array_agg(day ORDER BY day) FROM {G}.checkpoints")
    today = local_date(dt.datetime.now(dt.UTC))
    assert kept == quarter_ends(first, today)


async def test_a_quarter_end_after_the_switch_over_is_restored_with_nothing_folded(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await insert(pool, list(fact_rows(2000, seed=72)))
    await keep_checkpoints(database_url, G)
    for day in [dt.date(2019, 6, 30), dt.date(2022, 9, 30)]:  # not year ends
        worker = foldworker.Worker()  # a new process: nothing held
        asked = queries(day, None)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert (worker.restored, worker.folded, worker.kept) == (1, 0, 0), day
        state = await old_fold(pool, day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query


KEEP = """
import sys, datetime as dt
from services.reporting import foldworker
foldworker.keep_every_quarter(sys.argv[1], "reporting_g1", dt.date(2027, 6, 1))
"""


async def test_a_keep_killed_midway_leaves_whole_rows_and_the_next_keep_ends_it(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Each state is kept in a transaction of its own: the states kept before the kill stay,
    whole (they serve exact answers), none after it is half written, and the next keep starts
    from the last of them and keeps the rest."""
    rows = list(fact_rows(2000, seed=74))
    late = [r for r in rows if r[7] <= dt.date(2017, 6, 30)][-5:]
    await insert(pool, [r for r in rows if r not in late])
    held = dt.date(2020, 6, 30)  # kept by an answer first, then row-locked: the keep waits there
    await foldworker.Worker().answer(database_url, G, queries(held, None), OPTIONS)
    await insert(pool, late)  # every state kept is stale now: the keep folds from the first fact
    await killed_while_keeping(
        pool, database_url, KEEP, f"SELECT 1 FROM {G}.checkpoints WHERE day = $1 FOR UPDATE", held
    )
    async with pool.acquire() as conn:
        first = await conn.fetchval(
            f"SELECT min(effective_on) FROM {G}.facts WHERE event_type = ANY($1::text[])",
            foldworker.FOLDED,
        )
        kept = await conn.fetchval(f"SELECT array_agg(day ORDER BY day) FROM {G}.checkpoints")
    assert kept == quarter_ends(first, held)  # those before the lock, and the answer's own
    for day in [dt.date(2019, 3, 31), dt.date(2020, 5, 2)]:  # from a row kept before the kill
        worker = foldworker.Worker()
        asked = queries(day, None)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert worker.restored == 1, day
        state = await old_fold(pool, day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KEEP, database_url, env={**os.environ}
    )
    assert await process.wait() == 0
    async with pool.acquire() as conn:
        kept = await conn.fetchval(f"SELECT array_agg(day ORDER BY day) FROM {G}.checkpoints")
    assert kept == quarter_ends(first, dt.date(2027, 6, 1))
