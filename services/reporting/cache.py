"""Report answers cached by (generation, query) with the position they reflect.

A report as of a date (by occurrence, and by recording when asked) depends only on the facts
within that cut-off. Facts are never updated or deleted, so an answer read in snapshot S is
still exact while no fact within the cut-off has been committed after S: one indexed lookup
(`readmodel.still_exact`) moves it to the current position instead of a fold. Live facts of
today leave answers for earlier dates valid. Misses go to a fold worker process
(foldworker.py); concurrent requests for the same query share one computation, and the
service's event loop never folds.

An answer as of today is changed by every batch of live facts, and rendering it again from the
whole state took seconds at a million facts (issue 12: p99 3.35 s, every request waiting on
it). So a live answer never waits for its re-render: it is served from the newest position
rendered, at most `max_staleness` behind (REPORT_MAX_STALENESS_SECONDS), while a re-render
brings it forward; the response says which position it reflects. A query never rendered, or
further behind, waits for its render; a past answer is always exact.

The re-render of a live answer found behind takes with it every other live answer a check found
behind (asked since its last render), in one call per cut-off: the state advances once for all.
Then the live lane rests `rest` times as long as its last call took before the next re-render.
At a million facts with 50 live facts a second, each query re-rendered on its own and rested by
its own render only: the live worker was busy 85 % of the time on a two-CPU host the service and
the database shared (issue 12: its CPU 4.8-5.2 ms a request, now 1.9-2.0; answers served
0.7-0.9 s behind the facts at p50, now 1.6 s; within the bound).

A live answer found behind stays behind (facts are never removed), by as much as it was at
that check plus the time since, on this process's clock: until that reaches the bound, it is
served without a check (a third of the checks at a million facts, a round trip each). Any
other check that finds the table changed (a switch-over, a reset) ends that.

Two worker processes, two lanes: `live` for cut-offs that live facts still change (by
occurrence, today or later) and `history` for the rest. In one process a cold fold of a past
date (4 s at 200k facts, 30 s at a million) held every live answer behind it, and its state
pushed the live state out of the held ones, so the next live fact cost a whole fold too (issue
12: the 27 s requests of the 200k run were that). Each lane keeps its own held states.

A held state is a city's worth of views (≈ 120 MB at a million facts), and a past answer, once
made, is kept here and checked without a worker, so the history lane is mostly idle. Idle for
`history_hold` seconds (REPORT_HISTORY_HOLD_SECONDS: longer than the gaps between one page's
past queries, which extend the state), its worker lets its held state go (trimmed back to the
operating system: at a million facts the worker stayed at 85 MiB for the whole `history_idle`,
now 72 after the hold; issue 12: reporting's RSS with its workers). Idle for `history_idle`
seconds (REPORT_HISTORY_IDLE_SECONDS), its worker process ends and the rest goes back too
(freed inside a process, most of it would not); the next past query that needs a fold starts a
new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import asyncpg
import structlog

from servicekit.db import Connection
from servicekit.workers import WorkerPool, worker_pool
from services.reporting import (
    foldworker,
    kept_figures,
    readmodel,
    readmodel_listings,
    readmodel_places,
    readmodel_recorded,
    views,
)
from services.reporting.domain import checkpoint
from services.reporting.domain.periods import Half, end_of_local_day, local_date, report_period
from services.reporting.domain.reports import unit_ids
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import Rendered, ReportQuery

CacheKey = tuple[str, int, ReportQuery]
Lane = str  # "live" | "history"
LANES: tuple[Lane, ...] = ("live", "history")
log = structlog.get_logger()


def _in_progress(today: dt.date) -> list[ReportQuery]:
    """The half-year report in progress on `today` (the mid-year's in the first half), of the
    city and of each unit, as the API asks it."""
    half: Half = "mid_year" if today.month <= 6 else "year_end"
    end = report_period(today.year, half).end
    return [
        ReportQuery("half_year", end, None, None, scope=scope, year=today.year, half=half)
        for scope in (None, *unit_ids())
    ]


def lane_of(query: ReportQuery, now: dt.datetime) -> Lane:
    """`live` when facts arriving now can still change the answer: by occurrence, as of today
    or later (live facts take effect today). By recording, or as of a past day: `history`."""
    if query.recorded_until is None and query.day >= local_date(now):
        return "live"
    return "history"


class Closed(RuntimeError):
    """The cache was closed (the service stops): no worker answers any more."""


@dataclass(frozen=True)
class Entry:
    """An answer and the position it reflects: the facts of PostgreSQL's snapshot `snapshot`,
    which holds every fact committed by `applied_through`. Checked again, it moves to a later
    position while no fact within its cut-off was committed meanwhile; its body never changes."""

    snapshot: str
    applied_through: dt.datetime  # the database's clock
    rendered: Rendered


class ReportCache:
    def __init__(
        self,
        dsn: str,
        options: TargetOptions,
        size: int = 256,
        max_staleness: dt.timedelta = dt.timedelta(0),
        rest: float = 2.0,
        history_idle: float | None = None,
        history_hold: float | None = None,
        checks: int = 4,
        clock: Callable[[], float] = time.monotonic,
        versions: bool = True,
    ) -> None:
        self.dsn = dsn
        self.options = options
        self.size = size
        self.max_staleness = max_staleness  # settings.py: REPORT_MAX_STALENESS_SECONDS
        # After a call in the live lane, no re-render of a lagging answer for `rest` times as
        # long (while it stays within the bound): at most 1 / (1 + rest) of the live worker.
        self.rest = rest
        self.clock = clock  # seconds, monotonic: rests and how far behind a known-stale answer is
        self.rest_until = 0.0  # self.clock(): the live lane's re-renders rest until then
        self.entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        # Answers a check found behind: how far behind then, and self.clock() at that check.
        self.behind: dict[CacheKey, tuple[dt.timedelta, float]] = {}
        self.pending: dict[CacheKey, asyncio.Future[Entry]] = {}
        self.executors: dict[Lane, WorkerPool] = {}
        self.history_idle = history_idle  # settings.py: REPORT_HISTORY_IDLE_SECONDS
        self.history_hold = history_hold  # settings.py: REPORT_HISTORY_HOLD_SECONDS
        self.check_connections = checks  # settings.py: REPORT_CHECK_CONNECTIONS
        self.busy: dict[Lane, int] = dict.fromkeys(LANES, 0)  # calls in a lane's worker
        self.idle_timers: dict[Lane, asyncio.TimerHandle] = {}
        self.hold_timers: dict[Lane, asyncio.TimerHandle] = {}
        # Renders waiting for their lane's worker, and the task that calls it (`_dispatch`).
        self.waiting: dict[Lane, list[tuple[str, ReportQuery, asyncio.Future[foldworker.Answer]]]]
        self.waiting = {lane: [] for lane in LANES}
        self.dispatching: dict[Lane, asyncio.Future[None]] = {}
        self.recycled = 0  # worker processes ended after being idle (tests, the benchmark)
        self.released = 0  # held states let go by an idle worker (tests)
        self.checks: asyncpg.Pool | None = None  # made by `start`; else the caller's pool
        self.folds = 0  # answers computed by a worker (for tests and the benchmark)
        self.refolds = 0  # of which folded from the first fact (no held state could advance)
        self.stale = 0  # answers served from an earlier position while a newer one renders
        self.unchecked = 0  # of which served without a check (known behind, within the bound)
        self.table: tuple[str, int] | None = None  # (generation, file node) of the last answer
        self.versions = versions  # settings.py: REPORT_COVERAGE_FROM_VERSIONS
        self.projected = 0  # answers read from entity versions, no fold (FROM_VERSIONS)
        self.warm = asyncio.Event()  # set once `warm_up` ended (readiness: app.py)
        self.closed = False  # no worker process is started after `close`

    def _executor(self, lane: Lane) -> WorkerPool:
        if self.closed:
            raise Closed()
        if lane not in self.executors:
            self.executors[lane] = worker_pool(1)
        return self.executors[lane]

    async def start(self) -> None:
        """Start the worker processes and the checks' pool."""
        await self.start_workers()
        # A check is one read-only statement that leaves no session state: released into a
        # shared pool, asyncpg ran its reset statement after it, a second round trip on every
        # report request (issue 12).
        # Planned for each check's own snapshot and cut-off: after five executions PostgreSQL
        # kept a generic plan that scanned the facts instead of the tx index (1M facts: 230-260
        # against 0.2-1 ms a check, every cached report's p50 1.4 s under load; issue 12).
        self.checks = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.check_connections,
            reset=_nothing_to_reset,
            server_settings={"plan_cache_mode": "force_custom_plan"},
        )

    async def start_workers(self) -> None:
        """Start the worker processes now (spawning one imports the contracts: seconds on a
        busy host), so the first report does not wait for that."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor(lane), foldworker.started) for lane in LANES)
        )
        # Idle from its start: a service never asked for a past date kept it for good.
        self._arm_idle("history")

    async def warm_up(self, pool: asyncpg.Pool) -> None:
        """The live worker folds today's state before any request asks for it: the first
        answer as of today then advances that state instead of restoring a kept one and folding
        after it (1M: 0.67 s after a restart). Then it renders what officers open first, the
        half-year in progress of the city and of each unit, in one pass over that state (1M:
        the city's first answer took 129 ms, its render). `warm` is set when done or failed (a
        failure leaves the first request to fold, as before)."""
        try:
            async with pool.acquire() as conn:
                generation = await readmodel.current_generation(conn)
            today = local_date(dt.datetime.now(dt.UTC))
            await self._work("live", generation, ReportQuery("targets", today, None, None))
            await asyncio.gather(*(self.entry(pool, query) for query in _in_progress(today)))
        except Closed:
            pass  # the service stops
        except Exception as exc:  # a warm-up's failure costs one slow answer only
            log.warning("report_warm_up_failed", error=repr(exc))
        finally:
            self.warm.set()

    def stats(self) -> dict[str, int]:
        """What `/projection/status` shows of the cache (and the benchmark reads)."""
        return {
            "cached": len(self.entries),
            "computing": len(self.pending),
            "folds": self.folds,
            "refolds": self.refolds,
            "stale": self.stale,
            "unchecked": self.unchecked,
            "recycled": self.recycled,
        }

    def close(self) -> None:
        self.closed = True
        for waiting in self.waiting.values():  # the warm-up's, or a render's on a stop
            for *_, future in waiting:
                if not future.done():
                    future.set_exception(Closed())
            waiting.clear()
        for dispatching in self.dispatching.values():
            dispatching.cancel()
        for timers in (self.idle_timers, self.hold_timers):
            for timer in timers.values():
                timer.cancel()
            timers.clear()
        for executor in self.executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        self.executors.clear()
        if self.checks is not None:
            self.checks.terminate()
            self.checks = None

    async def answer(self, pool: asyncpg.Pool, query: ReportQuery) -> Rendered:
        return (await self.entry(pool, query)).rendered

    async def entry(self, pool: asyncpg.Pool, query: ReportQuery) -> Entry:
        """The newest answer held when it is exact, or, as of today, at most `max_staleness`
        behind while one re-render per query (shared by every request) brings it forward;
        else that render."""
        found: tuple[CacheKey, Entry | None, dt.timedelta] | None = self._known_behind(query)
        if found is not None:
            self.unchecked += 1
        else:
            async with (self.checks or pool).acquire() as conn:
                found = await self._lookup(conn, query)
        key, held, behind = found
        if held is not None and behind == dt.timedelta(0):
            return held
        if held is None or not self._may_lag(query, behind):
            return await asyncio.shield(self._render(pool, key, query))
        if self.clock() >= self.rest_until:
            self._refresh(pool, key)  # in the background; else the worker rests meanwhile
        self.stale += 1
        return held

    def _refresh(self, pool: asyncpg.Pool, key: CacheKey) -> None:
        """Re-render this live answer and every other one found behind, in the background:
        the renders start in this turn of the loop, so those of one cut-off share a call."""
        now = dt.datetime.now(dt.UTC)
        for behind in (key, *(k for k in self.behind if k != key)):
            if behind in self.entries and lane_of(behind[2], now) == "live":
                self._render(pool, behind, behind[2])

    def _known_behind(self, query: ReportQuery) -> tuple[CacheKey, Entry, dt.timedelta] | None:
        """The held answer of the current table that a check found behind, and how far behind
        it is now, if still within the bound (else a check, then its render, as for any)."""
        if self.table is None:
            return None
        key = (*self.table, query)
        found = self.behind.get(key)
        if found is None:
            return None
        lag, checked = found
        behind = lag + dt.timedelta(seconds=self.clock() - checked)
        if not self._may_lag(query, behind):
            return None
        self.entries.move_to_end(key)
        return key, self.entries[key], behind

    def _render(
        self, pool: asyncpg.Pool, key: CacheKey, query: ReportQuery
    ) -> asyncio.Future[Entry]:
        """The query's render under way, or a new one: one at a time per query."""
        future = self.pending.get(key)
        if future is None:
            future = asyncio.ensure_future(self._compute(pool, key, query))
            self.pending[key] = future
            future.add_done_callback(lambda done: self._settled(key, done))
        return future

    def _may_lag(self, query: ReportQuery, behind: dt.timedelta) -> bool:
        """Only a live answer (as of today, by occurrence) may lag, and only within the bound:
        live facts change it every moment, while a past answer changes only when a late fact
        arrives, and is then awaited exact."""
        return behind <= self.max_staleness and lane_of(query, dt.datetime.now(dt.UTC)) == "live"

    def _settled(self, key: CacheKey, done: asyncio.Future[Entry]) -> None:
        self.pending.pop(key, None)
        if not done.cancelled() and done.exception() is not None:
            # Retrieved here: a background render may have no request waiting for it; the
            # next request starts another.
            log.warning("report_render_failed", query=str(key[2]), error=repr(done.exception()))

    async def _lookup(
        self, conn: Connection, query: ReportQuery
    ) -> tuple[CacheKey, Entry | None, dt.timedelta]:
        """The key of the query in the current table, its held answer (None: never rendered)
        and how far behind the database that answer is (zero: exact now)."""
        if self.table is not None and (*self.table, query) in self.entries:
            found = await self._check(conn, (*self.table, query))
            if found is not None:
                return found
        generation = await readmodel.current_generation(conn)
        key = (generation, await readmodel.facts_filenode(conn, generation), query)
        if key not in self.entries:
            return key, None, dt.timedelta(0)
        # None only if the table changed between these statements: rendered anew.
        return await self._check(conn, key) or (key, None, dt.timedelta(0))

    async def _check(
        self, conn: Connection, key: CacheKey
    ) -> tuple[CacheKey, Entry, dt.timedelta] | None:
        """One round trip: None if the key's table is no longer the current one (a switch-over,
        a reset), else the entry, moved to now if still exact, and how far behind it is."""
        generation, filenode, query = key
        entry = self.entries[key]
        try:
            now = await readmodel.still_exact(
                conn, generation, entry.snapshot, query.day, query.recorded_until
            )
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):  # dropped generation
            self._table_changed()
            return None
        if (now.generation, now.filenode) != (generation, filenode):
            self._table_changed()
            return None
        self.entries.move_to_end(key)
        self.table = (generation, filenode)
        if now.snapshot is None:
            lag = now.at - entry.applied_through
            self.behind[key] = (lag, self.clock())
            return key, entry, lag
        self.behind.pop(key, None)
        self.entries[key] = entry = Entry(now.snapshot, now.at, entry.rendered)
        return key, entry, dt.timedelta(0)

    def _table_changed(self) -> None:
        """No answer is served unchecked until a check finds the current table again."""
        self.table = None
        self.behind.clear()

    async def _work(self, lane: Lane, generation: str, query: ReportQuery) -> foldworker.Answer:
        """The query folded and rendered in its lane's worker process, in one call with the
        other queries of its cut-off waiting for that worker: each live fact makes every live
        answer stale, and one call per query advanced the same state once per query (late
        facts merged again each time)."""
        self._busy(lane)
        try:
            answer: asyncio.Future[foldworker.Answer] = asyncio.get_running_loop().create_future()
            self.waiting[lane].append((generation, query, answer))
            if lane not in self.dispatching:
                self.dispatching[lane] = asyncio.ensure_future(self._dispatch(lane))
            return await answer
        finally:
            self._idle(lane)

    async def _dispatch(self, lane: Lane) -> None:
        """One call at a time in the lane: the waiting queries of the first one's cut-off."""
        waiting = self.waiting[lane]
        try:
            while waiting:
                generation, first, _ = waiting[0]
                cutoff = (generation, first.day, first.recorded_until)
                batch = [w for w in waiting if (w[0], w[1].day, w[1].recorded_until) == cutoff]
                waiting[:] = [w for w in waiting if w not in batch]
                try:
                    answer = await self._call(lane, generation, [q for _, q, _ in batch])
                except asyncio.CancelledError:  # closed: no render waits for a call it ended
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(Closed())
                    raise
                except Exception as exc:  # each render waiting in the batch gets it
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for n, (*_, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(replace(answer, rendered=[answer.rendered[n]]))
        finally:
            del self.dispatching[lane]

    def _busy(self, lane: Lane) -> None:
        self.busy[lane] += 1
        for timers in (self.idle_timers, self.hold_timers):
            if (timer := timers.pop(lane, None)) is not None:
                timer.cancel()

    def _idle(self, lane: Lane) -> None:
        self.busy[lane] -= 1
        self._arm_idle(lane)

    def _arm_idle(self, lane: Lane) -> None:
        """With nothing to do, the history lane's worker lets its state go after `history_hold`
        seconds and ends after `history_idle`."""
        if lane != "history" or self.busy[lane]:
            return
        loop = asyncio.get_running_loop()
        for timers, after, then in (
            (self.hold_timers, self.history_hold, self._let_go),
            (self.idle_timers, self.history_idle, self._recycle),
        ):
            if (timer := timers.pop(lane, None)) is not None:
                timer.cancel()
            if after is not None:
                timers[lane] = loop.call_later(after, then, lane)

    def _let_go(self, lane: Lane) -> None:
        """The idle lane's worker gives its held states back (its process stays, imports
        done, for the next past query); a call queued meanwhile runs after it."""
        self.hold_timers.pop(lane, None)
        executor = self.executors.get(lane)
        if executor is None:
            return
        with contextlib.suppress(BrokenProcessPool, RuntimeError):  # broken, or shut down
            executor.submit(foldworker.let_go)
            self.released += 1

    def _recycle(self, lane: Lane) -> None:
        """End the idle lane's worker process (its held states with it); a later call in the
        lane starts a new one (`_executor`)."""
        self.idle_timers.pop(lane, None)
        executor = self.executors.pop(lane, None)
        if executor is not None:
            executor.shutdown(wait=False)  # the process exits; the pool's thread joins it
            self.recycled += 1

    async def _call(
        self, lane: Lane, generation: str, queries: list[ReportQuery]
    ) -> foldworker.Answer:
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            try:
                return await loop.run_in_executor(
                    self._executor(lane),
                    foldworker.answer,
                    self.dsn,
                    generation,
                    queries,
                    self.options,
                )
            except BrokenProcessPool:
                self.executors.pop(lane, None)  # the worker died (killed, out of memory): a new one
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _compute(self, pool: asyncpg.Pool, key: CacheKey, query: ReportQuery) -> Entry:
        started = self.clock()
        lane = lane_of(query, dt.datetime.now(dt.UTC))
        # Past and by-recording cut-offs only: a live answer read again after every live batch
        # cost the database more than the live worker's held state, which advances by the batch
        # (1M, report load: live coverage p99 251-490 vs 115-167 ms, RESULTS.md figs7).
        answer = None
        if self.versions and query.kind in FROM_VERSIONS and lane == "history":
            answer = await _from_versions(pool, key[0], query, self.options)
            self.projected += answer is not None
        if answer is None:
            answer = await self._work(lane, key[0], query)
            self.folds += 1
            self.refolds += answer.refolded
        finished = self.clock()
        key = (answer.generation, answer.filenode, query)
        # Live facts keep every live answer stale: re-rendered back to back, the live worker
        # took a core the service and the database needed (2 CPUs).
        if lane == "live":
            rest = finished + (finished - started) * self.rest
            self.rest_until = max(self.rest_until, rest)
        held = self.entries.get(key)
        rendered = answer.rendered[0]
        if held is not None and held.rendered == rendered:
            rendered = held.rendered  # unchanged by the new facts: its encoded files still hold
        entry = Entry(answer.snapshot, answer.read_at, rendered)
        if held is None or held.applied_through < entry.applied_through:
            self.entries[key] = entry
            self.behind.pop(key, None)
        self.entries.move_to_end(key)
        self.table = (answer.generation, answer.filenode)
        while len(self.entries) > self.size:
            evicted, _ = self.entries.popitem(last=False)
            self.behind.pop(evicted, None)
        return self.entries[key]


async def _coverage(
    conn: Connection, generation: str, query: ReportQuery, options: TargetOptions
) -> Rendered:
    counts = await readmodel.coverage_counts(conn, generation, query.day, query.recorded_until)
    return views.coverage(counts, query)


async def _credit_listings(
    conn: Connection, generation: str, query: ReportQuery, options: TargetOptions
) -> Rendered:
    listings, agencies = await readmodel_listings.listings_at(
        conn, generation, query.day, query.recorded_until
    )
    return views.credit_listings(listings, agencies, query)


async def _kept_half_year(
    conn: Connection, generation: str, query: ReportQuery, options: TargetOptions
) -> Rendered | None:
    recorded = query.recorded_until
    if recorded is not None and (by_day := _day_ending_at(recorded)) and by_day < query.day:
        # Recorded by a day's end before the period's: the figures kept for that day.
        figures = await readmodel_recorded.figures_at(
            conn, generation, kept_figures.half_year_layout(), by_day, query.day, foldworker.FOLDED
        )
        if figures is not None:
            return kept_figures.from_kept(figures, query)
    kept = await readmodel.kept_half_year(
        conn,
        generation,
        checkpoint.LAYOUT,
        query.day,
        query.recorded_until,
        foldworker.FOLDED,
        kept_figures.half_year_layout(),
    )
    if kept is None:
        return None
    if recorded is None or kept.last_recorded is None or recorded >= kept.last_recorded:
        return kept_figures.from_kept(kept.figures, query)
    # Agency facts the state folded were recorded after the cut-off: their views then.
    late = kept_figures.late_at(kept.late, recorded)
    if late is None or not await readmodel.versions_built(conn, generation, "agency"):
        return None
    now = await readmodel.agency_views_at(conn, generation, query.day, None, late.usccs)
    then = await readmodel.agency_views_at(conn, generation, query.day, recorded, late.usccs)
    return kept_figures.from_kept(kept.figures, query, late, now, then)


def _day_ending_at(instant: dt.datetime) -> dt.date | None:
    """The local day `instant` is the last instant of (a cut-off given as a date), if any."""
    day = local_date(instant)
    return day if instant == end_of_local_day(day) else None


# The answer of a report read in one snapshot without a fold; None: this one needs the fold.
Projected = Callable[[Connection, str, ReportQuery, TargetOptions], Awaitable[Rendered | None]]
# Reports answered from versions in the service when enabled, with the kinds of versions each
# reads (docs/design/maintained-figures.md); each exact against the fold
# (test_agency_versions.py ...).
FROM_VERSIONS: dict[str, tuple[frozenset[str], Projected]] = {
    "coverage": (frozenset({"agency"}), _coverage),
    "targets": (frozenset({"agency", "base", "stay"}), readmodel_places.targets),
    "bases": (frozenset({"base", "stay"}), readmodel_places.bases),
    "trends": (frozenset({"agency", "base", "stay"}), readmodel_places.trends),
    "credit_listings": (frozenset({"agency", "listing"}), _credit_listings),
    # Not from versions yet: the figures kept with the state at its period's end, while exact.
    "half_year": (frozenset(), _kept_half_year),
}


async def _from_versions(
    pool: asyncpg.Pool, generation: str, query: ReportQuery, options: TargetOptions
) -> foldworker.Answer | None:
    """The answer read from versions in one snapshot, as a fold worker's would be: the
    snapshot and clock it reflects, the table's file node (the cache's key and check). None
    when the generation does not keep every entity's versions of a kind it reads (made
    before them)."""
    kinds, projected = FROM_VERSIONS[query.kind]
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        read = await conn.fetchrow("SELECT pg_current_snapshot()::text, statement_timestamp()")
        assert read is not None  # a SELECT without FROM gives one row
        for kind in sorted(kinds):
            if not await readmodel.versions_built(conn, generation, kind):
                return None
        filenode = await readmodel.facts_filenode(conn, generation)
        rendered = await projected(conn, generation, query, options)
    if rendered is None:
        return None
    return foldworker.Answer(generation, filenode, read[0], read[1], [rendered], refolded=False)


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A check's connection back in its pool: it ran one statement outside a transaction."""
