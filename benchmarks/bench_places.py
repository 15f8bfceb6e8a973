"""Base and stay versions (readmodel_places.py) on a kept benchmark database: their build, their
size, targets / bases / trends answered from them for new as-of dates against the fold path,
and the live path's cost (issue 12).

`.venv/bin/python -m benchmarks.bench_places --state /work/bench-state/NAME-1m
--database bench_21a946f13695 [--dates 30] [--fold 6]`

1. Build: `readmodel.ensure` (the tables and the facts' two partial indexes on a generation
   made before them), then `readmodel_places.build_all` (what a replay's finish adds), timed;
   the generation marked as keeping every kind.
2. Answers: each report from the versions (SQL, the pure render) for cut-offs no fold has
   seen, by occurrence and by recording, timed per answer.
3. The fold path (foldworker.Worker, a new one per cut-off: kept state + facts + render, as a
   new as-of date is answered without versions) for the same three reports, compared.
4. Live: `readmodel_places.refresh` of batches of stays and bases, as the consumer runs it.
PostgreSQL is started from the state folder's `postgres` (devstack); nothing else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time

import asyncpg

from benchmarks.bench_versions import (
    kept_database,
    kept_database_arguments,
    ms,
    print_times,
    time_refreshes,
)
from servicekit.eventstore.store import init_connection
from services.reporting import foldworker, readmodel, readmodel_places
from services.reporting.domain.periods import end_of_local_day
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import Kind, ReportQuery

OPTIONS = TargetOptions()
KINDS: tuple[Kind, ...] = ("targets", "bases", "trends")
ANSWERS = {
    "targets": readmodel_places.targets,
    "bases": readmodel_places.bases,
    "trends": readmodel_places.trends,
}


async def _build(conn: asyncpg.Connection, pool: asyncpg.Pool) -> str:
    started = time.perf_counter()
    g = await readmodel.ensure(conn)
    ensured = time.perf_counter()
    await readmodel_places.build_all(pool, g)
    built = time.perf_counter()
    await conn.execute(
        f"UPDATE {g}.versions_built SET kinds = $1",  # noqa: S608 - checked identifier
        list(readmodel.VERSION_KINDS),
    )
    await conn.execute(f"ANALYZE {g}.base_versions; ANALYZE {g}.stay_versions")
    for table in ("base_versions", "stay_versions"):
        rows = await conn.fetchval(f"SELECT count(*) FROM {g}.{table}")  # noqa: S608 - checked identifier
        size = await conn.fetchval(f"SELECT pg_size_pretty(pg_total_relation_size('{g}.{table}'))")
        print(f"{table}: {rows} rows, {size} with its key")
    print(f"ensure {ms(ensured - started)}, build_all {ms(built - ensured)}")
    return g


def _cutoffs(count: int, seed: int) -> list[tuple[dt.date, dt.datetime | None]]:
    rng = random.Random(seed)
    cutoffs: list[tuple[dt.date, dt.datetime | None]] = []
    for _ in range(count):
        day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 4150))
        lag = rng.choice([None, 0, 30, 200])
        recorded = None if lag is None else end_of_local_day(day + dt.timedelta(days=lag))
        cutoffs.append((day, recorded))
    return cutoffs


def _query(kind: Kind, day: dt.date, recorded: dt.datetime | None) -> ReportQuery:
    return ReportQuery(kind, day, recorded, recorded.isoformat() if recorded else None)


async def _answers(conn: asyncpg.Connection, g: str, count: int) -> None:
    cutoffs = _cutoffs(count, 11)
    for kind in KINDS:
        for label, by_recording in (("by occurrence", False), ("by recording", True)):
            times = []
            for day, recorded in cutoffs:
                if (recorded is not None) != by_recording:
                    continue
                started = time.perf_counter()
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    await ANSWERS[kind](conn, g, _query(kind, day, recorded), OPTIONS)
                times.append(time.perf_counter() - started)
            if not times:  # too few cut-offs for both kinds
                continue
            print_times(f"{kind} from versions {label}", times)


async def _fold_path(dsn: str, g: str, conn: asyncpg.Connection, count: int) -> None:
    """A new worker per cut-off answers the three reports from one fold; the versions answer
    each on its own; every answer compared."""
    for day, recorded in _cutoffs(count, 5):
        queries = [_query(kind, day, recorded) for kind in KINDS]
        worker = foldworker.Worker()
        started = time.perf_counter()
        answer = await worker.answer(dsn, g, queries, OPTIONS)
        fold = time.perf_counter() - started
        spent = []
        for query, folded in zip(queries, answer.rendered, strict=True):
            started = time.perf_counter()
            found = await ANSWERS[query.kind](conn, g, query, OPTIONS)
            spent.append(time.perf_counter() - started)
            assert found == folded, query
        for opened in (worker.conn, worker.writer):
            if opened is not None:
                await opened.close()
        print(
            f"first answers {day} recorded by {recorded}: fold path (one fold, three renders) "
            f"{ms(fold)} (kept state: {bool(worker.restored)}); versions targets / bases / "
            f"trends {' / '.join(ms(s) for s in spent)}; all equal"
        )


async def _live(conn: asyncpg.Connection, g: str, stays: int) -> None:
    ids = [r[0] for r in await conn.fetch(f"SELECT DISTINCT incubation_id FROM {g}.stay_versions")]  # noqa: S608 - checked identifier
    bases = [r[0] for r in await conn.fetch(f"SELECT DISTINCT base_id FROM {g}.base_versions")]  # noqa: S608 - checked identifier

    async def refresh(rng: random.Random) -> None:
        places = readmodel_places.Places(set(rng.sample(bases, 2)), set(rng.sample(ids, stays)))
        await readmodel_places.refresh(conn, g, places)

    await time_refreshes(conn, refresh, 3, f"refresh of {stays} stays and 2 bases")


async def main(args: argparse.Namespace, dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, init=init_connection)
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        g = await _build(conn, pool)
        await _answers(conn, g, args.dates)
        await _fold_path(dsn, g, conn, args.fold)
        await _live(conn, g, args.stays)
    finally:
        await conn.close()
        await pool.close()


if __name__ == "__main__":
    parser = kept_database_arguments(__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=30, help="new cut-offs per report")
    parser.add_argument("--fold", type=int, default=6, help="cut-offs answered by the fold path")
    parser.add_argument("--stays", type=int, default=50, help="stays per live batch")
    arguments = parser.parse_args()
    with kept_database(arguments.state, arguments.database) as dsn:
        asyncio.run(main(arguments, dsn))
