"""The fold worker and the answer cache give exactly what the old per-request fold gave.

Oracle: every fact within the cut-off loaded at once and folded with `state.fold` (the path every
report took before issue 12). A generated history arrives in shuffled chunks (backdated facts and
late recordings included) and, after each chunk, every report is compared for many as-of dates,
by occurrence and by recording, while the worker advances its held states, extends a held state
of an earlier cut-off, or folds again.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import asyncpg
import pytest

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker
from services.reporting.cache import ReportCache
from services.reporting.domain.periods import end_of_local_day
from services.reporting.views import Rendered, ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold, queries
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture

CUTOFFS = [
    (dt.date(2017, 6, 30), None),
    (dt.date(2019, 12, 31), None),
    (dt.date(2021, 6, 30), None),
    (dt.date(2026, 12, 31), None),
    (dt.date(2020, 6, 30), end_of_local_day(dt.date(2020, 7, 5))),
    (dt.date(2023, 12, 31), end_of_local_day(dt.date(2022, 3, 1))),
    (dt.date(2030, 1, 1), end_of_local_day(dt.date(2024, 1, 1))),
]


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> Rendered:
    return render(await old_fold(pool, query.day, query.recorded_until), query, OPTIONS)


async def test_worker_answers_equal_the_old_fold_as_facts_arrive(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = list(fact_rows(4000, seed=12))
    # Also the days most facts take effect on: a state extended from one as of such a day must
    # not fold that day's facts twice (nor miss them).
    busiest = sorted(day for day, _ in Counter(r[7] for r in rows).most_common(4))
    cutoffs = [*CUTOFFS, *((day, None) for day in busiest)]
    monkeypatch.setattr(foldworker, "HELD_STATES", len(cutoffs))
    rng = random.Random(12)
    rng.shuffle(rows)  # arrival order is not fold order: backdated facts land mid-history
    last_days = sorted({r[7] for r in rows})[-2:]
    # The last chunks hold the last two days' facts: they sort after everything folded, so held
    # states advance instead of folding again; arriving latest first, the later chunks sort
    # before the earlier ones (as live facts from different partitions do) and are merged.
    tail = sorted((r for r in rows if r[7] in last_days), key=lambda r: (r[7], r[8], r[9], r[0]))
    tail.reverse()
    rest = [r for r in rows if r[7] not in last_days]
    step = max(1, len(tail) // 3)
    chunks = [
        rest[:1500],
        rest[1500:2500],
        rest[2500:],
        *(tail[i : i + step] for i in range(0, len(tail), step)),
    ]
    worker = foldworker.Worker()
    refolds = advances = 0
    for chunk in chunks:
        await insert(pool, chunk)
        for day, recorded in cutoffs:
            asked = queries(day, recorded)
            answer = await worker.answer(database_url, G, asked, OPTIONS)
            refolds += answer.refolded
            advances += not answer.refolded
            state = await old_fold(pool, day, recorded)
            for query, rendered in zip(asked, answer.rendered, strict=True):
                assert rendered == render(state, query, OPTIONS), (query, chunk is tail)
    merges = sum(held.merges for held in worker.held.values())
    extended = worker.extended  # states made from a held state of an earlier cut-off
    assert refolds and advances and merges and extended, (refolds, advances, merges, extended)


async def test_an_answer_is_reused_until_a_fact_within_its_cutoff_arrives(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = list(fact_rows(1500, seed=3))
    past = dt.date(2020, 6, 30)
    await insert(pool, [r for r in rows if r[7] <= past])
    later = [r for r in rows if r[7] > past]
    cache = ReportCache(database_url, OPTIONS)
    query = ReportQuery("half_year", past, None, None, year=2020, half="mid_year")
    try:
        first = await cache.answer(pool, query)  # computed in the worker process
        assert cache.folds == 1 and first == await oracle(pool, query)
        await insert(pool, later)  # every one effective after the cut-off
        assert await cache.answer(pool, query) == first and cache.folds == 1
        # A backdated fact (effective within the cut-off) makes the answer stale.
        backdated = [r for r in rows if r[7] <= past][:1]
        moved = (f"{backdated[0][0]}-late", *backdated[0][1:])
        await insert(pool, [moved])
        again = await cache.answer(pool, query)
        assert cache.folds == 2 and again == await oracle(pool, query)
    finally:
        cache.close()
