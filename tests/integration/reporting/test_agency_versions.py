"""From the agency versions, no fold: coverage (readmodel.coverage_counts) equals the fold's
answer, and the agencies read (agency_views_at) the fold's, for every cut-off by occurrence and
by recording, as a shuffled history with late registrations arrives; a replay's bulk fold
stores the same versions (issue 12)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import asyncpg
import pytest

from benchmarks.history_generator import fact_rows
from servicekit.eventstore import EventStore
from services.reporting import readmodel, views
from services.reporting.cache import ReportCache
from services.reporting.domain.facts import FactRow
from services.reporting.domain.periods import end_of_local_day, local_date
from services.reporting.domain.place_versions import STAY_TYPES, stay_versions
from services.reporting.domain.versions import EntityFact
from services.reporting.replay import Agencies, PlaceFacts
from services.reporting.versions_refresh import changed_by_rows, refresh_versions
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture

DAYS = [dt.date(2016, 6, 30), dt.date(2017, 3, 1), dt.date(2018, 12, 31), dt.date(2026, 12, 31)]
RECORDED = [None, *(end_of_local_day(d) for d in (dt.date(2016, 9, 1), dt.date(2018, 2, 1)))]


async def arrive(pool: asyncpg.Pool, rows: list[FactRow]) -> None:
    """As the live consumer and a replay's catch-up apply a batch: its facts and every version
    they change, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, rows)
        await refresh_versions(conn, G, changed_by_rows(rows))


async def oracle(pool: asyncpg.Pool, query: ReportQuery) -> views.Rendered:
    return render(await old_fold(pool, query.day, query.recorded_until), query, OPTIONS)


VERSION_TABLES = ("agency_versions", "base_versions", "stay_versions")


async def table(pool: asyncpg.Pool, name: str) -> list[Any]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(f"SELECT * FROM {G}.{name} ORDER BY 1, 2, 3, 4"))


async def versions_table(pool: asyncpg.Pool) -> list[Any]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(f"SELECT * FROM {G}.agency_versions ORDER BY 1, 2, 4"))


async def test_coverage_from_versions_equals_the_fold_as_facts_arrive(pool: asyncpg.Pool) -> None:
    rows = list(fact_rows(3000, seed=12))
    random.Random(12).shuffle(rows)  # arrival order is not fold order
    late = [r for r in rows if r[2] == "AgencyRegistered" and r[9].date() - r[7] > dt.timedelta(9)]
    assert late, "the history has registrations recorded late"
    differing = 0  # cut-offs where by recording and by occurrence differ
    for chunk in (rows[:1000], rows[1000:2200], rows[2200:]):
        await arrive(pool, chunk)
        for day in DAYS:
            answers = []
            for recorded in RECORDED:
                for scope in (None, "jinshui"):
                    text = recorded.isoformat() if recorded else None
                    query = ReportQuery("coverage", day, recorded, text, scope=scope)
                    async with pool.acquire() as conn:
                        counts = await readmodel.coverage_counts(conn, G, day, recorded)
                    answer = views.coverage(counts, query)
                    expected = render(await old_fold(pool, day, recorded), query, OPTIONS)
                    assert answer == expected, query
                    answers.append(sum(int(r["agencies"]) for r in answer.rows))
                state = await old_fold(pool, day, recorded)
                async with pool.acquire() as conn:
                    views_at = await readmodel.agency_views_at(conn, G, day, recorded)
                assert views_at == state.agencies, (day, recorded)
            differing += len(set(answers[::2])) > 1
    assert differing, "some by-recording cut-off left out late registrations"


async def test_a_replays_bulk_fold_stores_the_versions_the_live_path_does(
    pool: asyncpg.Pool,
) -> None:
    rows = list(fact_rows(1500, seed=5))
    for start in range(0, len(rows), 500):
        await arrive(pool, rows[start : start + 500])
    live = await versions_table(pool)
    assert live
    async with pool.acquire() as conn:
        await conn.execute(f"DELETE FROM {G}.agency_versions")
    agencies = Agencies()
    agencies.add(rows)
    await agencies.fold(pool, G)
    assert await versions_table(pool) == live


async def test_a_replays_finish_validates_one_entitys_payloads_at_a_time(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million facts the finish validated every kept agency, base and stay fact at once
    (137k events, +140 MiB of the replay's peak); the versions stored are the same."""
    rows = list(fact_rows(1500, seed=6))
    for start in range(0, len(rows), 500):
        await arrive(pool, rows[start : start + 500])
    before = {t: await table(pool, t) for t in VERSION_TABLES}
    assert all(before.values())
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {', '.join(f'{G}.{t}' for t in VERSION_TABLES)}")
    entities_at_once: list[int] = []
    entity_facts = readmodel.entity_facts

    def counted(rows: Any, key: str) -> dict[str, list[EntityFact]]:
        found = entity_facts(rows, key)
        entities_at_once.append(len(found))
        return found

    monkeypatch.setattr(readmodel, "entity_facts", counted)
    agencies, places = Agencies(), PlaceFacts()
    agencies.add(rows)
    places.add(rows)
    await agencies.fold(pool, G)
    built = await places.build(pool, G)
    assert {t: await table(pool, t) for t in VERSION_TABLES} == before
    assert built.bases and built.stays
    assert len(entities_at_once) > 3 and max(entities_at_once) == 1


def test_a_group_whose_payload_names_another_entity_is_folded_with_all() -> None:
    """Kept rows are grouped by the id their fact row or payload has; were a validated payload
    to name another entity, each entity is still folded from all of its facts."""
    rows = [r for r in fact_rows(1000, seed=7) if r[2] in STAY_TYPES]
    groups: dict[str | None, list[readmodel.KeptRow]] = {}
    for e, _, t, v, _, _, _, on, occurred, recorded, data in rows:
        stay = json.loads(data)["incubation_id"]
        groups.setdefault(stay, []).append((t, v, on, occurred, recorded, e, data))
    several = [s for s, kept in groups.items() if len(kept) > 1]
    assert len(groups) > 2 and several, "the history has stays with more than one fact"
    second = several[0]
    first = next(s for s in groups if s != second)
    misfiled = {first: groups[first] + groups[second][:1], second: groups[second][1:]}
    together = readmodel.entity_facts([r for g in groups.values() for r in g], "incubation_id")
    expected = [v for facts in together.values() for v in stay_versions(facts)]
    grouped = readmodel.versions_by_entity({**groups, **misfiled}, "incubation_id", stay_versions)
    assert sorted(map(repr, grouped)) == sorted(map(repr, expected))


async def test_the_cache_answers_past_coverage_from_the_versions_without_a_fold(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = list(fact_rows(1500, seed=3))
    past = dt.date(2020, 6, 30)
    registrations = [r for r in rows if r[2] == "AgencyRegistered" and r[7] <= past]
    await arrive(pool, [r for r in rows if r not in registrations[:1]])
    cache = ReportCache(database_url, OPTIONS, versions=True)
    by_recording = end_of_local_day(dt.date(2020, 7, 5))
    asked = [
        ReportQuery("coverage", past, None, None),
        ReportQuery("coverage", past, by_recording, by_recording.isoformat(), scope="jinshui"),
    ]
    try:
        before = [await cache.answer(pool, query) for query in asked]
        assert before == [await oracle(pool, query) for query in asked]
        # A registration within the cut-offs arrives late: both answers are read again.
        await arrive(pool, registrations[:1])
        after = [await cache.answer(pool, query) for query in asked]
        for query, answer in zip(asked, after, strict=True):
            assert answer == await oracle(pool, query)
        assert before[0] != after[0]  # the late registration counts by occurrence
        assert (cache.projected, cache.folds) == (4, 0)
        # As of today (the live lane) the fold worker answers: its held state advances by each
        # live batch, cheaper than reading the versions again after every batch.
        live = ReportQuery("coverage", local_date(dt.datetime.now(dt.UTC)), None, None)
        assert await cache.answer(pool, live) == await oracle(pool, live)
        assert (cache.projected, cache.folds) == (4, 1)
    finally:
        cache.close()


async def test_a_generation_without_its_versions_is_answered_by_folding(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A generation made before the versions has facts and no marker: folded, never read from
    an empty table. A fresh generation (ensure on no facts) is marked; a replay's at its switch."""
    await arrive(pool, list(fact_rows(600, seed=4)))
    async with pool.acquire() as conn:
        assert await readmodel.versions_built(conn, G)  # marked when made, before any fact
        await conn.execute(f"DELETE FROM {G}.versions_built")  # as a generation made before
        await readmodel.ensure(conn)  # a restart on facts does not mark it
        assert not await readmodel.versions_built(conn, G)
    cache = ReportCache(database_url, OPTIONS, versions=True)
    query = ReportQuery("coverage", dt.date(2017, 6, 30), None, None)
    try:
        assert await cache.answer(pool, query) == await oracle(pool, query)
        assert (cache.projected, cache.folds) == (0, 1)
    finally:
        cache.close()
    await EventStore(pool, readmodel.CONTROL).create_schema()  # the consumers' offsets
    async with pool.acquire() as conn:
        await conn.execute(readmodel.generation_tables_ddl("reporting_g2"))  # a replay's
        live = await readmodel.live_consumer(conn)
        assert await readmodel.switch_generation(
            conn, new="reporting_g2", live_consumer=live, offsets={}
        )
        assert await readmodel.versions_built(conn, "reporting_g2")


async def test_the_checksum_covers_the_versions(pool: asyncpg.Pool) -> None:
    """`checksum` (live against rebuilt, a killed replay against a whole one) hashes the versions
    too: a rebuild that kept a wrong version is not reported equal."""
    await arrive(pool, list(fact_rows(600, seed=6)))

    async def checksum() -> dict[str, Any]:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            return await readmodel.checksum(conn, G)

    kept = await checksum()
    assert kept["rows"]["agency_versions"] == len(await versions_table(pool)) > 0
    await pool.execute(
        f"UPDATE {G}.agency_versions SET reporting_unit = 'elsewhere' "
        f"WHERE uscc = (SELECT min(uscc) FROM {G}.agency_versions)"
    )
    changed = await checksum()
    assert changed["sha256"] != kept["sha256"]
    assert changed["tables"]["agencies"] == kept["tables"]["agencies"]


async def test_a_mark_names_the_kinds_of_versions_its_build_kept(pool: asyncpg.Pool) -> None:
    """A generation marked by a build that kept only agency versions (its row without kinds)
    reads as built for agencies and for no other kind: a kind added later is folded there
    until a replay of a build that keeps it, never read from a table that build left empty."""
    await arrive(pool, list(fact_rows(60, seed=7)))
    async with pool.acquire() as conn:
        for kind in readmodel.VERSION_KINDS:
            assert await readmodel.versions_built(conn, G, kind)
        await conn.execute(f"DELETE FROM {G}.versions_built")
        await conn.execute(f"INSERT INTO {G}.versions_built (built_at) VALUES (now())")
        assert await readmodel.versions_built(conn, G, "agency")
        assert not await readmodel.versions_built(conn, G, "a kind kept by a later build")
