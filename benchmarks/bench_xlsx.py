"""The Excel encode of a credit-list table (exports.to_xlsx), in this process: rows shaped as
`GET /reports/credit-listings?format=xlsx` at 1M (9 columns, Chinese names, removal columns
mostly blank), timed per encode (issue 12: the export's first answer).

`.venv/bin/python -m benchmarks.bench_xlsx [--rows 648] [--times 30]`
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time

from benchmarks.bench_versions import print_times
from services.reporting.api.credit_listings import COLUMNS
from services.reporting.exports import to_xlsx


def credit_rows(count: int, seed: int = 7) -> list[dict[str, object]]:
    """A credit list's table rows as views.credit_listings makes them."""
    rng = random.Random(seed)
    units = ["金水区", "二七区", "郑东新区", "中原区"]
    rows: list[dict[str, object]] = []
    for n in range(count):
        listed = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 3800))
        removed = rng.random() < 0.3
        rows.append(
            {
                "uscc": f"524101{n:04d}H3{rng.randint(0, 10**8):08d}",
                "agency_name": f"郑州市{rng.choice(units)}第{n}社会工作服务中心",
                "unit_name": rng.choice(units),
                "list": rng.choice(["活动异常名录", "严重违法失信名单"]),
                "ground": rng.choice(["rectification_overdue", "annual_report_missing"]),
                "listed_on": listed.isoformat(),
                "removed_on": (listed + dt.timedelta(days=200)).isoformat() if removed else None,
                "removal_reason": "rectified" if removed else None,
                "escalation_due_on": (listed + dt.timedelta(days=730)).isoformat(),
            }
        )
    return rows


def main(args: argparse.Namespace) -> None:
    print(f"load average at start {[round(x, 2) for x in os.getloadavg()]}")
    rows = credit_rows(args.rows)
    to_xlsx(rows[:1], COLUMNS, "信用名录")  # the writer's imports: not the encode's
    times = []
    for _ in range(args.times):
        started = time.perf_counter()
        content = to_xlsx(rows, COLUMNS, "信用名录")
        times.append(time.perf_counter() - started)
    print(f"{len(content)} bytes")
    print_times(f"encode of {args.rows} rows", times)
    print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=648, help="rows of the table")
    parser.add_argument("--times", type=int, default=30, help="encodes timed")
    main(parser.parse_args())
