"""The oracle of the fold tests (issue 12): a generation's facts inserted as the replay COPYs
them, the old per-request fold of every fact within a cut-off, and the reports compared."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from servicekit.eventstore.store import init_connection
from services.reporting import readmodel
from services.reporting.domain.facts import FactRow
from services.reporting.domain.state import CityState, fold
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery

OPTIONS = TargetOptions()
G = "reporting_g1"


def queries(day: dt.date, recorded: dt.datetime | None) -> list[ReportQuery]:
    text = recorded.isoformat() if recorded else None
    base = ReportQuery("targets", day, recorded, text)
    return [
        base,
        replace(base, kind="half_year", year=day.year, half="mid_year"),
        replace(base, kind="half_year", year=day.year, half="year_end", scope="jinshui"),
        replace(base, kind="coverage"),
        replace(base, kind="trends"),
        replace(base, kind="credit_listings", include_removed=True),
        replace(base, kind="credit_listings", scope="erqi"),
        replace(base, kind="bases"),
    ]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created: asyncpg.Pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=4, init=init_connection
    )
    async with created.acquire() as conn:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")  # the event store makes it
        await readmodel.ensure(conn)
    yield created
    await created.close()


async def insert(pool: asyncpg.Pool, rows: list[FactRow]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, rows)


async def old_fold(pool: asyncpg.Pool, day: dt.date, recorded: dt.datetime | None) -> CityState:
    async with pool.acquire() as conn:
        facts = await readmodel.load_facts(conn, G, effective_until=day, recorded_until=recorded)
    return fold(facts)
