"""A fold worker SIGKILLed while it restores a kept state (issue 12): the request it was
answering is answered by a new worker, equal to the fold, and the other lane answers meanwhile."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal

import asyncpg

from benchmarks.history_generator import fact_rows
from services.reporting import readmodel
from services.reporting.cache import ReportCache
from services.reporting.views import ReportQuery
from tests.integration.reporting.test_fold_lanes import (
    OPTIONS,
    insert,
    live_fact,
    oracle,
    today_query,
)
from tests.integration.reporting.test_fold_lanes import pool as pool  # the fixture
from tests.support import wait_for

RESTORING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND query LIKE 'SELECT day, snapshot, last_recorded, state, % FROM %checkpoints%'"
)


async def test_a_worker_killed_while_restoring_is_replaced_and_live_answers_go_on(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = list(fact_rows(3000, seed=33))
    await insert(pool, rows)
    cache = ReportCache(database_url, OPTIONS, versions=False)  # the history worker restores
    blocker = await asyncpg.connect(database_url)
    try:
        live = today_query()
        await cache.answer(pool, live)  # the first fold keeps the year and quarter ends
        generation = await readmodel.current_generation(blocker)
        transaction = blocker.transaction()
        await transaction.start()
        # The history worker's read of the kept state waits on this lock: it is killed there.
        await blocker.execute(f"LOCK TABLE {generation}.checkpoints IN ACCESS EXCLUSIVE MODE")
        past = ReportQuery("half_year", dt.date(2023, 6, 30), None, None, year=2023)
        restoring = asyncio.ensure_future(cache.answer(pool, past))
        await wait_for(lambda: _waiting(pool), timeout=60)
        (pid,) = cache.executors["history"]._processes  # the worker's process id
        os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
        await insert(pool, [live_fact(rows[0], 60)])
        assert await cache.answer(pool, live) == await oracle(pool, live)  # meanwhile
        assert not restoring.done()  # its new worker waits for the lock in turn
        await transaction.rollback()
        assert await restoring == await oracle(pool, past)
        assert cache.executors["history"]._processes.keys() != {pid}
    finally:
        await blocker.close()
        cache.close()


async def _waiting(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval(RESTORING))
