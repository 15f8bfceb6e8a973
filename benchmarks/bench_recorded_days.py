"""Half-year reports by a recording date before the period's end (issue 12): the pass that keeps
their figures, and first answers read from them against the same answers folded, in one run.

Run from the repository root, on a kept 1M database (`bench_reporting --keep-database`):

    .venv/bin/python -m benchmarks.bench_recorded_days --state /work/bench-state/lead-1m \\
        --database bench_5de5a38101dd [--from-day 2023-01-01] [--answers 60] [--leg-seconds inf]

First the pass (`recorded_days.keep`, the re-keep's entry point, in a process of its own as the
service runs it): with `--from-day`, the rows from that day on are dropped first and kept again
(the pass folds to the day before it from a kept state); without, it keeps whatever is missing
(all of them on a database never passed). It prints the rows, the wall time, and the process's
CPU time and peak RSS. Then `--answers` half-year reports of random periods of 2019-2025, each
by a random recording date before its period's end (a quarter of them for a unit), each asked of
a new answer cache as the service asks (`ReportCache.answer`, versions on): from the kept
figures; then the first fifth of them with the cache's versions off, which folds them (the
baseline: how they were answered before). The same queries both ways, in one run.

Kafka and PostgreSQL come from the state directory (devstack). It writes into the database:
the rows of `recorded_figures`, and states kept by the pass's fold. The figures go in
benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import statistics
import time
from concurrent.futures import Future
from pathlib import Path

import asyncpg

from benchmarks.bench_foundation import infrastructure
from servicekit.workers import worker_pool
from services.reporting import readmodel, recorded_days
from services.reporting.cache import ReportCache
from services.reporting.domain.periods import Half, end_of_local_day, report_period
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery


async def _prepared(dsn: str, from_day: dt.date | None) -> str:
    """The current generation, its tables as this build makes them, rows from `from_day` gone."""
    conn = await asyncpg.connect(dsn)
    try:
        generation = await readmodel.ensure(conn)
        if from_day is not None:
            await conn.execute(
                f"DELETE FROM {generation}.recorded_figures WHERE day >= $1",  # noqa: S608
                from_day,
            )
        return generation
    finally:
        await conn.close()


def _the_pass(dsn: str, generation: str, leg_seconds: float) -> dict[str, float]:
    """`recorded_days.keep` in a process of its own; its rows, wall time, CPU time and RSS (of
    this process's children: the largest so far), and the longest any transaction of the
    database held a snapshot meanwhile."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with worker_pool(1) as workers:  # as the service starts it (rekeep.py)
        done = workers.submit(recorded_days.keep, dsn, generation, leg_seconds)
        longest = asyncio.run(_longest_snapshot(dsn, done))
        rows = done.result()
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "leg_seconds": leg_seconds,
        "rows": rows,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(child.ru_utime + child.ru_stime - before.ru_utime - before.ru_stime, 1),
        "peak_rss_mib": child.ru_maxrss // 1024,
        "longest_snapshot_s": round(longest, 1),
    }


async def _longest_snapshot(dsn: str, done: Future[int]) -> float:
    """The longest age of a transaction holding a snapshot on the database (vacuum keeps what
    it may read), sampled every half second until the pass is `done` (and at its end)."""
    conn = await asyncpg.connect(dsn)
    passed = asyncio.wrap_future(done)
    longest = 0.0
    try:
        while True:
            age = await conn.fetchval(
                "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()"
            )
            longest = max(longest, float(age))
            finished, _ = await asyncio.wait({passed}, timeout=0.5)  # the sampling interval
            if finished:
                return longest
    finally:
        await conn.close()


def _queries(count: int, seed: int) -> list[ReportQuery]:
    rng = random.Random(seed)
    asked = []
    for _ in range(count):
        year = rng.randint(2019, 2025)
        half: Half = rng.choice(("mid_year", "year_end"))
        period = report_period(year, half)
        day = period.start + dt.timedelta(days=rng.randrange((period.end - period.start).days))
        scope = rng.choice((None, None, None, "jinshui"))
        at = end_of_local_day(day)
        asked.append(
            ReportQuery(
                "half_year", period.end, at, day.isoformat(), year=year, half=half, scope=scope
            )
        )
    return asked


async def _answers(dsn: str, versions: bool, asked: list[ReportQuery]) -> dict[str, float]:
    """Each query's first answer from a new cache: milliseconds, and how many were folded."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    times = []
    folds = 0
    try:
        for query in asked:
            cache = ReportCache(dsn, TargetOptions(), versions=versions)
            await cache.start()
            try:
                started = time.perf_counter()
                await cache.answer(pool, query)
                times.append((time.perf_counter() - started) * 1000)
                folds += cache.folds
            finally:
                cache.close()
    finally:
        await pool.close()
    times.sort()
    return {
        "answers": len(times),
        "folded": folds,
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 1),
        "max_ms": round(times[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--from-day", type=dt.date.fromisoformat)
    parser.add_argument("--answers", type=int, default=60)
    # inf: the pass in one snapshot, as before its legs (the baseline of the longest snapshot)
    parser.add_argument("--leg-seconds", type=float, default=recorded_days.LEG_SECONDS)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    with infrastructure(args.state) as infra:
        dsn = f"{infra.admin_dsn.rpartition('/')[0]}/{args.database}"
        generation = asyncio.run(_prepared(dsn, args.from_day))
        results: dict[str, object] = {
            "cores": os.cpu_count(),
            "load_at_start": os.getloadavg(),
            "pass": _the_pass(dsn, generation, args.leg_seconds),
        }
        asked = _queries(args.answers, args.seed)
        results["kept"] = asyncio.run(_answers(dsn, True, asked))
        results["folded_baseline"] = asyncio.run(
            _answers(dsn, False, asked[: max(8, len(asked) // 5)])
        )
        results["load_at_end"] = os.getloadavg()
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
