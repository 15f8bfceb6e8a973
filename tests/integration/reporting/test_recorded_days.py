"""Half-year figures by a recording cut-off at a day's end before the period's, kept by the
re-keep's pass (recorded_days.py, readmodel_recorded.py): read with no fold, each equal to the
fold of every fact recorded by that day's end (the oracle); a fact of a kept day that reaches
this database late is never hidden (the day folds until a look keeps it again)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator

import asyncpg
from socialwork_contracts import registry as reg

from services.reporting import foldworker, readmodel, readmodel_recorded, recorded_days
from services.reporting.cache import ReportCache
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import LOCAL, end_of_local_day, local_date
from services.reporting.kept_figures import half_year_layout, periods_holding
from services.reporting.rebuild import keep_checkpoints
from services.reporting.rekeep import Rekeeper
from services.reporting.views import ReportQuery
from tests.integration.reporting.fold_oracle import OPTIONS, G
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.prepared import killed_while_keeping
from tests.integration.reporting.test_agency_versions import arrive, oracle
from tests.integration.reporting.test_fold_recorded_checkpoints import history
from tests.integration.reporting.test_kept_half_year import moved_late
from tests.support import wait_for

TODAY = local_date(dt.datetime.now(dt.UTC))
YEAR = dt.timedelta(days=365)


def by_recording(day: dt.date, scope: str | None = None) -> list[ReportQuery]:
    """The half-year reports of every period holding `day`, as recorded by its end."""
    at = end_of_local_day(day)
    return [
        ReportQuery(
            "half_year",
            period.end,
            at,
            day.isoformat(),
            year=period.end.year,
            half="mid_year" if period.end.month == 6 else "year_end",
            scope=scope,
        )
        for period in periods_holding(day)
    ]


def arriving_late(rows: list[FactRow], day: dt.date) -> FactRow:
    """A training of `day` recorded that day, reaching this database only now (a producer's
    relay held back): a copy of a training of the history under a new event id."""
    training = next(r for r in rows if r[2] == "TrainingDelivered")
    at = dt.datetime.combine(day, dt.time(15), tzinfo=LOCAL)
    return (str(uuid.uuid4()), *training[1:7], day, at, at, training[10])


def revoked_late(rows: list[FactRow], day: dt.date) -> FactRow:
    """The revocation of an agency registered a year before `day`, recorded that day, reaching
    this database only now: it changes the counts of every later cut-off."""
    uscc = next(str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[7] < day - YEAR)
    at = dt.datetime.combine(day, dt.time(15), tzinfo=LOCAL)
    revoked = reg.AgencyRegistrationRevoked(uscc=uscc, reason="撤销")
    return fact_row(str(uuid.uuid4()), revoked, uscc, at, at)


async def looked_until_done(rekeeper: Rekeeper, pool: asyncpg.Pool) -> int:
    """The re-keep's looks until one finds nothing to do: how many ran something."""
    for ran in range(4):
        if await rekeeper.look(pool) is None:
            return ran
    raise AssertionError("a look still finds work after three")


async def test_figures_by_a_days_recording_are_the_fold_and_a_late_arrival_is_not_hidden(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = history()
    rows += moved_late(rows)  # agencies moved and revoked, recorded 400 days late
    await arrive(pool, rows)
    await keep_checkpoints(database_url, G)  # as after a replay's switch-over
    rekeeper = Rekeeper(database_url, interval=60)
    assert await looked_until_done(rekeeper, pool) == 1  # the pass ran, the states were kept
    kept = rekeeper.recorded
    first = min(r[7] for r in rows)
    days = (TODAY - first).days
    assert kept == sum(len(periods_holding(first + dt.timedelta(d))) for d in range(days))

    rng = random.Random(15)
    asked = sorted({first + dt.timedelta(rng.randrange(days)) for _ in range(24)})
    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        for day in asked:
            for query in by_recording(day, rng.choice((None, "jinshui", "erqi"))):
                assert await cache.answer(pool, query) == await oracle(pool, query), query
        assert cache.folds == 0  # every one read from the kept figures

        # A fact recorded on a kept day arrives: that day and every later one fold, exact.
        late_day = asked[len(asked) // 2]
        await arrive(pool, [arriving_late(rows, late_day)])
        query = by_recording(late_day)[-1]
        answer = await cache.answer(pool, query)
        assert answer == await oracle(pool, query)
        assert cache.folds == 1
        earlier = by_recording(asked[0])[-1]
        assert await cache.answer(pool, dataclasses.replace(earlier, scope="erqi")) == (
            await oracle(pool, dataclasses.replace(earlier, scope="erqi"))
        )
        assert cache.folds == 1  # a day before it is still read

        # The next looks keep the states, then the days from the late fact's on, and only those.
        assert await looked_until_done(rekeeper, pool) == 2
        assert rekeeper.recorded - kept == sum(
            len(periods_holding(late_day + dt.timedelta(d))) for d in range((TODAY - late_day).days)
        )
        fresh = ReportCache(database_url, OPTIONS, versions=True)
        try:
            again = dataclasses.replace(query, scope="jinshui")
            assert await fresh.answer(pool, again) == await oracle(pool, again)
            assert fresh.folds == 0
        finally:
            fresh.close()
    finally:
        cache.close()


async def test_a_day_is_not_read_after_the_figures_code_changes_or_the_facts_are_reset(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = history()
    await arrive(pool, rows)
    worker = foldworker.Worker()
    try:
        assert await recorded_days.keep_days(worker, database_url, G, TODAY)
        day = max(r[7] for r in rows if r[7] < TODAY) - dt.timedelta(days=3)
        end = periods_holding(day)[-1].end
        async with pool.acquire() as conn:
            kept = await readmodel_recorded.figures_at(
                conn, G, half_year_layout(), day, end, foldworker.FOLDED
            )
            assert kept is not None
            assert (
                await readmodel_recorded.figures_at(
                    conn, G, "another build", day, end, foldworker.FOLDED
                )
                is None
            )
            await conn.execute(f"TRUNCATE {readmodel.checked_generation(G)}.facts")
            assert (
                await readmodel_recorded.figures_at(
                    conn, G, half_year_layout(), day, end, foldworker.FOLDED
                )
                is None
            )
    finally:
        if worker.conn is not None:
            await worker.conn.close()
        if worker.writer is not None:
            await worker.writer.close()


@contextlib.asynccontextmanager
async def pass_held_at(pool: asyncpg.Pool, database_url: str, day: dt.date) -> AsyncIterator[None]:
    """A pass in legs of one store each, held at the store of `day`'s figures (an uncommitted
    row of its key) while the body runs; then let go, and awaited."""
    worker = foldworker.Worker()
    blocker = await asyncpg.connect(database_url)
    keeping: asyncio.Task[int] | None = None
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(HELD_ROW, half_year_layout(), day, periods_holding(day)[-1].end)
        keeping = asyncio.create_task(
            recorded_days.keep_days(worker, database_url, G, TODAY, leg_seconds=0)
        )
        await wait_for(lambda: pool.fetchval(PASS_BLOCKED), timeout=60)
        yield
        await transaction.rollback()
        await keeping
    finally:
        if keeping is not None and not keeping.done():
            keeping.cancel()
        await blocker.close()
        for conn in (worker.conn, worker.writer):
            if conn is not None:
                await conn.close()


async def test_a_fact_arriving_between_two_legs_of_a_pass_is_not_hidden(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A pass reads in legs, each in a snapshot of its own. A fact recorded on a day an earlier
    leg folded, committed between two legs, is missing from the held state: the next leg goes
    back to its day, so no row read as exact misses it."""
    rows = history()
    await arrive(pool, rows)
    days = sorted({r[7] for r in rows if r[7] < TODAY})
    held = days[len(days) // 2]  # a day of a store in the middle of the pass
    late_day = held - dt.timedelta(days=5)
    after = [held + dt.timedelta(days=d) for d in (1, 45, 200)]
    before = {day: await oracle(pool, by_recording(day)[-1]) for day in after}
    async with pass_held_at(pool, database_url, held):
        await arrive(pool, [revoked_late(rows, late_day)])
    snapshots = await pool.fetchval(f"SELECT count(DISTINCT snapshot) FROM {G}.recorded_figures")
    assert snapshots > 2  # one a leg

    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:
        for day in (late_day, held, *after):
            query = by_recording(day)[-1]
            answer = await cache.answer(pool, query)
            assert answer == await oracle(pool, query), query
            if day in before:
                assert answer != before[day]  # the late fact counts in it
        assert cache.folds == 0  # every day kept again from the late fact's
    finally:
        cache.close()


async def test_a_reset_between_two_legs_of_a_pass_leaves_no_row_of_the_new_facts(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The projection is reset (its rebuild from the log's start truncates the facts) while a
    pass runs: the reset waits for the leg reading the facts, and the pass keeps nothing of the
    old facts for the new table (the next legs would fold on from a state of facts now gone)."""
    rows = history()
    await arrive(pool, rows)
    days = sorted({r[7] for r in rows if r[7] < TODAY})
    held = days[len(days) // 2]
    async with pass_held_at(pool, database_url, held):
        # It waits for the held leg's snapshot, and ends before the next leg reads.
        reset = asyncio.create_task(pool.execute(f"TRUNCATE {G}.facts"))
        await wait_for(lambda: pool.fetchval(RESET_WAITING), timeout=30)
    await reset
    assert not await pool.fetchval(
        f"SELECT count(*) FROM {G}.recorded_figures "
        f"WHERE filenode = pg_relation_filenode('{G}.facts'::regclass)"
    )


KEEP_DAYS = """
import sys
from services.reporting import recorded_days
recorded_days.keep(sys.argv[1], "reporting_g1")
"""
# An uncommitted row of the same key: the pass's insert of that day waits for its transaction.
HELD_ROW = (
    f"INSERT INTO {G}.recorded_figures (filenode, layout, day, period_end, snapshot, figures) "
    f"VALUES (pg_relation_filenode('{G}.facts'::regclass), $1, $2, $3, '', '{{}}')"
)
PASS_BLOCKED = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    f"AND query LIKE 'INSERT INTO {G}.recorded_figures%'"
)

RESET_WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    f"AND query LIKE 'TRUNCATE {G}.facts%'"
)


async def test_a_pass_killed_midway_leaves_whole_days_and_a_second_instance_waits(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = history()
    await arrive(pool, rows)
    await keep_checkpoints(database_url, G)
    rekeeper = Rekeeper(database_url, interval=60)
    assert await looked_until_done(rekeeper, pool) == 1
    kept = await kept_days(pool)
    # The figures from `cut` on are gone (as before their first pass): the next pass is held
    # at a day two batches later, and killed there.
    cut = TODAY - dt.timedelta(days=5 * recorded_days.ROWS_A_STORE)
    held = cut + dt.timedelta(days=2 * recorded_days.ROWS_A_STORE + 7)
    await pool.execute(f"DELETE FROM {G}.recorded_figures WHERE day >= $1", cut)
    lock = (half_year_layout(), held, periods_holding(held)[-1].end)
    await killed_while_keeping(pool, database_url, KEEP_DAYS, HELD_ROW, *lock, blocked=PASS_BLOCKED)
    # The batch it was sending had reached the server whole: it ends, committed or not, alone.
    await wait_for(lambda: no_pass_writing(pool), timeout=30)
    left = await kept_days(pool)
    assert cut in left and max(left) < TODAY - dt.timedelta(1), (cut, held, max(left))
    assert left == {d for d in kept if d <= max(left)}  # whole batches, from the first day

    cache = ReportCache(database_url, OPTIONS, versions=True)
    try:  # read where kept, folded where not: both exact
        for day in (cut, max(left) + dt.timedelta(1)):
            query = by_recording(day)[-1]
            assert await cache.answer(pool, query) == await oracle(pool, query), query
        assert (cache.projected, cache.folds) == (1, 1)
    finally:
        cache.close()

    # A second instance's look while a pass holds the lock starts nothing; then it ends it.
    blocker = await asyncpg.connect(database_url)
    try:
        await blocker.execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))", foldworker.lock(G)
        )
        second = Rekeeper(database_url, interval=60)
        assert await second.look(pool) == 0
        assert second.rekeeps == 0
    finally:
        await blocker.close()
    assert await looked_until_done(rekeeper, pool) == 1
    assert await kept_days(pool) == kept


async def no_pass_writing(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        f"AND query LIKE 'INSERT INTO {G}.recorded_figures%'"
    )


async def kept_days(pool: asyncpg.Pool) -> set[dt.date]:
    found = await pool.fetch(f"SELECT DISTINCT day FROM {G}.recorded_figures")
    return {r[0] for r in found}
