"""Live answers have their own fold worker: a fold of a past date neither delays nor evicts them.

In the 200k benchmark (issue 12) the first live fact after the cold requests cost a whole fold
(27 s under load): the past cut-offs had pushed the live state out of the worker's held states,
and every request waiting on that one worker waited for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import signal
import weakref
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from benchmarks.history_generator import fact_rows
from servicekit.eventstore.store import init_connection
from services.reporting import foldworker, readmodel
from services.reporting.api.common import query_of
from services.reporting.cache import ReportCache, lane_of
from services.reporting.domain.facts import FactRow
from services.reporting.domain.periods import Half, local_date, report_period
from services.reporting.domain.reports import unit_ids
from services.reporting.domain.state import fold
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import Rendered, ReportQuery, render
from tests.support import wait_for

OPTIONS = TargetOptions()
PAST = [dt.date(2017, 6, 30), dt.date(2019, 12, 31), dt.date(2021, 6, 30)]


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
async def cache(database_url: str) -> AsyncIterator[ReportCache]:
    # The fold workers' lanes: every answer folded (targets, trends and coverage of past days
    # are read from versions otherwise, test_place_versions.py, test_agency_versions.py).
    made = ReportCache(database_url, OPTIONS, versions=False)
    yield made
    made.close()


async def insert(pool: asyncpg.Pool, rows: list[FactRow]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        generation = await readmodel.current_generation(conn)
        await readmodel.copy_fact_rows(conn, generation, rows)


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> Rendered:
    async with pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        facts = await readmodel.load_facts(
            conn, generation, effective_until=query.day, recorded_until=query.recorded_until
        )
    return render(fold(facts), query, OPTIONS)


def live_fact(row: FactRow, n: int) -> FactRow:
    """A generated fact arriving now, taking effect today (as live traffic does)."""
    now = dt.datetime.now(dt.UTC)
    return (f"live-{n}", *row[1:7], local_date(now), now, now, row[10])


def today_query() -> ReportQuery:
    return ReportQuery("targets", local_date(dt.datetime.now(dt.UTC)), None, None)


def test_a_query_is_live_while_facts_arriving_now_can_change_it() -> None:
    now = dt.datetime(2026, 12, 4, 3, tzinfo=dt.UTC)
    today = dt.date(2026, 12, 4)
    assert lane_of(ReportQuery("targets", today, None, None), now) == "live"
    assert lane_of(ReportQuery("trends", dt.date(2026, 12, 31), None, None), now) == "live"
    assert lane_of(ReportQuery("targets", dt.date(2026, 12, 3), None, None), now) == "history"
    assert lane_of(ReportQuery("targets", today, now, now.isoformat()), now) == "history"


async def test_past_cutoffs_do_not_push_out_the_live_state(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    rows = list(fact_rows(3000, seed=21))
    await insert(pool, rows)
    query = today_query()
    await cache.answer(pool, query)
    for day in PAST:  # more cut-offs than a worker holds states (HELD_STATES)
        await cache.answer(pool, ReportQuery("targets", day, None, None))
    assert len(PAST) > foldworker.HELD_STATES
    refolds = cache.refolds
    await insert(pool, [live_fact(rows[0], 1)])
    assert await cache.answer(pool, query) == await oracle(pool, query)
    assert cache.refolds == refolds  # the live state was advanced, not folded again


async def test_a_started_cache_holds_today_before_the_first_request(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    """A new instance folds today's state in its live worker before any request (readiness
    waits for it): the first answer as of today advances that state, no fold from a kept
    state or the first fact (1M: 0.67 s after a restart)."""
    await insert(pool, list(fact_rows(3000, seed=24)))
    await cache.start()
    await cache.warm_up(pool)
    assert cache.warm.is_set()
    rendered = cache.folds  # the half-year in progress (the next test)
    query = today_query()
    assert await cache.answer(pool, query) == await oracle(pool, query)
    assert (cache.folds - rendered, cache.refolds) == (1, 0)


async def test_a_started_cache_holds_the_half_year_in_progress_before_the_first_request(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    """The warm-up also renders the report officers open first, the half-year in progress of
    the city and of each unit (one pass over the held state): asked as the API asks it, each
    is answered from what the warm-up rendered, no render of its own (1M: the city's first
    answer after a start took 129 ms, its render)."""
    await insert(pool, list(fact_rows(3000, seed=26)))
    await cache.start()
    await cache.warm_up(pool)
    rendered = cache.folds
    today = local_date(dt.datetime.now(dt.UTC))
    half: Half = "mid_year" if today.month <= 6 else "year_end"
    end = report_period(today.year, half).end
    for scope in (None, "jinshui", unit_ids()[-1]):
        query = query_of("half_year", end, None, scope=scope, year=today.year, half=half)
        assert await cache.answer(pool, query) == await oracle(pool, query)
    assert cache.folds == rendered


async def test_a_cache_closed_while_it_warms_up_ends_the_warm_up_and_starts_no_worker(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A service stopped while its warm-up folds (the stop waited 15 s for that task) ends the
    warm-up at once, and no worker process is started again after the close."""
    await insert(pool, list(fact_rows(60_000, seed=25)))  # a fold of seconds
    cache = ReportCache(database_url, OPTIONS)
    warming = asyncio.ensure_future(cache.warm_up(pool))

    async def folding() -> bool:
        return bool(cache.busy["live"])

    await wait_for(folding, interval=0.01)
    cache.close()
    await asyncio.wait_for(warming, 0.5)  # not after the fold
    assert cache.warm.is_set()
    assert not cache.executors


async def test_a_cold_fold_of_a_past_date_does_not_delay_a_live_answer(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    rows = list(fact_rows(20_000, seed=22))
    await insert(pool, rows)
    await cache.start()
    query = today_query()
    await cache.answer(pool, query)  # held by the live worker
    await insert(pool, [live_fact(rows[0], 2)])  # the cached answer is stale: a worker is asked
    past = asyncio.ensure_future(cache.answer(pool, ReportQuery("targets", PAST[2], None, None)))
    live = asyncio.ensure_future(cache.answer(pool, query))
    done, _ = await asyncio.wait({past, live}, return_when=asyncio.FIRST_COMPLETED)
    assert live in done and past not in done, "the live answer waited for the past fold"
    assert await live == await oracle(pool, query)
    await past


async def test_a_killed_worker_is_replaced_and_answers_the_same(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    await insert(pool, list(fact_rows(1500, seed=23)))
    query = today_query()
    first = await cache.answer(pool, query)
    loop = asyncio.get_running_loop()
    pid = await loop.run_in_executor(cache._executor("live"), os.getpid)
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
    await insert(pool, [live_fact(next(iter(fact_rows(1, seed=24))), 3)])
    folds = cache.folds
    again = await cache.answer(pool, query)  # the stale answer goes to a new worker
    assert cache.folds == folds + 1 and again == await oracle(pool, query)
    assert first.body["as_of"] == again.body["as_of"]


async def test_a_cached_answer_is_not_served_after_a_reset(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    """The one-round-trip check of a cached answer also compares the table's file node: a
    TRUNCATE leaves no fact committed after the answer's snapshot, yet every fact is gone."""
    await insert(pool, list(fact_rows(1500, seed=25)))
    query = ReportQuery("trends", dt.date(2024, 12, 31), None, None)
    first = await cache.answer(pool, query)
    assert first.rows and await cache.answer(pool, query) == first  # served from the cache
    async with pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        await conn.execute(f"TRUNCATE {generation}.facts")
    assert await cache.answer(pool, query) == await oracle(pool, query) != first


def alive(pid: int) -> bool:
    """Whether the process exists (a worker not yet joined by its pool still does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_an_idle_history_worker_lets_its_state_go_and_still_answers_past_queries(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Idle past `history_hold`, the history worker holds no folded state (at a million facts
    it kept 85 MB, 24 of them the state, for the whole `history_idle`: the reporting RSS peak);
    its process stays, and the next past cut-off is folded again, exact. Two queries close
    together (one page) still share the held state."""
    await insert(pool, list(fact_rows(1500, seed=27)))
    cache = ReportCache(database_url, OPTIONS, history_hold=1.0, versions=False)
    try:
        await cache.answer(pool, ReportQuery("targets", PAST[0], None, None))
        history = cache.executors["history"]
        (pid,) = history._processes
        later = ReportQuery("targets", PAST[1], None, None)
        assert await cache.answer(pool, later) == await oracle(pool, later)
        assert cache.released == 0  # asked right after the first: its state was still held
        held = await asyncio.wrap_future(history.submit(foldworker.held_states))
        assert held == 1

        async def released() -> bool:
            return cache.released == 1

        await wait_for(released, timeout=30)
        held = await asyncio.wrap_future(history.submit(foldworker.held_states))
        assert held == 0
        latest = ReportQuery("targets", PAST[2], None, None)
        assert await cache.answer(pool, latest) == await oracle(pool, latest)
        assert cache.executors["history"]._processes.keys() == {pid}  # the same process
    finally:
        cache.close()


async def test_an_idle_history_worker_ends_and_the_next_past_query_gets_a_new_one(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A history worker holds a whole state (≈ 120 MB at a million facts) for the next past
    cut-off; idle past `history_idle` its process ends, so that memory goes back to the OS."""
    rows = list(fact_rows(1500, seed=26))
    await insert(pool, rows)
    cache = ReportCache(database_url, OPTIONS, history_idle=0.2, versions=False)
    try:
        await cache.answer(pool, today_query())
        past = ReportQuery("targets", PAST[1], None, None)
        await cache.answer(pool, past)
        (pid,) = cache.executors["history"]._processes  # the worker's process id

        async def gone() -> bool:  # the worker is gone (not only asked to go)
            return not alive(pid)

        await wait_for(gone, timeout=30)
        assert cache.recycled == 1 and "history" not in cache.executors
        assert "live" in cache.executors  # the live lane keeps its worker (and its state)
        row = rows[5]  # recorded now, taking effect on a past day: the past answer is stale
        now = dt.datetime.now(dt.UTC)
        await insert(pool, [("late-1", *row[1:7], PAST[0], row[8], now, row[10])])
        assert await cache.answer(pool, past) == await oracle(pool, past)  # a new worker
        assert "history" in cache.executors
    finally:
        cache.close()


async def test_a_cached_answer_is_checked_without_a_reset_statement(
    pool: asyncpg.Pool, cache: ReportCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache hit is one statement: asyncpg's pool ran its reset statement (advisory locks,
    cursors, listeners, settings) after it, a second round trip on every report request."""
    await insert(pool, list(fact_rows(1500, seed=27)))
    await cache.start()
    query = ReportQuery("trends", dt.date(2024, 12, 31), None, None)
    first = await cache.answer(pool, query)
    resets: list[object] = []
    reset = asyncpg.connection.Connection.reset

    async def counted(self: asyncpg.Connection, *, timeout: float | None = None) -> None:
        resets.append(self)
        await reset(self, timeout=timeout)

    monkeypatch.setattr(asyncpg.connection.Connection, "reset", counted)
    assert await cache.answer(pool, query) == first  # served from the cache
    assert cache.folds == 1 and resets == []


async def test_a_folded_state_is_left_out_of_the_cyclic_collector(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A fold makes an object per view, and they live as long as the state: the collector's
    full passes scanned them again and again as they piled up (at a million facts, 9.6 s of
    one worker's cold folds). A state holds no reference cycles; reference counting frees it."""
    await insert(pool, list(fact_rows(1500, seed=28)))
    worker = foldworker.Worker()
    async with pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
    try:
        answer = await worker.answer(database_url, generation, [today_query()], OPTIONS)
        (held,) = worker.held.values()
        views = [*held.state.agencies.values(), *held.state.bases.values()]
        assert views and gc.is_tracked(views[0])
        seen = {id(o) for o in gc.get_objects()}  # the young, middle and old generations
        assert not any(id(v) in seen for v in views), "the state's views are still scanned"
        assert answer.rendered[0] == await oracle(pool, today_query())
    finally:
        gc.unfreeze()  # this test process's objects back in the collector's sight
        if worker.conn is not None:
            await worker.conn.close()


async def test_the_service_leaves_its_start_up_objects_out_of_the_cyclic_collector(
    reporting: httpx.AsyncClient,
) -> None:
    """Modules, routes and models made at start live as long as the process; each full pass
    of the collector scanned them all while every request waited (101 ms at a million facts)."""
    try:
        assert (await reporting.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def collections() -> int:
    """Collections the cyclic collector has run in this process, all generations."""
    return sum(generation["collections"] for generation in gc.get_stats())


async def test_a_fold_worker_runs_no_collection_while_it_answers(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    """A live answer copies the state's dicts (late facts merged) and renders: every young-
    generation pass traversed those copies again (20-200 ms each, several a second in the live
    worker at a million facts), and found nothing to free. Its collector runs between answers."""
    rows = list(fact_rows(1500, seed=29))
    await insert(pool, rows)
    query = today_query()
    await cache.answer(pool, query)
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(cache._executor("live"), collections)
    for n in range(3):  # each answer parses and keeps a thousand new facts
        await insert(pool, [live_fact(row, 1000 * n + k) for k, row in enumerate(rows[:1000])])
        assert await cache.answer(pool, query) == await oracle(pool, query)
    assert await loop.run_in_executor(cache._executor("live"), collections) == before


class Cyclic:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_a_fold_worker_frees_reference_cycles_between_answers(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector paused during answers still runs: every COLLECT_EVERY answers."""
    await insert(pool, list(fact_rows(300, seed=30)))
    async with pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
    monkeypatch.setattr(foldworker, "COLLECT_EVERY", 2)
    monkeypatch.setattr(foldworker, "_worker", None)  # this process as a new worker process
    try:
        # In a thread: the entry point runs the worker's own event loop.
        await asyncio.to_thread(
            foldworker.answer, database_url, generation, [today_query()], OPTIONS
        )
        assert not gc.isenabled()
        garbage = weakref.ref(Cyclic())
        assert garbage() is not None  # not freed by reference counting
        await asyncio.to_thread(
            foldworker.answer, database_url, generation, [today_query()], OPTIONS
        )
        assert garbage() is None
    finally:
        gc.enable()
        gc.unfreeze()
        worker = foldworker._worker
        if worker is not None and worker.conn is not None:
            await asyncio.to_thread(worker.loop.run_until_complete, worker.conn.close())


async def test_queries_of_one_cutoff_waiting_for_a_worker_are_answered_in_one_call(
    pool: asyncpg.Pool, cache: ReportCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every live answer is re-rendered after each batch of live facts: one call per query
    advanced (and merged late facts into) the same state once per query."""
    rows = list(fact_rows(1500, seed=31))
    await insert(pool, rows)
    day = today_query().day
    asked = [ReportQuery(kind, day, None, None) for kind in ("targets", "coverage", "trends")]
    for query in asked:
        await cache.answer(pool, query)
    await insert(pool, [live_fact(rows[0], 40)])
    calls: list[list[ReportQuery]] = []
    call = cache._call

    async def queued() -> bool:  # every query asked is in this call or waiting for the next
        return len(calls[0]) + len(cache.waiting["live"]) == len(asked)

    async def counted(lane: str, generation: str, queries: list[ReportQuery]) -> object:
        calls.append(queries)
        if len(calls) == 1:  # the worker busy until the others wait for it (a loaded host)
            await wait_for(queued, timeout=30)
        return await call(lane, generation, queries)

    monkeypatch.setattr(cache, "_call", counted)
    answers = await asyncio.gather(*(cache.answer(pool, q) for q in asked))
    assert answers == [await oracle(pool, q) for q in asked]
    assert len(calls) < len(asked) and sum(map(len, calls)) == len(asked)


async def test_a_batch_whose_worker_was_killed_is_answered_whole_by_a_new_worker(
    pool: asyncpg.Pool, cache: ReportCache
) -> None:
    rows = list(fact_rows(1500, seed=32))
    await insert(pool, rows)
    day = today_query().day
    asked = [ReportQuery(kind, day, None, None) for kind in ("targets", "coverage", "bases")]
    for query in asked:
        await cache.answer(pool, query)
    loop = asyncio.get_running_loop()
    pid = await loop.run_in_executor(cache._executor("live"), os.getpid)
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
    await insert(pool, [live_fact(rows[0], 50)])
    answers = await asyncio.gather(*(cache.answer(pool, q) for q in asked))
    assert answers == [await oracle(pool, q) for q in asked]
    assert not cache.dispatching and not any(cache.waiting.values())


async def test_a_history_worker_started_with_the_service_ends_if_never_asked(
    database_url: str,
) -> None:
    """Both lanes' workers start with the service (a first report must not wait for a spawn),
    but the idle timer of the history lane started only after a call: a service never asked for
    a past date kept an idle worker of ~48 MB for good (reporting's RSS after bench_visible's
    200 commands/s). Idle from its start, it ends like one idle after a call."""
    cache = ReportCache(database_url, OPTIONS, history_idle=0.2, versions=False)
    try:
        await cache.start_workers()
        (pid,) = cache.executors["history"]._processes

        async def gone() -> bool:
            return not alive(pid)

        await wait_for(gone, timeout=30)
        assert cache.recycled == 1 and "history" not in cache.executors
        assert "live" in cache.executors
    finally:
        cache.close()
