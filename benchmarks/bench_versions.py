"""Agency versions (domain/versions.py) on a kept benchmark database: their build, their size,
coverage answered from them for new as-of dates, and the live path's cost (issue 12).

`.venv/bin/python -m benchmarks.bench_versions --state /work/bench-state/NAME-1m
--database bench_8053adfb903b [--dates 40]`

1. Build: every agency fact of the current generation read, validated, folded into summaries
   and versions, and the versions stored (what a replay's bulk fold adds, replay.Agencies).
2. Answers: `readmodel.coverage_counts`, then `agency_views_at` (every agency's view, as a
   fold's state holds them), for cut-offs no fold has seen, by occurrence and by recording
   (no fold, no held state; the same cut-offs for both), timed per query.
3. Exact: a sample of those cut-offs compared with the fold of the agency facts within them
   (coverage reads agencies only, state.AGENCY_FACTS).
4. The fold path (foldworker.Worker, as reports are answered today) for new cut-offs, a new
   worker each (no held state, a kept state where one serves), timed and compared.
5. Live: `refresh_agencies` of batches of agencies, as the consumer runs it per batch.
With `--listings`, the same for listing versions and credit lists (readmodel_listings) only.
PostgreSQL is started from the state folder's `postgres` (devstack); nothing else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
from devstack.postgres import start_postgres

from servicekit.eventstore.store import init_connection
from services.reporting import cache, foldworker, readmodel, readmodel_listings
from services.reporting.domain import reports
from services.reporting.domain.periods import end_of_local_day
from services.reporting.domain.state import AGENCY_TYPES, CityState, apply_event
from services.reporting.domain.targets import TargetOptions
from services.reporting.domain.versions import current
from services.reporting.views import Kind, ReportQuery

COLUMNS = readmodel._FOLD_COLUMNS  # what a fold reads of a fact
AGENCY = "service = 'registry' AND event_type = ANY($1)"


@contextlib.contextmanager
def kept_database(state: str, database: str) -> Iterator[str]:
    """The DSN of a database a benchmark kept in `state` (its PostgreSQL started for the block),
    with the load average printed before and after."""
    print(f"load average at start {[round(x, 2) for x in os.getloadavg()]}")
    server = start_postgres(Path(state) / "postgres")
    try:
        base, _, _ = server.url.rpartition("/")
        yield f"{base}/{database}"
    finally:
        server.stop()
    print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")


def kept_database_arguments(description: str) -> argparse.ArgumentParser:
    """A script's parser with the `kept_database` arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--state", required=True, help="a copy of a benchmark state folder")
    parser.add_argument("--database", required=True, help="the kept database in it")
    return parser


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_times(label: str, times: list[float]) -> None:
    """One line of a timed series: how many, p50, p99 and max."""
    times = sorted(times)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(
        f"{label}: {len(times)} cut-offs, p50 {ms(statistics.median(times))}, "
        f"p99 {ms(p99)}, max {ms(times[-1])}"
    )


async def _build(conn: asyncpg.Connection, g: str) -> None:
    started = time.perf_counter()
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM {g}.facts WHERE {AGENCY}", list(AGENCY_TYPES))  # noqa: S608 - checked identifier
    read = time.perf_counter()
    by_agency = readmodel.agency_facts(rows)
    parsed = time.perf_counter()
    versions = readmodel.versions_of(by_agency)
    versioned = time.perf_counter()
    current(versions)
    summarised = time.perf_counter()
    async with conn.transaction():
        await conn.execute(f"TRUNCATE {g}.agency_versions")
        await readmodel.store_versions(conn, g, [], versions)
        await readmodel.mark_versions_built(conn, g)  # every agency's: coverage may read them
    stored = time.perf_counter()
    await conn.execute(f"ANALYZE {g}.agency_versions")
    size = await conn.fetchval(
        f"SELECT pg_size_pretty(pg_total_relation_size('{g}.agency_versions'))"
    )
    print(
        f"build: {len(rows)} agency facts of {len(by_agency)} agencies -> {len(versions)} versions"
    )
    print(
        f"  read {ms(read - started)}, validate {ms(parsed - read)}, versions "
        f"{ms(versioned - parsed)}, summaries from them {ms(summarised - versioned)}, "
        f"store {ms(stored - summarised)}; table with its key {size}"
    )


def _cutoffs(count: int) -> list[tuple[dt.date, dt.datetime | None]]:
    rng = random.Random(7)
    cutoffs: list[tuple[dt.date, dt.datetime | None]] = []
    for _ in range(count):
        day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 4150))
        lag = rng.choice([None, 0, 30, 200])
        recorded = None if lag is None else end_of_local_day(day + dt.timedelta(days=lag))
        cutoffs.append((day, recorded))
    return cutoffs


async def _answers(conn: asyncpg.Connection, g: str, count: int) -> None:
    cutoffs = _cutoffs(count * 2)
    for name, answer in (
        ("coverage", readmodel.coverage_counts),
        ("agencies' views", readmodel.agency_views_at),
    ):
        for label, by_recording in (("by occurrence", False), ("by recording", True)):
            times = []
            for day, recorded in cutoffs:
                if (recorded is not None) != by_recording:
                    continue
                started = time.perf_counter()
                await answer(conn, g, day, recorded)
                times.append(time.perf_counter() - started)
            print_times(f"{name} {label}", times)


async def _exact(conn: asyncpg.Connection, g: str, sample: int) -> None:
    for day, recorded in _cutoffs(sample):
        started = time.perf_counter()
        within = (
            f"{AGENCY} AND effective_on <= $2 AND ($3::timestamptz IS NULL OR recorded_at <= $3)"
        )
        query = f"SELECT {COLUMNS} FROM {g}.facts WHERE {within}"  # noqa: S608 - checked identifier
        rows = await conn.fetch(query, list(AGENCY_TYPES), day, recorded)
        state = CityState()  # the fold itself (state.fold's order), not the versions
        for facts in readmodel.agency_facts(rows).values():
            for event, on, _ in facts:
                apply_event(state, event, on)
        fold = time.perf_counter() - started
        expected = reports.coverage_counts(state.agencies.values())
        found = await readmodel.coverage_counts(conn, g, day, recorded)
        assert found == expected, (day, recorded)
        print(
            f"exact {day} recorded by {recorded}: equal ({sum(found.values())} counted; "
            f"the agency facts' fold took {ms(fold)})"
        )


async def _fold_path(
    dsn: str, g: str, conn: asyncpg.Connection, count: int, kind: Kind = "coverage"
) -> None:
    """The path reports take without versions (foldworker: a kept state, then the facts to
    the cut-off, then the render), a new worker per cut-off (no held state), against the
    versions (the cache's answer from them, cache.FROM_VERSIONS)."""
    for day, recorded in _cutoffs(count):
        text = recorded.isoformat() if recorded else None
        query = ReportQuery(kind, day, recorded, text, include_removed=True)
        worker = foldworker.Worker()
        started = time.perf_counter()
        answer = await worker.answer(dsn, g, [query], TargetOptions())
        fold = time.perf_counter() - started
        started = time.perf_counter()
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            found = await cache.FROM_VERSIONS[kind][1](conn, g, query, TargetOptions())
        versions = time.perf_counter() - started
        assert found == answer.rendered[0], query
        for opened in (worker.conn, worker.writer):
            if opened is not None:
                await opened.close()
        print(
            f"first answer of {kind} {day} recorded by {recorded}: fold path {ms(fold)} "
            f"(from a kept state: {bool(worker.restored)}), versions {ms(versions)}, equal"
        )


async def _listings(dsn: str, g: str, conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    """Listing versions (readmodel_listings): their build after a bulk load, credit lists from
    them for new cut-offs, the fold path beside them (equal), a live batch's refresh."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, init=init_connection)
    try:
        started = time.perf_counter()
        await readmodel_listings.build_all(pool, g)
        built = time.perf_counter() - started
    finally:
        await pool.close()
    row = await conn.fetchrow(
        f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{g}.listing_versions')) "  # noqa: S608 - checked identifier
        f"FROM {g}.listing_versions"
    )
    assert row is not None  # an aggregate: one row
    count, size = row
    print(f"listing versions: build_all {ms(built)}, {count} rows, {size} with the key")
    answer = cache.FROM_VERSIONS["credit_listings"][1]
    for label, by_recording in (("by occurrence", False), ("by recording", True)):
        times = []
        for day, recorded in _cutoffs(args.dates * 2):
            if (recorded is not None) != by_recording:
                continue
            query = ReportQuery("credit_listings", day, recorded, None, include_removed=True)
            started = time.perf_counter()
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                await answer(conn, g, query, TargetOptions())
            times.append(time.perf_counter() - started)
        print_times(f"credit lists from versions {label}", times)
    await _fold_path(dsn, g, conn, args.fold, "credit_listings")
    ids = [r[0] for r in await conn.fetch(f"SELECT DISTINCT listing_id FROM {g}.listing_versions")]  # noqa: S608 - checked identifier
    size = min(args.batch, len(ids))

    async def listings(rng: random.Random) -> None:
        await readmodel_listings.refresh_listings(conn, g, rng.sample(ids, size))

    await time_refreshes(conn, listings, 5, f"refresh_listings of {size} listings")


async def time_refreshes(
    conn: asyncpg.Connection,
    refresh: Callable[[random.Random], Awaitable[None]],
    seed: int,
    what: str,
) -> None:
    """20 live batches of `refresh`, each in a transaction as the consumer's: p50 and max."""
    rng = random.Random(seed)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        async with conn.transaction():
            await refresh(rng)
        times.append(time.perf_counter() - started)
    print(f"live {what}: p50 {ms(statistics.median(times))}, max {ms(max(times))} (20 batches)")


async def _live(conn: asyncpg.Connection, g: str, batch: int) -> None:
    usccs = [r[0] for r in await conn.fetch(f"SELECT uscc FROM {g}.agencies")]  # noqa: S608 - checked identifier

    async def agencies(rng: random.Random) -> None:
        await readmodel.refresh_agencies(conn, g, rng.sample(usccs, batch))

    await time_refreshes(conn, agencies, 3, f"refresh_agencies of {batch} agencies")


async def main(args: argparse.Namespace, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        started = time.perf_counter()
        g = await readmodel.ensure(conn)
        print(f"ensure (an upgrade's DDL, if any) {ms(time.perf_counter() - started)}")
        if args.listings:
            await _listings(dsn, g, conn, args)
            return
        await _build(conn, g)
        await _answers(conn, g, args.dates)
        await _exact(conn, g, args.exact)
        await _fold_path(dsn, g, conn, args.fold)
        await _live(conn, g, args.batch)
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = kept_database_arguments(__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=40, help="new cut-offs per kind")
    parser.add_argument("--exact", type=int, default=6, help="cut-offs compared with a fold")
    parser.add_argument("--fold", type=int, default=6, help="cut-offs answered by the fold path")
    parser.add_argument("--batch", type=int, default=100, help="agencies per live batch")
    parser.add_argument(
        "--listings", action="store_true", help="listing versions and credit lists only"
    )
    arguments = parser.parse_args()
    with kept_database(arguments.state, arguments.database) as dsn:
        asyncio.run(main(arguments, dsn))
