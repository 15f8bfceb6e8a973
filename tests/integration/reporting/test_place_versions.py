"""From the base, stay and agency versions, no fold: targets, `GET /reports/bases` and trends
equal the fold's answers for cut-offs by occurrence and by recording, as a shuffled history
arrives with late establishments, stays and graduations, closed and refitted bases, extended
and re-linked stays; a replay's bulk build stores the versions the live path does; the cache
routes past and by-recording cut-offs to them and folds the rest (issue 12)."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import replace
from typing import Any

import asyncpg
from socialwork_contracts import incubation as inc
from socialwork_contracts.base import DomainEvent

from benchmarks.history_generator import fact_rows
from services.reporting import readmodel, readmodel_places, views
from services.reporting.cache import ReportCache
from services.reporting.consumers import LiveProjection
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import end_of_local_day, local_date
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.support import example

CST = dt.timezone(dt.timedelta(hours=8))
DAYS = [
    dt.date(2016, 12, 31),
    dt.date(2018, 6, 30),
    dt.date(2019, 3, 1),
    dt.date(2020, 12, 31),
    dt.date(2021, 7, 15),
    dt.date(2023, 12, 31),
    dt.date(2026, 12, 31),
]
RECORDED = [
    None,
    *(end_of_local_day(d) for d in (dt.date(2018, 2, 1), dt.date(2020, 6, 1), dt.date(2022, 1, 1))),
]
KINDS: tuple[views.Kind, ...] = ("targets", "bases", "trends")
LATE = ("BaseEstablished", "IncubationStarted", "AgencyGraduated")


def _row(n: int, event: DomainEvent, day: dt.date, lag_days: int) -> FactRow:
    occurred = dt.datetime.combine(day, dt.time(9, 30), tzinfo=CST)
    recorded = occurred + dt.timedelta(days=lag_days, minutes=5)
    return fact_row(f"extra-{n:05d}", event, str(getattr(event, "base_id")), occurred, recorded)  # noqa: B009 - every extra names its base


def _late(row: FactRow, days: int) -> FactRow:
    return (*row[:9], row[9] + dt.timedelta(days=days), row[10])


def place_history(seed: int) -> list[FactRow]:
    """The generated history (bases, stays, graduations, terminations), a third of its
    establishments, stays and graduations recorded late, and the kinds it lacks added."""
    rng = random.Random(seed)
    rows = []
    for row in fact_rows(3000, seed=seed):
        if row[2] in LATE and rng.random() < 0.35:
            row = _late(row, rng.choice([20, 200, 400]))
        rows.append(row)
    bases = [json.loads(r[10]) for r in rows if r[2] == "BaseEstablished"]
    stays = [json.loads(r[10]) for r in rows if r[2] == "IncubationStarted"]
    extra: list[FactRow] = []
    for b in bases[:6]:
        closed_on = dt.date.fromisoformat(b["established_on"]) + dt.timedelta(days=700)
        event: DomainEvent = example(inc.BaseClosed, base_id=b["base_id"], closed_on=closed_on)
        extra.append(_row(len(extra), event, closed_on, 30))
    for b in bases[6:9]:
        updated_on = dt.date.fromisoformat(b["established_on"]) + dt.timedelta(days=100)
        office = {"office_id": "1", "area_m2": "20.00", "shared_room": True}
        event = example(
            inc.BaseFacilitiesUpdated, base_id=b["base_id"], offices=[office], updated_on=updated_on
        )
        extra.append(_row(len(extra), event, updated_on, 0))
    for s in stays[:8]:
        term_end = dt.date.fromisoformat(s["term_end"])
        on = term_end - dt.timedelta(days=10)
        fields = {k: s[k] for k in ("incubation_id", "base_id", "uscc")}
        event = example(
            inc.IncubationExtended,
            **fields,
            previous_term_end=term_end,
            term_end=term_end + dt.timedelta(days=365),
            extended_on=on,
        )
        extra.append(_row(len(extra), event, on, 5))
    for i, s in enumerate(stays[8:16]):
        on = dt.date.fromisoformat(s["started_on"]) + dt.timedelta(days=40)
        event = example(
            inc.IncubationIdentityLinked,
            incubation_id=s["incubation_id"],
            base_id=s["base_id"],
            uscc=f"52410105LINKED{i:04d}",
            linked_on=on,
        )
        extra.append(_row(len(extra), event, on, 60))
    everything = rows + extra
    random.Random(seed).shuffle(everything)  # arrival order is not fold order
    return everything


async def arrive(pool: asyncpg.Pool, rows: list[FactRow]) -> None:
    """As a replay's catch-up and the live consumer apply a batch: facts and their versions."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, rows)
        await readmodel.refresh_agencies(
            conn, G, [r[5] for r in rows if r[1] == "registry" and r[5]]
        )
        await readmodel_places.refresh(conn, G, readmodel_places.places_of_rows(rows))


async def from_versions(pool: asyncpg.Pool, query: ReportQuery) -> views.Rendered:
    answer = {
        "targets": readmodel_places.targets,
        "bases": readmodel_places.bases,
        "trends": readmodel_places.trends,
    }[query.kind]
    async with pool.acquire() as conn:
        return await answer(conn, G, query, OPTIONS)


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> views.Rendered:
    return render(await old_fold(pool, query.day, query.recorded_until), query, OPTIONS)


async def test_targets_bases_and_trends_from_versions_equal_the_fold_as_facts_arrive(
    pool: asyncpg.Pool,
) -> None:
    rows = place_history(21)
    differing: set[str] = set()  # reports where by recording and by occurrence differ
    for chunk in (rows[:1100], rows[1100:2300], rows[2300:]):
        await arrive(pool, chunk)
        for day in DAYS:
            answers: dict[str, list[Any]] = {kind: [] for kind in KINDS}
            for recorded in RECORDED:
                state = await old_fold(pool, day, recorded)
                text = recorded.isoformat() if recorded else None
                base = ReportQuery("targets", day, recorded, text)
                for query in (
                    base,
                    replace(base, kind="bases"),
                    replace(base, kind="bases", scope="zhongyuan"),
                    replace(base, kind="trends"),
                ):
                    answer = await from_versions(pool, query)
                    assert answer == render(state, query, OPTIONS), query
                    if query.scope is None:
                        answers[query.kind].append(answer.body)
            differing |= {kind for kind, bodies in answers.items() if _differ(bodies)}
    assert differing == set(KINDS), "some by-recording cut-off left out late facts of each"


async def test_target_two_reads_only_stays_its_locality_rule_may_count(
    pool: asyncpg.Pool,
) -> None:
    """A first-year stay of a non-local agency at a district or township base never counts
    for target 2 (targets._local): it is not read (1M: two stays in three as of 2020-12-31).
    Those at a city-level base, local or not, are; the answers stay the fold's."""
    rows = place_history(21)
    await arrive(pool, rows)
    levels = {b.base_id: b.level for b in local_bases(rows)}
    read: list[tuple[bool, str]] = []
    for day in (dt.date(2020, 12, 31), dt.date(2026, 12, 31)):
        async with pool.acquire() as conn:
            stays = await readmodel_places.first_year_stays(conn, G, day, None)
        read += [(s.local, levels[s.base_id]) for s in stays]
        query = ReportQuery("targets", day, None, None)
        assert await from_versions(pool, query) == await oracle(pool, query)
    assert {level for local, level in read if not local} == {"city"}
    assert {level for local, level in read if local} - {"city"}, "local ones elsewhere are read"
    assert _non_local_first_year_stays(rows) - {"city"}, "the history has some to leave out"


def local_bases(rows: list[FactRow]) -> list[inc.BaseEstablished]:
    return [
        inc.BaseEstablished.model_validate_json(r[10]) for r in rows if r[2] == "BaseEstablished"
    ]


def _non_local_first_year_stays(rows: list[FactRow]) -> set[str]:
    """The levels of the bases that non-local agencies moved into in their first year."""
    bases = {b.base_id: b for b in local_bases(rows)}
    found: set[str] = set()
    for r in rows:
        if r[2] != "IncubationStarted":
            continue
        stay = inc.IncubationStarted.model_validate_json(r[10])
        base = bases[stay.base_id]
        if not stay.local and 0 <= (stay.started_on - base.established_on).days < 365:
            found.add(base.level)
    return found


def _differ(bodies: list[Any]) -> bool:
    """Whether the answers by recording differ from the one by occurrence (beyond the echo)."""
    return len({json.dumps({**b, "recorded_until": None}, sort_keys=True) for b in bodies}) > 1


async def versions_tables(pool: asyncpg.Pool) -> list[list[Any]]:
    async with pool.acquire() as conn:
        return [
            list(await conn.fetch(f"SELECT * FROM {G}.{table} ORDER BY 1, 4, 2"))
            for table in ("base_versions", "stay_versions")
        ]


async def test_a_replays_bulk_build_stores_the_versions_the_live_path_does(
    pool: asyncpg.Pool,
) -> None:
    rows = place_history(5)
    for start in range(0, len(rows), 700):
        await arrive(pool, rows[start : start + 700])
    live = await versions_tables(pool)
    assert all(live)
    async with pool.acquire() as conn:
        await conn.execute(f"DELETE FROM {G}.base_versions; DELETE FROM {G}.stay_versions")
        # The live consumer names a batch's places from its facts, a replay from its rows.
        facts = await readmodel.load_facts(conn, G, effective_until=None, recorded_until=None)
    assert readmodel_places.places_of_facts(facts) == readmodel_places.places_of_rows(rows)
    await readmodel_places.build_all(pool, G)
    assert await versions_tables(pool) == live


async def test_the_cache_answers_past_cut_offs_from_the_versions_and_folds_the_rest(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = place_history(3)
    past = dt.date(2021, 6, 30)
    stays = [r for r in rows if r[2] == "IncubationStarted" and r[7] <= past]
    await arrive(pool, [r for r in rows if r not in stays[:1]])
    cache = ReportCache(database_url, OPTIONS, versions=True)
    by_recording = end_of_local_day(dt.date(2021, 7, 5))
    asked = [
        ReportQuery(kind, past, recorded, recorded.isoformat() if recorded else None)
        for kind in KINDS
        for recorded in (None, by_recording)
    ]
    try:
        before = [await cache.answer(pool, query) for query in asked]
        assert before == [await oracle(pool, query) for query in asked]
        assert (cache.projected, cache.folds) == (6, 0)
        # A stay within the cut-offs arrives late: every answer is read again.
        await arrive(pool, stays[:1])
        for query in asked:
            assert await cache.answer(pool, query) == await oracle(pool, query)
        assert (cache.projected, cache.folds) == (12, 0)
        # As of today (the live lane) the fold worker answers.
        live = ReportQuery("targets", local_date(dt.datetime.now(dt.UTC)), None, None)
        assert await cache.answer(pool, live) == await oracle(pool, live)
        assert (cache.projected, cache.folds) == (12, 1)
    finally:
        cache.close()


async def test_a_generation_marked_for_agency_versions_only_folds_these_reports(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A generation an older build marked (agency versions only) has empty base and stay
    tables: targets, bases and trends are folded there, coverage still read from versions."""
    await arrive(pool, place_history(4)[:800])
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE {G}.versions_built SET kinds = '{{agency}}'")
    cache = ReportCache(database_url, OPTIONS, versions=True)
    day = dt.date(2019, 6, 30)
    try:
        for kind in KINDS:
            query = ReportQuery(kind, day, None, None)
            assert await cache.answer(pool, query) == await oracle(pool, query)
        assert (cache.projected, cache.folds) == (0, 3)
        coverage = ReportQuery("coverage", day, None, None)
        assert await cache.answer(pool, coverage) == await oracle(pool, coverage)
        assert (cache.projected, cache.folds) == (1, 3)
    finally:
        cache.close()


async def test_the_checksum_and_a_reset_cover_the_place_versions(pool: asyncpg.Pool) -> None:
    await arrive(pool, place_history(6)[:900])

    async def checksum() -> dict[str, Any]:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            return await readmodel.checksum(conn, G)

    kept = await checksum()
    assert kept["rows"]["base_versions"] > 0
    assert kept["rows"]["stay_versions"] > 0
    await pool.execute(
        f"UPDATE {G}.stay_versions SET local = NOT local "
        f"WHERE incubation_id = (SELECT min(incubation_id) FROM {G}.stay_versions)"
    )
    changed = await checksum()
    assert changed["tables"]["stay_versions"] != kept["tables"]["stay_versions"]
    assert changed["sha256"] != kept["sha256"]
    async with pool.acquire() as conn:
        await LiveProjection("reset-test").reset(conn)
    emptied = await checksum()
    assert emptied["rows"]["base_versions"] == emptied["rows"]["stay_versions"] == 0
