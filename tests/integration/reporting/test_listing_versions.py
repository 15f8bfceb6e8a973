"""From the listing and agency versions, no fold: the credit lists (readmodel_listings.listings_at
rendered by views.credit_listings) equal the fold's answer for every cut-off by occurrence and
by recording, as a shuffled history with late listing facts, clock restarts and amendments of
listed agencies arrives; a replay's bulk build stores the versions the live path does; the
cache routes past and by-recording credit lists to them (issue 12)."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import replace
from typing import Any

import asyncpg
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from benchmarks.history_generator import fact_rows
from services.reporting import readmodel, readmodel_listings, views
from services.reporting.cache import ReportCache
from services.reporting.consumers import LiveProjection
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import end_of_local_day, local_date
from services.reporting.domain.versions import LISTING_TYPES
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.support import uscc_for

CST = dt.timezone(dt.timedelta(hours=8))
DAYS = [dt.date(2017, 3, 1), dt.date(2018, 6, 30), dt.date(2019, 12, 31), dt.date(2026, 12, 31)]
RECORDED = [None, *(end_of_local_day(d) for d in (dt.date(2017, 9, 1), dt.date(2019, 2, 1)))]
UNLISTED = uscc_for(7_400_001)  # listed, never registered: its unit is "unknown"


def _row(n: str, event: DomainEvent, day: dt.date, lag: int) -> FactRow:
    occurred = dt.datetime.combine(day, dt.time(9, 45), tzinfo=CST)
    recorded = occurred + dt.timedelta(days=lag, minutes=7)
    return fact_row(
        f"extra-{n}", event, str(getattr(event, event.stream_field)), occurred, recorded
    )


def _late(row: FactRow, days: int) -> FactRow:
    return (*row[:9], row[9] + dt.timedelta(days=days), row[10])


def listing_history(total: int, seed: int) -> list[FactRow]:
    """The generator's history (a few listings and delistings, each recorded on its day) with
    what it lacks: listings of one agency in three, some delisted, listed again under the same
    id or their clock restarted, their facts recorded late; listed agencies renamed and moved
    to another unit (some recorded late); a listing of an agency never registered."""
    rng = random.Random(seed)
    rows: list[FactRow] = []
    for i, row in enumerate(fact_rows(total, seed=seed)):
        late = rng.choice([0, 0, 50, 400]) if row[2] in LISTING_TYPES else 0
        rows.append(_late(row, late))
        if row[2] == "AgencyRegistered" and rng.random() < 0.35:
            rows.extend(_listing_life(rng, str(i), json.loads(row[10])["uscc"], row[7]))
    never = sup.AgencyListed(
        listing_id="listing-of-no-agency",
        uscc=UNLISTED,
        list="serious",
        ground="other",
        legal_basis="办法",
        listed_on=dt.date(2017, 1, 5),
    )
    return [*rows, _row("never", never, dt.date(2017, 1, 5), 10)]


def _listing_life(rng: random.Random, n: str, uscc: str, registered: dt.date) -> list[FactRow]:
    def lag() -> int:
        return rng.choice([0, 0, 20, 400])

    def after(day: dt.date, most: int) -> dt.date:
        return day + dt.timedelta(days=rng.randint(1, most))

    listing_id = f"listing-{n}"
    kind: sup.CreditList = rng.choice(["abnormal", "abnormal", "serious"])
    listed_on = after(registered, 900)

    def listed(ground: str, on: dt.date) -> sup.AgencyListed:
        return sup.AgencyListed(
            listing_id=listing_id, uscc=uscc, list=kind, ground=ground, legal_basis="办法",
            listed_on=on,
        )  # fmt: skip

    rows = [_row(f"{n}-l", listed("unreachable", listed_on), listed_on, lag())]
    if rng.random() < 0.6:
        on = after(listed_on, 300)
        restart = sup.ListingClockRestarted(
            listing_id=listing_id, uscc=uscc, list=kind, ground="other", restarted_on=on
        )
        rows.append(_row(f"{n}-c", restart, on, lag()))
    if rng.random() < 0.5:
        on = after(listed_on, 700)
        gone = sup.AgencyDelisted(
            listing_id=listing_id, uscc=uscc, list=kind, reason="other", removed_on=on
        )
        rows.append(_row(f"{n}-d", gone, on, lag()))
    if rng.random() < 0.15:  # listed again under the same id: the listing starts over
        on = after(listed_on, 900)
        rows.append(_row(f"{n}-a", listed("other", on), on, lag()))
    if rng.random() < 0.5:
        on = listed_on + dt.timedelta(days=rng.randint(-200, 200))
        move = reg.AgencyProfileAmended(
            uscc=uscc,
            name=f"更名后机构{n}",
            reporting_unit=rng.choice(["erqi", "jinshui"]),
            priority=False,
            changed_fields=["name", "reporting_unit"],
        )
        rows.append(_row(f"{n}-m", move, on, rng.choice([0, 300])))
    return rows


async def arrive(pool: asyncpg.Pool, rows: list[FactRow]) -> None:
    """As the live consumer and a replay's catch-up apply a batch: facts, agencies, listings."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, rows)
        await readmodel.refresh_agencies(
            conn, G, [r[5] for r in rows if r[1] == "registry" and r[5]]
        )
        ids = readmodel_listings.listing_ids_of_rows(rows)
        await readmodel_listings.refresh_listings(conn, G, ids)


def credit_queries(day: dt.date, recorded: dt.datetime | None) -> list[ReportQuery]:
    text = recorded.isoformat() if recorded else None
    base = ReportQuery("credit_listings", day, recorded, text)
    return [
        base,
        replace(base, include_removed=True),
        replace(base, scope="erqi"),
        replace(base, scope="unknown", include_removed=True),
    ]


async def from_versions(pool: asyncpg.Pool, query: ReportQuery) -> views.Rendered:
    async with pool.acquire() as conn:
        listings, agencies = await readmodel_listings.listings_at(
            conn, G, query.day, query.recorded_until
        )
    return views.credit_listings(listings, agencies, query)


async def test_credit_lists_from_versions_equal_the_fold_as_facts_arrive(
    pool: asyncpg.Pool,
) -> None:
    rows = listing_history(3000, seed=21)
    assert {"AgencyListed", "AgencyDelisted", "ListingClockRestarted"} <= {r[2] for r in rows}
    assert any(r[2] == "AgencyDelisted" and r[9].date() - r[7] > dt.timedelta(9) for r in rows)
    random.Random(21).shuffle(rows)  # arrival order is not fold order
    seen: set[str] = set()  # what the answers showed: the cases are exercised, not only equal
    for chunk in (rows[:1500], rows[1500:3000], rows[3000:]):
        await arrive(pool, chunk)
        for day in DAYS:
            by_recording: list[Any] = []
            for recorded in RECORDED:
                state = await old_fold(pool, day, recorded)
                for query in credit_queries(day, recorded):
                    answer = await from_versions(pool, query)
                    assert answer == render(state, query, OPTIONS), query
                    body_rows = answer.body["rows"]
                    seen |= {"unknown" for r in body_rows if r["reporting_unit"] == "unknown"}
                    seen |= {"renamed" for r in body_rows if "更名" in str(r["agency_name"])}
                    seen |= {"removed" for r in body_rows if r["removed_on"]}
                by_recording.append(answer.body["rows"])
            if by_recording[0] != by_recording[1]:
                seen.add("late facts left out by recording")
    assert seen == {"unknown", "renamed", "removed", "late facts left out by recording"}


async def versions_table(pool: asyncpg.Pool) -> list[Any]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(f"SELECT * FROM {G}.listing_versions ORDER BY 1, 4, 2"))


async def test_a_replays_bulk_build_stores_the_versions_the_live_path_does(
    pool: asyncpg.Pool,
) -> None:
    rows = listing_history(2000, seed=8)
    random.Random(8).shuffle(rows)
    for start in range(0, len(rows), 400):
        await arrive(pool, rows[start : start + 400])
    live = await versions_table(pool)
    assert len({r["listing_id"] for r in live}) < len(live)  # some listings have many versions
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE {G}.listing_versions SET ground = 'stale'")  # a killed try
    await readmodel_listings.build_all(pool, G)
    assert await versions_table(pool) == live


async def test_the_cache_answers_past_credit_lists_from_the_versions_without_a_fold(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = listing_history(2000, seed=3)
    past = dt.date(2019, 6, 30)
    listed = [r for r in rows if r[2] == "AgencyListed" and r[7] <= past]
    await arrive(pool, [r for r in rows if r not in listed[:1]])
    cache = ReportCache(database_url, OPTIONS, versions=True)
    by_recording = end_of_local_day(dt.date(2019, 7, 5))
    asked = [
        ReportQuery("credit_listings", past, None, None, include_removed=True),
        ReportQuery("credit_listings", past, by_recording, by_recording.isoformat()),
    ]

    async def oracle(query: ReportQuery) -> views.Rendered:
        return render(await old_fold(pool, query.day, query.recorded_until), query, OPTIONS)

    try:
        before = [await cache.answer(pool, query) for query in asked]
        assert before == [await oracle(query) for query in asked]
        # A listing within the cut-offs arrives late: both answers are read again.
        await arrive(pool, listed[:1])
        after = [await cache.answer(pool, query) for query in asked]
        for query, answer in zip(asked, after, strict=True):
            assert answer == await oracle(query)
        assert len(after[0].rows) == len(before[0].rows) + 1  # the late listing counts
        assert (cache.projected, cache.folds) == (4, 0)
        # As of today (the live lane) the fold worker answers, as for coverage.
        live = ReportQuery("credit_listings", local_date(dt.datetime.now(dt.UTC)), None, None)
        assert await cache.answer(pool, live) == await oracle(live)
        assert (cache.projected, cache.folds) == (4, 1)
    finally:
        cache.close()


async def test_a_generation_marked_before_listing_versions_folds_credit_lists(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Marked by the first build (agency versions only): coverage is read from its versions,
    credit lists are folded, never read from a listing table that build left empty."""
    await arrive(pool, listing_history(800, seed=4))
    async with pool.acquire() as conn:
        assert await readmodel.versions_built(conn, G, readmodel_listings.KIND)
        await conn.execute(f"DELETE FROM {G}.versions_built")
        await conn.execute(f"INSERT INTO {G}.versions_built (built_at) VALUES (now())")
        await conn.execute(f"DELETE FROM {G}.listing_versions")  # as that build left it
    cache = ReportCache(database_url, OPTIONS, versions=True)
    day = dt.date(2026, 6, 30)
    credit = ReportQuery("credit_listings", day, None, None, include_removed=True)
    try:
        answer = await cache.answer(pool, credit)
        assert answer.rows  # the fold's, not the empty table's
        assert answer == render(await old_fold(pool, day, None), credit, OPTIONS)
        assert (cache.projected, cache.folds) == (0, 1)
        await cache.answer(pool, ReportQuery("coverage", day, None, None))
        assert (cache.projected, cache.folds) == (1, 1)
    finally:
        cache.close()


async def test_the_checksum_covers_and_a_reset_empties_the_listing_versions(
    pool: asyncpg.Pool,
) -> None:
    await arrive(pool, listing_history(800, seed=6))

    async def checksum() -> dict[str, Any]:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            return await readmodel.checksum(conn, G)

    kept = await checksum()
    assert kept["rows"]["listing_versions"] == len(await versions_table(pool)) > 0
    await pool.execute(
        f"UPDATE {G}.listing_versions SET uscc = 'elsewhere' "
        f"WHERE listing_id = (SELECT min(listing_id) FROM {G}.listing_versions)"
    )
    assert (await checksum())["sha256"] != kept["sha256"]
    async with pool.acquire() as conn, conn.transaction():
        await LiveProjection("reset-test").reset(conn)
    assert await versions_table(pool) == []
