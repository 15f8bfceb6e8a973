"""A by-recording cut-off starts from a kept state holding agency facts recorded after it (issue
12): those agencies are folded again without them, and every answer equals the old fold of every
fact within the cut-off (the oracle). A kept state holding any other fact recorded after the
cut-off, or kept before its other facts' latest recording was, does not serve it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from socialwork_contracts import registry as reg

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker, readmodel
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import end_of_local_day
from services.reporting.domain.reports import unit_ids
from services.reporting.domain.state import AGENCY_TYPES
from services.reporting.rebuild import keep_checkpoints
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold, queries
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture

TODAY = dt.date(2027, 6, 1)  # after every generated fact
LATE = dt.timedelta(days=400)
DAY = dt.timedelta(days=1)
# (as of, recorded by): before and after late registrations, status changes and amendments are
# recorded, and within 2020-2021, where other facts of 2020 are recorded late (not served).
CUTOFFS = [
    (dt.date(2018, 7, 5), dt.date(2018, 8, 1)),
    (dt.date(2019, 12, 31), dt.date(2019, 12, 31)),
    (dt.date(2020, 6, 30), dt.date(2020, 9, 1)),
    (dt.date(2021, 3, 1), dt.date(2021, 3, 1)),
    (dt.date(2021, 9, 15), dt.date(2022, 1, 10)),
    (dt.date(2023, 1, 20), dt.date(2023, 1, 20)),
    (dt.date(2023, 5, 21), dt.date(2023, 6, 20)),
    (dt.date(2024, 12, 31), dt.date(2025, 2, 1)),
    (dt.date(2026, 2, 1), dt.date(2026, 2, 1)),
]


def recorded_late(row: FactRow) -> FactRow:
    return (*row[:9], row[9] + LATE, row[10])


LateEvent = (
    reg.AgencySuspended
    | reg.AgencyReinstated
    | reg.AgencyRegistrationRevoked
    | reg.AgencyProfileAmended
)


def late_fact(event: LateEvent, day: dt.date) -> FactRow:
    """A registry fact taking effect on `day`, recorded 400 days later."""
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    return fact_row(
        str(uuid.uuid5(uuid.NAMESPACE_OID, repr(event))), event, event.uscc, at, at + LATE
    )


def history() -> list[FactRow]:
    """The generated history (late registrations: 30 and 400 days) with late status changes,
    late amendments, and facts of 2020 that are not agency facts recorded in 2021."""
    rows = list(fact_rows(3000, seed=41))
    registered = [r for r in rows if r[2] == "AgencyRegistered"]
    changes: list[FactRow] = []
    for i, row in enumerate(registered[:60]):
        uscc, day = str(row[5]), row[7]
        if i % 3 == 0:
            changes.append(
                late_fact(
                    reg.AgencySuspended(uscc=uscc, until=None, reason="整改"), day + 200 * DAY
                )
            )
        elif i % 3 == 1:
            changes.append(
                late_fact(reg.AgencyReinstated(uscc=uscc, reason="恢复"), day + 250 * DAY)
            )
        else:
            changes.append(
                late_fact(reg.AgencyRegistrationRevoked(uscc=uscc, reason="撤销"), day + 300 * DAY)
            )
    # Recorded after the 2023-01-20 cut-off: the states kept from the 2021 year end on must
    # not take its recording as that of their other facts.
    reinstated = reg.AgencyReinstated(uscc=str(registered[60][5]), reason="恢复")
    changes.append(late_fact(reinstated, dt.date(2021, 12, 20)))
    return [
        recorded_late(r)
        if (r[2] == "AgencyProfileAmended" and i % 2)
        or (r[2] not in AGENCY_TYPES and r[7].year == 2020 and r[7].day == 1)
        else r
        for i, r in enumerate(rows)
    ] + changes


def expected_start(
    rows: list[FactRow], kept: list[dt.date], day: dt.date, recorded: dt.datetime, others: bool
) -> dt.date:
    """The latest kept day on or before `day` with every fact up to it recorded by `recorded`:
    every fact that is not an agency fact (`others`), else every fact."""
    checked = [r for r in rows if r[2] not in AGENCY_TYPES] if others else rows
    return max(q for q in kept if q <= day and all(r[9] <= recorded for r in checked if r[7] <= q))


def spy_on_restores(monkeypatch: pytest.MonkeyPatch) -> list[dt.date]:
    """The days of the kept states the fold worker starts from, in order."""
    days: list[dt.date] = []
    found: Callable[..., Awaitable[readmodel.Checkpoint | None]] = readmodel.checkpoint_before

    async def spy(*args: Any) -> readmodel.Checkpoint | None:
        kept = await found(*args)
        if kept is not None:
            days.append(kept.day)
        return kept

    monkeypatch.setattr(readmodel, "checkpoint_before", spy)
    return days


async def keep_states(pool: asyncpg.Pool, database_url: str, rows: list[FactRow]) -> list[dt.date]:
    await insert(pool, rows)
    # The later states kept by a fold that starts from an earlier kept one, in a new process.
    for day in (dt.date(2022, 3, 1), TODAY):
        await foldworker.Worker().answer(database_url, G, queries(day, None), OPTIONS)
    async with pool.acquire() as conn:
        return sorted(r["day"] for r in await conn.fetch(f"SELECT day FROM {G}.checkpoints"))


async def test_a_by_recording_cutoff_starts_from_a_state_with_late_agency_facts(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = history()
    kept = await keep_states(pool, database_url, rows)
    restores = spy_on_restores(monkeypatch)
    refolded = 0
    starts = []
    for day, by in CUTOFFS:
        recorded = end_of_local_day(by)
        worker = foldworker.Worker()  # a new process: only the kept states help
        asked = queries(day, recorded)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        start = expected_start(rows, kept, day, recorded, others=True)
        assert restores[-1] == start and not answer.refolded, (day, by)
        state = await old_fold(pool, day, recorded)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query
        refolded += worker.agencies_refolded
        starts.append(start)
    # The old rule (every fact recorded by then) would start each from an older state, and the
    # 2020 facts recorded late keep the 2020 year end from serving 2021's cut-offs.
    old = [expected_start(rows, kept, d, end_of_local_day(b), others=False) for d, b in CUTOFFS]
    assert sum(s > o for s, o in zip(starts, old, strict=True)) >= 5, (starts, old)
    assert dt.date(2019, 12, 31) in starts[3:5] and refolded > 20


async def test_a_backdated_agency_fact_leaves_the_later_states_serving_by_occurrence(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """An agency fact dated in the past arrives after the states were kept (a late entry): a
    new answer as of a later day restores the latest kept state and folds that agency again,
    not every fact since a state kept before the fact's day (at 1M: 7 s instead of 0.6)."""
    rows = history()
    kept = await keep_states(pool, database_url, rows)
    uscc = next(str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[7].year < 2019)
    revoked = reg.AgencyRegistrationRevoked(uscc=uscc, reason="补录撤销")
    await insert(pool, [late_fact(revoked, dt.date(2019, 3, 1))])
    day = dt.date(2026, 2, 1)
    latest = max(k for k in kept if k <= day)
    worker = foldworker.Worker()  # a new process: only the kept states help
    asked = queries(day, None)
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    assert (worker.restored, worker.agencies_refolded, answer.refolded) == (1, 1, False)
    after = [r for r in rows if latest < r[7] <= day and r[2] in foldworker.FOLDED]
    assert worker.folded == len(after)  # the facts after the latest kept state alone
    state = await old_fold(pool, day, None)
    assert state.agencies[uscc].status == "revoked"
    for query, rendered in zip(asked, answer.rendered, strict=True):
        assert rendered == render(state, query, OPTIONS), query


def on_day(event: reg.AgencyProfileAmended, day: dt.date, hour: int) -> FactRow:
    """An amendment taking effect and recorded on `day` at `hour` UTC (+8 locally)."""
    at = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
    return fact_row(str(uuid.uuid4()), event, event.uscc, at, at)


def moved(uscc: str, unit: str) -> reg.AgencyProfileAmended:
    return reg.AgencyProfileAmended(
        uscc=uscc, reporting_unit=unit, priority=False, changed_fields=["reporting_unit"]
    )


async def test_a_backdated_agency_fact_is_taken_by_the_held_state(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The live lane holds today's state; agency facts dated years back then arrive (a late
    entry): the held state folds those agencies again, its base from their facts before the
    mark and its state from all, instead of being let go for a fold from a kept state (at 1M:
    0.66 s a next answer as of today)."""
    rows = history()
    await keep_states(pool, database_url, rows)
    a, b, c, d = [str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[7].year < 2019][:4]
    day = dt.date(2026, 2, 1)
    # An amendment of `a` on the cut-off's day: in the held state's tail.
    await insert(pool, [on_day(moved(a, "erqi"), day, 9)])
    worker = foldworker.Worker()
    asked = queries(day, None)
    await worker.answer(database_url, G, asked, OPTIONS)
    restored, folded = worker.restored, worker.folded
    rounds = [
        # Early facts alone: `a`'s tail fact stays after its refolded base.
        [
            late_fact(
                reg.AgencyRegistrationRevoked(uscc=a, reason="补录撤销"), dt.date(2019, 3, 1)
            ),
            late_fact(reg.AgencySuspended(uscc=b, until=None, reason="补录"), dt.date(2020, 5, 1)),
        ],
        # With a later fact of a refolded agency, after the tail's last: not folded twice.
        [
            late_fact(reg.AgencyReinstated(uscc=b, reason="补录恢复"), dt.date(2021, 5, 1)),
            on_day(moved(b, "zhongyuan"), day, 15),
        ],
        # With a later fact among the tail's (before `a`'s amendment): the state made again.
        [
            late_fact(
                reg.AgencyRegistrationRevoked(uscc=c, reason="补录撤销"), dt.date(2019, 6, 1)
            ),
            on_day(moved(d, "erqi"), day, 8),
        ],
    ]
    for refolded, late in enumerate(rounds, start=1):
        await insert(pool, late)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert (worker.restored, worker.folded, answer.refolded) == (restored, folded, False)
        assert worker.agencies_refolded == [2, 3, 4][refolded - 1]
        state = await old_fold(pool, day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), (refolded, query)
    assert state.agencies[a].status == "revoked"
    assert [state.agencies[u].reporting_unit for u in (a, b, d)] == ["erqi", "zhongyuan", "erqi"]
    # A backdated fact that is not an agency fact still costs a fold (from a kept state).
    other = next(r for r in rows if r[2] not in AGENCY_TYPES and r[7].year == 2021)
    await insert(pool, [(str(uuid.uuid4()), *other[1:])])
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    assert worker.restored == restored + 1
    state = await old_fold(pool, day, None)
    for query, rendered in zip(asked, answer.rendered, strict=True):
        assert rendered == render(state, query, OPTIONS), query


def connection_ended_in(
    monkeypatch: pytest.MonkeyPatch, pool: asyncpg.Pool, name: str
) -> Callable[[], None]:
    """`readmodel.<name>` has PostgreSQL end its caller's connection first (as a restart or an
    administrator would); the function returned puts it back."""
    read: Callable[..., Awaitable[Any]] = getattr(readmodel, name)

    async def ended_first(conn: asyncpg.Connection, *args: Any) -> Any:
        async with pool.acquire() as other:
            await other.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        return await read(conn, *args)

    monkeypatch.setattr(readmodel, name, ended_first)
    return lambda: monkeypatch.setattr(readmodel, name, read)


async def test_a_connection_lost_while_a_late_entry_is_taken_loses_only_the_held_state(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends the worker's connection as the held state reads a late entry's agency
    facts: that answer fails, the held state is let go (never half taken), and the next answer
    reconnects, folds from a kept state and equals the oracle."""
    rows = history()
    await keep_states(pool, database_url, rows)
    uscc = next(str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[7].year < 2019)
    day = dt.date(2026, 2, 1)
    worker = foldworker.Worker()
    asked = queries(day, None)
    await worker.answer(database_url, G, asked, OPTIONS)
    revoked = reg.AgencyRegistrationRevoked(uscc=uscc, reason="补录撤销")
    await insert(pool, [late_fact(revoked, dt.date(2019, 3, 1))])
    put_back = connection_ended_in(monkeypatch, pool, "agency_fold_rows")
    with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
        await worker.answer(database_url, G, asked, OPTIONS)
    assert (worker.held, worker.conn, worker.agencies_refolded) == ({}, None, 0)
    put_back()
    restored = worker.restored
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    assert worker.restored == restored + 1
    state = await old_fold(pool, day, None)
    assert state.agencies[uscc].status == "revoked"
    for query, rendered in zip(asked, answer.rendered, strict=True):
        assert rendered == render(state, query, OPTIONS), query


# A generation made before: its rows without the column, then its DDL as this build applies it.
MADE_BEFORE = [
    f"DROP INDEX {G}.facts_agency_recorded",
    f"ALTER TABLE {G}.checkpoints DROP COLUMN last_recorded_other, DROP COLUMN other_in",
    readmodel.generation_ddl(G),
]
# A build before keeps a row again (a late fact): its state and snapshot, not the new columns.
KEPT_AGAIN_BEFORE = [f"UPDATE {G}.checkpoints SET snapshot = pg_current_snapshot()::text"]


@pytest.mark.parametrize("statements", [MADE_BEFORE, KEPT_AGAIN_BEFORE])
async def test_states_kept_by_a_build_before_serve_by_the_old_rule(
    pool: asyncpg.Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    statements: list[str],
) -> None:
    rows = history()
    kept = await keep_states(pool, database_url, rows)
    async with pool.acquire() as conn:
        for statement in statements:
            await conn.execute(statement)
    restores = spy_on_restores(monkeypatch)
    for day, by in CUTOFFS:
        recorded = end_of_local_day(by)
        worker = foldworker.Worker()
        asked = queries(day, recorded)
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert restores[-1] == expected_start(rows, kept, day, recorded, others=False)
        assert worker.agencies_refolded == 0
        state = await old_fold(pool, day, recorded)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query


async def test_a_replayed_generation_gets_the_agency_index_as_its_states_are_kept(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await insert(pool, history())
    index = "SELECT count(*) FROM pg_indexes WHERE indexname = 'facts_agency_recorded'"
    async with pool.acquire() as conn:
        await conn.execute(f"DROP INDEX {G}.facts_agency_recorded")  # as a bulk replay leaves it
        await keep_checkpoints(database_url, G)  # after its switch-over
        assert await conn.fetchval(index) == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {G}.checkpoints") > 0


async def test_cut_offs_with_no_fact_between_them_share_one_held_state(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The live lane is asked as of today and as of the current half-year's end (the period's
    report in progress). With no fact taking effect between those days, both are the fold of
    the same facts: one held state answers both, advanced by the facts committed since. A lane
    holds one state, so the other cut-off's used to take its place, and the next answer as of
    today folded from a kept state."""
    rows = history()
    await keep_states(pool, database_url, rows)
    a, b = [str(r[5]) for r in rows if r[2] == "AgencyRegistered" and r[7].year < 2019][:2]
    today = max(r[7] for r in rows) + 5 * DAY  # no fact takes effect after it
    end = dt.date(today.year, 6, 30)
    today_asked = queries(today, None)
    period_asked = [
        ReportQuery("half_year", end, None, None, None, end.year, "mid_year"),
        ReportQuery("half_year", end, None, None, "jinshui", end.year, "mid_year"),
    ]
    worker = foldworker.Worker()
    await worker.answer(database_url, G, today_asked, OPTIONS)
    await worker.answer(database_url, G, period_asked, OPTIONS)
    restored, folded = worker.restored, worker.folded
    for hour, asked in enumerate((today_asked, period_asked, today_asked, period_asked)):
        await insert(pool, [on_day(moved(a, unit_ids()[hour]), today, hour)])  # a live fact
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert (worker.restored, worker.folded, len(worker.held)) == (restored, folded, 1)
        state = await old_fold(pool, asked[0].day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query
    # A fact taking effect between them, on the period's last day (the range's closed end; one
    # on today, its open end, arrived above): the period's state is no longer today's.
    was = (await old_fold(pool, today, None)).agencies[b].reporting_unit
    unit = next(u for u in unit_ids() if u != was)
    await insert(pool, [on_day(moved(b, unit), end, 9)])
    for asked in (period_asked, today_asked, period_asked):
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        state = await old_fold(pool, asked[0].day, None)
        for query, rendered in zip(asked, answer.rendered, strict=True):
            assert rendered == render(state, query, OPTIONS), query
        assert state.agencies[b].reporting_unit == (unit if asked is period_asked else was)


async def test_a_connection_lost_while_looking_for_a_shared_state_keeps_the_held_one(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends the worker's connection as it looks whether the held state of today is
    the fold as of the period's end too: that answer fails before anything is taken, so the
    held state stays as it was, and the next answer (reconnected) is read from it."""
    rows = history()
    await keep_states(pool, database_url, rows)
    today = max(r[7] for r in rows) + 5 * DAY
    end = dt.date(today.year, 6, 30)
    asked = [ReportQuery("half_year", end, None, None, None, end.year, "mid_year")]
    worker = foldworker.Worker()
    await worker.answer(database_url, G, queries(today, None), OPTIONS)
    held = dict(worker.held)
    put_back = connection_ended_in(monkeypatch, pool, "any_fact_between")
    with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
        await worker.answer(database_url, G, asked, OPTIONS)
    assert (worker.held, worker.conn) == (held, None)
    put_back()
    restored, folded = worker.restored, worker.folded
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    assert (worker.restored, worker.folded, worker.held.keys()) == (restored, folded, held.keys())
    state = await old_fold(pool, end, None)
    assert answer.rendered == [render(state, asked[0], OPTIONS)]
