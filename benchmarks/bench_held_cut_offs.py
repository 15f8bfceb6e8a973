"""The live lane asked as of today and for the current half-year, in turn (issue 12).

Run from the repository root, on a kept 1M database (`bench_reporting --keep-database`):

    .venv/bin/python -m benchmarks.bench_held_cut_offs --state /work/bench-state/lead-1m \\
        --database bench_8b1df070b9d5 [--rounds 3]

An officer's everyday pages ask the reports as of today (targets, coverage, trends, bases,
credit lists) and the half-year report in progress (as of its period's end). Both go to the live
lane's fold worker, which holds one state. Here the fold worker's entry point
(`foldworker.answer`) runs in this process as in its worker process, against the kept database.
It answers today's reports, then the half-year's (the city and one unit), `--rounds` times in
turn, then the half-year's for the city and every unit in one call (the queries of one cut-off
waiting on the lane are answered together), and prints each answer's milliseconds and how many
kept states were restored.

"Today" is the database's last effective day, and the period is the half-year holding it. In
service no fact takes effect after today, since a command dated in the future is refused. The
benchmark's history is generated with some facts dated and recorded after the real date.

Kafka and PostgreSQL come from the state directory (devstack). Nothing is written to the
database. The figures go in benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import asyncpg

from benchmarks.bench_foundation import infrastructure
from services.reporting import foldworker, readmodel
from services.reporting.domain.periods import Half, report_period
from services.reporting.domain.reports import unit_ids
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import Kind, ReportQuery

TODAY_KINDS: tuple[Kind, ...] = ("targets", "coverage", "trends", "bases", "credit_listings")


async def _last_day(dsn: str) -> tuple[str, dt.date]:
    conn = await asyncpg.connect(dsn)
    try:
        generation = readmodel.checked_generation(
            await conn.fetchval("SELECT current FROM reporting.generation")
        )
        day: dt.date = await conn.fetchval(
            f"SELECT max(effective_on) FROM {generation}.facts"  # noqa: S608 - checked name
        )
        return generation, day
    finally:
        await conn.close()


def _timed(dsn: str, generation: str, queries: list[ReportQuery]) -> float:
    started = time.perf_counter()
    foldworker.answer(dsn, generation, queries, TargetOptions())
    return round((time.perf_counter() - started) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with infrastructure(args.state) as infra:
        dsn = f"{infra.admin_dsn.rpartition('/')[0]}/{args.database}"
        generation, today = asyncio.run(_last_day(dsn))
        half: Half = "mid_year" if today.month <= 6 else "year_end"
        end = report_period(today.year, half).end
        base = ReportQuery("targets", today, None, None)
        today_asked = [replace(base, kind=kind) for kind in TODAY_KINDS]
        period = ReportQuery("half_year", end, None, None, None, today.year, half)
        period_asked = [period, replace(period, scope="jinshui")]
        first = (_timed(dsn, generation, today_asked), _timed(dsn, generation, period_asked))
        turns = [
            (_timed(dsn, generation, today_asked), _timed(dsn, generation, period_asked))
            for _ in range(args.rounds)
        ]
        # The report in progress for the city and every unit, waiting on the lane together.
        every_unit = [period, *(replace(period, scope=unit) for unit in unit_ids())]
        together = [_timed(dsn, generation, every_unit) for _ in range(args.rounds)]
        worker = foldworker._the_worker()
        print(
            json.dumps(
                {
                    "today": today.isoformat(),
                    "period_end": end.isoformat(),
                    "first_ms": first,
                    "in_turn_ms": turns,
                    "every_unit_together_ms": together,
                    "restored": worker.restored,
                    "load": os.getloadavg(),
                    "cpus": os.cpu_count(),
                }
            )
        )


if __name__ == "__main__":
    main()
