"""The half-year figures kept with the state at each half-year end (issue 12, first answers):
a past half-year report by occurrence, or by a recording cut-off after every fact the kept
state folded, is read in the service with no fold; a fact of the period committed after the
state was kept, or an earlier recording cut-off, is answered by the fold; every answer equals
the old fold of every fact within its cut-off (the oracle)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import asyncpg
from socialwork_contracts import registry as reg

from benchmarks.history_generator import fact_rows
from services.reporting.cache import ReportCache
from services.reporting.domain.facts import FactRow
from services.reporting.domain.periods import Half, end_of_local_day, half_ending
from services.reporting.domain.reports import unit_ids
from services.reporting.rebuild import keep_checkpoints
from services.reporting.rekeep import Rekeeper
from services.reporting.views import Rendered, ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.test_agency_versions import arrive
from tests.integration.reporting.test_fold_recorded_checkpoints import history, late_fact


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
    await arrive(pool, [r for r in rows if r not in late])
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
        # Before the kept state's last recording (a late registration's): the figures with
        # that agency as it was by then (the next test).
        early = half_year(2020, "year_end", recorded=last - dt.timedelta(seconds=1))
        assert await cache.answer(pool, early) == await oracle(pool, early)
        assert (cache.projected, cache.folds) == (4, 0)
        # Facts of 2019's first half arrive after the state was kept: its figures are stale.
        await arrive(pool, late)
        assert await cache.answer(pool, asked[0]) == await oracle(pool, asked[0])
        assert (cache.projected, cache.folds) == (4, 1)
    finally:
        cache.close()


async def test_the_next_look_gives_kept_states_without_figures_theirs(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """States kept by a build before the figures (or by other figures' code) get them at the
    re-keep's next look, computed from the kept state itself; the states stay as they were."""
    await arrive(pool, list(fact_rows(1500, seed=82)))
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
    assert await rekeeper.look(pool)  # then the days' figures by recording (recorded_days.py)
    assert await rekeeper.look(pool) is None  # nothing left to do
    async with pool.acquire() as conn:
        after = await conn.fetch(f"SELECT day, snapshot, state FROM {G}.checkpoints ORDER BY 1")
    assert after == before
    asked = [
        half_year(2019, "year_end"),
        half_year(2020, "mid_year", "erqi"),
        half_year(2019, "year_end", recorded=end_of_local_day(dt.date(2020, 1, 10))),
    ]
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        for query in asked:
            assert await cache.answer(pool, query) == await oracle(pool, query), query
        assert (cache.projected, cache.folds) == (3, 0)
    finally:
        cache.close()


def moved_late(rows: list[FactRow]) -> list[FactRow]:
    """Agencies moved to another unit, and others revoked, each recorded 400 days late."""
    registered = [r for r in rows if r[2] == "AgencyRegistered"]
    units = unit_ids()
    changes: list[FactRow] = []
    for i, row in enumerate(registered[:80]):
        uscc, day = str(row[5]), row[7] + dt.timedelta(days=100)
        event: reg.AgencyProfileAmended | reg.AgencyRegistrationRevoked = (
            reg.AgencyProfileAmended(
                uscc=uscc,
                reporting_unit=units[i % len(units)],
                priority=bool(i % 3),
                changed_fields=["reporting_unit"],
            )
            if i % 4
            else reg.AgencyRegistrationRevoked(uscc=uscc, reason="撤销")
        )
        changes.append(late_fact(event, day))
    return changes


async def test_a_cut_off_before_late_agency_facts_is_read_from_the_kept_figures(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """By a recording cut-off before agency facts the kept state folded (late registrations,
    moves, revocations; the other facts of the period recorded by then), the kept figures with
    those agencies' views by the cut-off: no fold. Before the other facts' latest recording, or
    once an agency fact of the period arrives after the state was kept, folded."""
    rows = history()  # late registrations, status changes; 2020's other facts recorded late
    rows += moved_late(rows)
    await arrive(pool, rows)
    await keep_checkpoints(database_url, G)
    by = end_of_local_day
    asked = [
        half_year(2019, "year_end", recorded=by(dt.date(2020, 1, 10))),
        half_year(2021, "mid_year", recorded=by(dt.date(2022, 1, 10))),
        half_year(2021, "mid_year", "erqi", recorded=by(dt.date(2022, 2, 1))),
        half_year(2023, "year_end", recorded=by(dt.date(2024, 3, 1))),
    ]
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        shifted = 0
        for query in asked:
            answer = await cache.answer(pool, query)
            assert answer == await oracle(pool, query), query
            plain = await cache.answer(pool, replace(query, recorded_until=None))
            shifted += answer.rows != plain.rows  # late facts the cut-off leaves out
        assert (cache.projected, cache.folds, shifted) == (8, 0, 4)
        # 2020's other facts were recorded up to 2022-01-05: a cut-off before differs by them.
        for other in (
            half_year(2020, "year_end", recorded=by(dt.date(2021, 1, 5))),
            half_year(2021, "mid_year", recorded=by(dt.date(2021, 7, 2))),
        ):
            assert await cache.answer(pool, other) == await oracle(pool, other)
        assert (cache.projected, cache.folds) == (8, 2)
        # An agency fact of 2019 arrives, recorded after the cut-off: the views now are no longer
        # the kept state's, so a first answer by another cut-off before it is folded.
        uscc = next(str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[9].year < 2019)
        revoked = reg.AgencyRegistrationRevoked(uscc=uscc, reason="补录撤销")
        await arrive(pool, [late_fact(revoked, dt.date(2019, 3, 1))])
        again = replace(asked[0], recorded_until=by(dt.date(2020, 1, 11)))
        assert await cache.answer(pool, again) == await oracle(pool, again)
        assert (cache.projected, cache.folds) == (8, 3)
    finally:
        cache.close()
