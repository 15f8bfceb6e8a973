"""Where the targets' first answer from the versions goes (readmodel_places.target_inputs, then
views.targets) on a kept benchmark database: each statement's EXPLAIN (ANALYZE, BUFFERS), and
the answer's time split into the statements with their rows' transfer and the render in
Python, for a past year end, by recording and as of today (issue 12).

`.venv/bin/python -m benchmarks.profile_targets --state /work/bench-state/NAME-1m
--database bench_8b1df070b9d5 [--times 15]`

PostgreSQL is started from the state folder's `postgres` (devstack); nothing else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from typing import Any

import asyncpg

from benchmarks.bench_versions import kept_database, kept_database_arguments, ms
from services.reporting import readmodel, readmodel_places, views
from services.reporting.domain.periods import end_of_local_day, local_date
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery


class Recorded:
    """A connection that notes each statement it fetches (to explain them after)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements.append((sql, args))
        return await self.conn.fetch(sql, *args)


def _queries() -> list[ReportQuery]:
    year_end = dt.date(2020, 12, 31)
    by = end_of_local_day(dt.date(2021, 1, 1))
    return [
        ReportQuery("targets", year_end, None, None),
        ReportQuery("targets", year_end, by, by.isoformat()),
        ReportQuery("targets", local_date(dt.datetime.now(dt.UTC)), None, None),
    ]


async def _explain(conn: asyncpg.Connection, g: str, query: ReportQuery) -> None:
    recorded = Recorded(conn)
    await readmodel_places.target_inputs(recorded, g, query.day, query.recorded_until)  # type: ignore[arg-type]
    for sql, args in recorded.statements:
        print(f"-- {' '.join(sql.split())[:120]} ...")
        for row in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args):
            print(f"   {row[0]}")


async def _split(conn: asyncpg.Connection, g: str, query: ReportQuery, times: int) -> None:
    read, rendered = [], []
    for _ in range(times):
        started = time.perf_counter()
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            inputs = await readmodel_places.target_inputs(conn, g, query.day, query.recorded_until)
        middle = time.perf_counter()
        views.targets(inputs, query, TargetOptions())
        read.append(middle - started)
        rendered.append(time.perf_counter() - middle)
    print(
        f"as of {query.day} recorded by {query.recorded_text}: statements and rows p50 "
        f"{ms(statistics.median(read))} (min {ms(min(read))}), render p50 "
        f"{ms(statistics.median(rendered))}; {len(inputs.stays)} stays, {len(inputs.bases)} "
        f"bases read"
    )


async def main(args: argparse.Namespace, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        g = await readmodel.current_generation(conn)
        for query in _queries():
            await _explain(conn, g, query)
        for query in _queries():
            await _split(conn, g, query, args.times)
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = kept_database_arguments(__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=15, help="answers timed per cut-off")
    arguments = parser.parse_args()
    with kept_database(arguments.state, arguments.database) as dsn:
        asyncio.run(main(arguments, dsn))
