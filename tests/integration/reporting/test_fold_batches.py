"""A fold's facts in batches (readmodel.fold_rows_in_order), the next asked for before the
caller folds one, so that PostgreSQL reads it meanwhile (issue 12: first answers at 1M)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker, readmodel
from tests.integration.reporting.fold_oracle import G, insert
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture


async def test_a_fold_stopped_early_leaves_its_connection_ready(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is asked for before the caller folds one: a caller that stops (an
    error in its fold) waits for that fetch, and the connection runs its next statement."""
    monkeypatch.setattr(readmodel, "FOLD_BATCH", 100)  # a fetch in flight after the first
    await insert(pool, list(fact_rows(2000, seed=73)))
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        batches = await readmodel.fold_rows_in_order(
            conn, G, dt.date(2030, 1, 1), None, foldworker.FOLDED
        )
        try:
            async for rows in batches:
                assert rows
                break
        finally:
            await batches.aclose()
        assert await conn.fetchval(f"SELECT count(*) > 0 FROM {G}.facts")
