"""A live answer never waits for a render: it is served from the newest position rendered.

At a million facts (issue 12) every batch of live facts made each as-of-today query re-render
from the whole state (seconds each) while its requests waited: p99 3.35 s. Here the render is
held back by a test double at the boundary to the worker; a request made meanwhile gets the
previous answer at once, saying which position it reflects, and the newer answer replaces it
once rendered, within the staleness bound.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from benchmarks.history_generator import fact_rows
from servicekit.eventstore.store import init_connection
from services.reporting import exports, foldworker, readmodel
from services.reporting.cache import Entry, Lane, ReportCache
from services.reporting.views import ReportQuery
from tests.integration.reporting.test_fold_lanes import (
    OPTIONS,
    insert,
    live_fact,
    oracle,
    today_query,
)
from tests.support import auth, wait_for

BOUND = dt.timedelta(seconds=30)


class GatedCache(ReportCache):
    """The real cache and worker; a render starts only while `gate` is open, and the next
    `failures` renders fail (a worker lost, a connection dropped)."""

    def __init__(self, dsn: str, bound: dt.timedelta, rest: float = 0.0) -> None:
        super().__init__(dsn, OPTIONS, max_staleness=bound, rest=rest)
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0

    async def _work(self, lane: Lane, generation: str, query: ReportQuery) -> foldworker.Answer:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionResetError("the render failed")
        return await super()._work(lane, generation, query)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created: asyncpg.Pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=4, init=init_connection
    )
    async with created.acquire() as conn:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")
        await readmodel.ensure(conn)
    yield created
    await created.close()


@pytest.fixture
async def gated(database_url: str) -> AsyncIterator[GatedCache]:
    made = GatedCache(database_url, BOUND)
    yield made
    made.close()


async def newer_than(cache: ReportCache, pool: asyncpg.Pool, entry: Entry) -> Entry | None:
    found = await cache.entry(pool, today_query())
    return found if found.applied_through > entry.applied_through else None


async def newer(cache: ReportCache, pool: asyncpg.Pool, entry: Entry) -> Entry:
    """The first answer at a later position than `entry`'s, within the staleness bound."""
    found = await wait_for(lambda: newer_than(cache, pool, entry), timeout=BOUND.total_seconds())
    assert found is not None
    return found


async def test_a_live_answer_is_served_from_the_previous_position_while_it_renders(
    pool: asyncpg.Pool,
    gated: GatedCache,
) -> None:
    rows = list(fact_rows(2000, seed=31))
    await insert(pool, rows)
    query = today_query()
    first = await gated.entry(pool, query)  # never rendered: waits for its first render
    assert first.rendered == await oracle(pool, query)
    gated.gate.clear()  # renders are held back from here on
    await insert(pool, [live_fact(rows[0], 1)])
    stale = await asyncio.wait_for(gated.entry(pool, query), timeout=10)
    assert stale.rendered == first.rendered and stale.snapshot == first.snapshot
    assert gated.stats()["computing"] == 1  # one re-render, in the background
    again = await asyncio.wait_for(gated.entry(pool, query), timeout=10)
    assert again == stale and gated.stats()["computing"] == 1  # coalesced, not a second one
    gated.gate.set()
    assert (await newer(gated, pool, first)).rendered == await oracle(pool, query)


async def test_a_query_never_rendered_waits_for_its_first_render(
    pool: asyncpg.Pool,
    gated: GatedCache,
) -> None:
    await insert(pool, list(fact_rows(500, seed=32)))
    gated.gate.clear()
    cold = asyncio.ensure_future(gated.entry(pool, today_query()))
    done, _ = await asyncio.wait({cold}, timeout=0.5)
    assert not done, "a query never rendered was answered without a render"
    gated.gate.set()
    assert (await cold).rendered == await oracle(pool, today_query())


async def test_an_answer_older_than_the_bound_waits_for_the_render(
    pool: asyncpg.Pool,
    database_url: str,
) -> None:
    exact = GatedCache(database_url, dt.timedelta(0))  # no staleness: every answer exact
    try:
        rows = list(fact_rows(500, seed=33))
        await insert(pool, rows)
        first = await exact.entry(pool, today_query())
        exact.gate.clear()
        await insert(pool, [live_fact(rows[0], 2)])
        waiting = asyncio.ensure_future(exact.entry(pool, today_query()))
        done, _ = await asyncio.wait({waiting}, timeout=0.5)
        assert not done, "an answer older than the bound was served"
        exact.gate.set()
        assert (await waiting).applied_through > first.applied_through
    finally:
        exact.close()


async def test_a_failed_background_render_is_tried_again_by_the_next_request(
    pool: asyncpg.Pool,
    gated: GatedCache,
) -> None:
    rows = list(fact_rows(500, seed=34))
    await insert(pool, rows)
    first = await gated.entry(pool, today_query())
    gated.failures = 1
    await insert(pool, [live_fact(rows[0], 3)])
    assert (await gated.entry(pool, today_query())).rendered == first.rendered
    assert (await newer(gated, pool, first)).rendered == await oracle(pool, today_query())
    assert gated.failures == 0


async def test_a_report_says_which_position_it_reflects(reporting: httpx.AsyncClient) -> None:
    answer = await reporting.get("/reports/targets?format=csv", headers=auth())
    assert answer.status_code == 200, answer.text
    through = dt.datetime.fromisoformat(answer.headers["Report-Applied-Through"])
    assert abs(dt.datetime.now(dt.UTC) - through) < dt.timedelta(minutes=5)
    assert answer.headers["Report-Position"].count(":") == 2  # xmin:xmax:xip (pg_snapshot)


async def test_an_answer_is_encoded_once_per_position(
    reporting: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Excel file took openpyxl 0.1-0.3 s of the service's CPU a request; an answer at a
    position never changes, so neither does its file."""
    built: list[str] = []
    to_xlsx = exports.to_xlsx

    def counted(*args: Any, **kwargs: Any) -> bytes:
        built.append("xlsx")
        return to_xlsx(*args, **kwargs)

    monkeypatch.setattr(exports, "to_xlsx", counted)
    files = [await reporting.get("/reports/bases?format=xlsx", headers=auth()) for _ in range(3)]
    assert [f.status_code for f in files] == [200] * 3
    assert files[0].content == files[1].content == files[2].content and built == ["xlsx"]
    assert files[0].headers["content-type"] == exports.XLSX
    assert "attachment" in files[0].headers["content-disposition"]


async def test_a_render_equal_to_the_held_one_keeps_its_encoded_files(
    pool: asyncpg.Pool, gated: GatedCache
) -> None:
    """A live fact that changes nothing in an answer (a staff change, for targets) still makes
    it re-render; the files encoded for the held answer are kept, not built again."""
    rows = list(fact_rows(1000, seed=35))
    await insert(pool, rows)
    first = await gated.entry(pool, today_query())
    first.rendered.encoded["xlsx"] = b"built once"
    staff = next(r for r in rows if r[2] == "AgencyStaffChanged")
    await insert(pool, [live_fact(staff, 4)])
    later = await newer(gated, pool, first)
    assert gated.folds == 2 and later.rendered.encoded == {"xlsx": b"built once"}


async def test_the_live_lane_rests_between_re_renders_as_long_as_the_last_call_took(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Live facts keep a live answer stale: back to back, its re-renders took a core."""
    resting = GatedCache(database_url, BOUND, rest=1000.0)  # a rest longer than this test
    try:
        rows = list(fact_rows(500, seed=36))
        await insert(pool, rows)
        first = await resting.entry(pool, today_query())
        await insert(pool, [live_fact(rows[0], 5)])
        assert await resting.entry(pool, today_query()) == first
        assert resting.stats()["computing"] == 0 and resting.folds == 1  # resting
        resting.rest_until = 0.0  # the rest is over
        assert (await newer(resting, pool, first)).rendered == await oracle(pool, today_query())
        assert resting.folds == 2
    finally:
        resting.close()


class CountedCalls(GatedCache):
    """The gated cache, counting the calls into the workers (one advances the state once)."""

    def __init__(self, dsn: str, bound: dt.timedelta, rest: float) -> None:
        super().__init__(dsn, bound, rest)
        self.calls: list[list[ReportQuery]] = []

    async def _call(
        self, lane: Lane, generation: str, queries: list[ReportQuery]
    ) -> foldworker.Answer:
        self.calls.append(queries)
        return await super()._call(lane, generation, queries)


async def test_the_live_answers_found_behind_re_render_together_then_the_lane_rests(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """At a million facts with live facts arriving, each live query re-rendered on its own,
    resting only as long as its own render: the live worker was busy 85 % of the time, on a
    two-CPU host the service and the database shared (issue 12, report p99 167-197 ms). The
    answers found behind re-render in one call, and then the lane rests."""
    clock = Ticking()
    day = dt.timedelta(days=1)
    cache = CountedCalls(database_url, day, rest=1000.0)  # each rest longer than this test
    cache.clock = clock
    targets, coverage = today_query(), ReportQuery("coverage", today_query().day, None, None)
    try:
        rows = list(fact_rows(500, seed=40))
        await insert(pool, rows)
        first = {q: await cache.entry(pool, q) for q in (targets, coverage)}
        await insert(pool, [live_fact(rows[0], 8)])
        for q in (targets, coverage):  # resting since the first renders: served behind
            assert await cache.entry(pool, q) == first[q]
        assert cache.stats()["computing"] == 0 and len(cache.calls) == 2
        clock.now += 3600  # every rest is over; still within the bound
        assert await cache.entry(pool, targets) == first[targets]  # behind, and refreshed
        fresh = await newer(cache, pool, first[targets])
        assert fresh.rendered == await oracle(pool, targets)
        assert len(cache.calls) == 3, "each answer found behind was re-rendered on its own"
        assert sorted(q.kind for q in cache.calls[2]) == ["coverage", "targets"]
        await insert(pool, [live_fact(rows[0], 9)])
        assert await cache.entry(pool, coverage) != first[coverage]  # the refreshed answer
        assert cache.stats()["computing"] == 0 and len(cache.calls) == 3  # the lane rests
    finally:
        cache.close()


async def test_an_evicted_answer_leaves_nothing_behind(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Queries are as many as the dates callers ask: what the cache forgets, it forgets whole."""
    small = ReportCache(database_url, OPTIONS, size=1)
    try:
        await insert(pool, list(fact_rows(300, seed=37)))
        for day in (dt.date(2020, 6, 30), dt.date(2021, 6, 30), dt.date(2022, 6, 30)):
            await small.entry(pool, ReportQuery("trends", day, None, None))
        assert len(small.entries) == 1 and not small.behind and not small.pending
    finally:
        small.close()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ticking(Clock):
    """A clock that also moves a millisecond each time it is read: a render takes time."""

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


async def test_a_live_answer_known_behind_is_served_without_a_check(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third of the checks at a million facts found a live answer behind, a round trip each;
    once found behind, it stays behind, and how far follows from the clock alone."""
    clock = Clock()
    cache = GatedCache(database_url, BOUND)
    cache.clock = clock
    try:
        rows = list(fact_rows(500, seed=38))
        await insert(pool, rows)
        first = await cache.entry(pool, today_query())
        cache.gate.clear()  # the re-render is held back: the answer stays behind
        await insert(pool, [live_fact(rows[0], 6)])
        checks: list[object] = []
        still_exact = readmodel.still_exact

        async def counted(*args: Any) -> readmodel.Check:
            checks.append(args)
            return await still_exact(*args)

        monkeypatch.setattr(readmodel, "still_exact", counted)
        assert await cache.entry(pool, today_query()) == first  # a check finds it behind
        assert len(checks) == 1
        clock.now += BOUND.total_seconds() / 2
        assert await cache.entry(pool, today_query()) == first  # known behind, within the bound
        assert len(checks) == 1 and cache.stats()["unchecked"] == 1
        clock.now += BOUND.total_seconds()  # past the bound by this clock: checked again
        assert await cache.entry(pool, today_query()) == first  # (the database's clock says)
        assert len(checks) == 2
        cache.gate.set()
        assert (await newer(cache, pool, first)).rendered == await oracle(pool, today_query())
    finally:
        cache.close()


async def test_a_changed_table_ends_serving_known_stale_answers_unchecked(
    pool: asyncpg.Pool, gated: GatedCache
) -> None:
    """A check of any query that finds the table switched or reset: every answer is checked
    again (and rendered anew) before it is served."""
    rows = list(fact_rows(500, seed=39))
    await insert(pool, rows)
    past = ReportQuery("trends", dt.date(2024, 12, 31), None, None)
    await gated.entry(pool, past)
    first = await gated.entry(pool, today_query())
    gated.gate.clear()
    await insert(pool, [live_fact(rows[0], 7)])
    assert await gated.entry(pool, today_query()) == first  # found behind
    assert gated.behind
    async with pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        await conn.execute(f"TRUNCATE {generation}.facts")
    past_answer = asyncio.ensure_future(gated.entry(pool, past))  # its check sees the reset
    await wait_for(lambda: _async(not gated.behind), timeout=10)
    waiting = asyncio.ensure_future(gated.entry(pool, today_query()))
    done, _ = await asyncio.wait({waiting}, timeout=0.5)
    assert not done, "an answer from before the reset was served"
    gated.gate.set()
    assert (await waiting).rendered == await oracle(pool, today_query())
    assert (await past_answer).rendered == await oracle(pool, past)


async def _async(value: bool) -> bool:
    return value
