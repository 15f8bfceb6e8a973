"""The half-year figures kept with the state at each half-year end (issue 12, first answers):
a past half-year report by occurrence, or by a recording cut-off after every fact the kept
state folded, is read in the service with no fold; a fact of the period committed after the
state was kept, or an earlier recording cut-off, is answered by the fold; every answer equals
the old fold of every fact within its cut-off (the oracle)."""

from __future__ import annotations

import datetime as dt

import asyncpg

from benchmarks.history_generator import fact_rows
from services.reporting.cache import ReportCache
from services.reporting.domain.periods import Half, half_ending
from services.reporting.rebuild import keep_checkpoints
from services.reporting.rekeep import Rekeeper
from services.reporting.views import Rendered, ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture


def half_year(
    year: int, half: Half, scope: str | None = None, recorded: dt.datetime | None = None
) -> ReportQuery:
    end = dt.date(year, 6, 30) if half == "mid_year" else dt.date(year, 12, 31)
    text = None if recorded is None else recorded.isoformat()
    return ReportQuery("half_year", end, recorded, text, scope, year, half)


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> Rendered:
    return render(await old_fold(pool, query.day, query.recorded_until), query, OPTIONS)


async def test_a_past_half_year_is_read_from_the_figures_kept_with_its_state(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = list(fact_rows(2000, seed=81))
    late = [r for r in rows if dt.date(2019, 1, 1) <= r[7] <= dt.date(2019, 6, 30)][-3:]
    await insert(pool, [r for r in rows if r not in late])
    await keep_checkpoints(database_url, G)  # as after a replay's switch-over
    kept = [r for r in rows if r not in late and r[7] <= dt.date(2020, 12, 31)]
    last = max(r[9] for r in kept)  # the latest recording the state kept at 2020's end folded
    asked = [
        half_year(2019, "mid_year"),
        half_year(2020, "year_end", "jinshui"),
        half_year(2020, "year_end", recorded=last + dt.timedelta(days=1)),
    ]
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        for query in asked:
            assert await cache.answer(pool, query) == await oracle(pool, query), query
        assert (cache.projected, cache.folds) == (3, 0)
        # Before the kept state's last recording: not that state's cut-off, folded.
        early = half_year(2020, "year_end", recorded=last - dt.timedelta(seconds=1))
        assert await cache.answer(pool, early) == await oracle(pool, early)
        assert (cache.projected, cache.folds) == (3, 1)
        # Facts of 2019's first half arrive after the state was kept: its figures are stale.
        await insert(pool, late)
        assert await cache.answer(pool, asked[0]) == await oracle(pool, asked[0])
        assert (cache.projected, cache.folds) == (3, 2)
    finally:
        cache.close()


async def test_the_next_look_gives_kept_states_without_figures_theirs(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """States kept by a build before the figures (or by other figures' code) get them at the
    re-keep's next look, computed from the kept state itself; the states stay as they were."""
    await insert(pool, list(fact_rows(1500, seed=82)))
    await keep_checkpoints(database_url, G)
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE {G}.checkpoints SET half_year = NULL, half_year_in = NULL")
        await conn.execute(
            f"UPDATE {G}.checkpoints SET half_year_in = 'other ' || snapshot "
            "WHERE day = '2019-12-31'"
        )  # kept by other figures' code
        before = await conn.fetch(f"SELECT day, snapshot, state FROM {G}.checkpoints ORDER BY 1")
    rekeeper = Rekeeper(database_url, interval=60)
    assert await rekeeper.look(pool) == sum(half_ending(r["day"]) is not None for r in before)
    assert await rekeeper.look(pool) is None  # nothing left to do
    async with pool.acquire() as conn:
        after = await conn.fetch(f"SELECT day, snapshot, state FROM {G}.checkpoints ORDER BY 1")
    assert after == before
    asked = [half_year(2019, "year_end"), half_year(2020, "mid_year", "erqi")]
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        for query in asked:
            assert await cache.answer(pool, query) == await oracle(pool, query), query
        assert (cache.projected, cache.folds) == (2, 0)
    finally:
        cache.close()
