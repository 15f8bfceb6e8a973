"""Kept checkpoints of the folded state (issue 12): a new as-of date starts from the state as of
the last year or quarter end kept in PostgreSQL, not from the first fact, and answers exactly
what the old fold of every fact within the cut-off answers (the oracle), late facts included.
"""

from __future__ import annotations

import datetime as dt
import functools
import pickle
import random
import zlib
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import asyncpg
import pytest
from socialwork_contracts import registry as reg

from benchmarks.history_generator import fact_rows
from services.reporting import foldworker
from services.reporting.domain import checkpoint
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import LOCAL, end_of_local_day
from services.reporting.domain.state import CityState
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.fold_oracle import OPTIONS, G, insert, old_fold, queries
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.prepared import killed_while_keeping
from tests.support import example


async def assert_equal_to_the_fold(
    pool: asyncpg.Pool, answer: foldworker.Answer, asked: list[ReportQuery]
) -> None:
    state = await old_fold(pool, asked[0].day, asked[0].recorded_until)
    for query, rendered in zip(asked, answer.rendered, strict=True):
        assert rendered == render(state, query, OPTIONS), query


def random_cutoff(rng: random.Random) -> tuple[dt.date, dt.datetime | None]:
    day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(11 * 365))
    if rng.random() < 0.3:  # by recording, up to a year and a half after the day
        return day, end_of_local_day(day + dt.timedelta(days=rng.randrange(540)))
    return day, None


async def test_answers_from_kept_checkpoints_equal_the_old_fold(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = list(fact_rows(3000, seed=31))
    rng = random.Random(31)
    rng.shuffle(rows)  # arrival order is not fold order: backdated facts land mid-history
    chunks = [rows[:2000], rows[2000:2500], rows[2500:]]
    restored = refolds = 0
    for chunk in chunks:
        await insert(pool, chunk)
        for _ in range(12):
            # A new process each time (a restart, another instance): only the kept states help.
            worker = foldworker.Worker()
            asked = queries(*random_cutoff(rng))
            answer = await worker.answer(database_url, G, asked, OPTIONS)
            await assert_equal_to_the_fold(pool, answer, asked)
            restored += worker.restored
            refolds += answer.refolded
    # Late chunks invalidate the kept states they fall within; later ones are kept again.
    assert restored > 12 and refolds < 12, (restored, refolds)


async def test_a_new_as_of_date_after_a_restart_is_not_folded_from_the_first_fact(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await insert(pool, list(fact_rows(3000, seed=5)))
    today = dt.date(2027, 6, 1)  # after every generated fact
    first = await foldworker.Worker().answer(database_url, G, queries(today, None), OPTIONS)
    assert first.refolded  # nothing kept yet
    rng = random.Random(5)
    for _ in range(8):
        asked = queries(*random_cutoff(rng))
        worker = foldworker.Worker()  # restarted: nothing held in memory
        answer = await worker.answer(database_url, G, asked, OPTIONS)
        assert not answer.refolded and worker.restored == 1, asked[0]
        await assert_equal_to_the_fold(pool, answer, asked)


def same_day_fact(row: FactRow, name: str, day: dt.date, second: int) -> FactRow:
    """`row`'s event taking effect on `day`, occurred and recorded `second`s into it."""
    at = dt.datetime.combine(day, dt.time(1), tzinfo=dt.UTC) + dt.timedelta(seconds=second)
    return (name, *row[1:7], day, at, at, row[10])


async def test_a_late_fact_of_a_day_past_the_tail_limit_is_merged_not_folded_again(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foldworker, "TAIL_LIMIT", 40)
    monkeypatch.setattr(foldworker, "TAIL_KEPT", 20)
    rows = list(fact_rows(2000, seed=8))
    await insert(pool, rows)
    today = dt.date(2027, 6, 1)  # after every generated fact
    trainings = [r for r in rows if r[2] == "TrainingDelivered"]
    worker = foldworker.Worker()
    asked = queries(today, None)
    await worker.answer(database_url, G, asked, OPTIONS)
    (held,) = worker.held.values()
    mark, i = held.mark, 0
    while held.mark == mark:  # facts of today in order until the tail outgrows its limit
        i += 1
        await insert(pool, [same_day_fact(trainings[i], f"today-{i:04}", today, 2 * i)])
        assert not (await worker.answer(database_url, G, asked, OPTIONS)).refolded
        (held,) = worker.held.values()
    folds = worker.restored
    # The same day, a second before the newest fact (the tail was cut at that fact before).
    await insert(pool, [same_day_fact(trainings[0], "today-late", today, 2 * i - 1)])
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    (held,) = worker.held.values()
    assert not answer.refolded and worker.restored == folds and held.merges == 1
    await assert_equal_to_the_fold(pool, answer, asked)


async def test_a_late_fact_of_today_is_folded_in_its_order_not_after_the_newest(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Today's facts arrive out of fold order (topics are not ordered with each other): one
    that occurred before the newest folded fact of the held state's last day is merged into
    its place. Here the order decides the answer: a reinstatement that occurred before the
    suspension leaves the agency suspended, folded after it would leave it active."""
    await insert(pool, list(fact_rows(2000, seed=8)))
    today = dt.date(2027, 6, 1)  # after every generated fact
    uscc = "52410105MJ1H5K72XA"
    at = functools.partial(dt.datetime.combine, today, tzinfo=LOCAL)
    await insert(
        pool,
        [
            fact_row(
                "today-1",
                example(reg.AgencyRegistered, uscc=uscc, registered_on=today),
                uscc,
                at(dt.time(8)),
                at(dt.time(8)),
            ),
            fact_row(
                "today-2",
                example(reg.AgencySuspended, uscc=uscc),
                uscc,
                at(dt.time(10)),
                at(dt.time(10)),
            ),
        ],
    )
    worker = foldworker.Worker()
    asked = queries(today, None)
    await worker.answer(database_url, G, asked, OPTIONS)
    reinstated = example(reg.AgencyReinstated, uscc=uscc)
    await insert(pool, [fact_row("today-3", reinstated, uscc, at(dt.time(9)), at(dt.time(11)))])
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    (held,) = worker.held.values()
    assert not answer.refolded and held.merges == 1
    await assert_equal_to_the_fold(pool, answer, asked)
    assert held.state.agencies[uscc].status == "suspended"


STORE = """
import asyncio, sys
from services.reporting import foldworker
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery
import datetime as dt
query = ReportQuery("targets", dt.date(2027, 6, 1), None, None)
foldworker.answer(sys.argv[1], "reporting_g1", [query], TargetOptions())
"""


async def test_a_worker_killed_while_keeping_a_checkpoint_leaves_answers_exact(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await insert(pool, list(fact_rows(2000, seed=9)))
    # The fold's first checkpoint waits on this lock: the process is killed there.
    lock = f"LOCK TABLE {G}.checkpoints IN EXCLUSIVE MODE"
    await killed_while_keeping(pool, database_url, STORE, lock)
    async with pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {G}.checkpoints") == 0
    late = list(fact_rows(2100, seed=9))[2000:]  # more facts, some within kept days
    await insert(pool, late)
    rng = random.Random(9)
    for _ in range(6):
        asked = queries(*random_cutoff(rng))
        answer = await foldworker.Worker().answer(database_url, G, asked, OPTIONS)
        await assert_equal_to_the_fold(pool, answer, asked)


FORMAT_2_LAYOUT = "f94367ad18a81260"  # the layout hash of the build before format 3


def format_2(state: CityState) -> bytes:
    """How the build before format 3 encoded a state: per field, the views as tuples."""

    def row(v: Any) -> Any:
        return (checkpoint._VIEWS.index(type(v)), tuple(getattr(v, s) for s in v.__slots__))

    parts = []
    for name in (f.name for f in fields(state)):
        value = getattr(state, name)
        if isinstance(value, dict):
            part: Any = (list(value), [row(v) for v in value.values()])
        else:
            part = [row(v) for v in value]
        parts.append(pickle.dumps(part, protocol=5))
    return zlib.compress(pickle.dumps(parts, protocol=5), 1)


FORMAT_3_LAYOUT = "11f445e1953b526f"  # the layout hash of the build before format 4


def format_3(state: CityState) -> bytes:
    """As format 3 wrote a state: the same parts as format 4 (records then were views, written
    as their slots' columns), under its own number."""
    _, table, parts = pickle.loads(checkpoint.encode(state))  # noqa: S301 -- our own bytes
    return pickle.dumps((3, table, parts), protocol=5)


@pytest.mark.parametrize(
    ("layout", "encoded"), [(FORMAT_2_LAYOUT, format_2), (FORMAT_3_LAYOUT, format_3)]
)
async def test_a_state_kept_in_an_older_encoding_is_folded_again_not_read(
    pool: asyncpg.Pool, database_url: str, layout: str, encoded: Callable[[CityState], bytes]
) -> None:
    await insert(pool, list(fact_rows(2000, seed=13)))
    today = dt.date(2027, 6, 1)
    await foldworker.Worker().answer(database_url, G, queries(today, None), OPTIONS)
    async with pool.acquire() as conn:
        # Every kept row now as the older format wrote it, under that format's layout hash.
        kept = await conn.fetch(f"SELECT day FROM {G}.checkpoints")
        assert kept and layout != checkpoint.LAYOUT
        for row in kept:
            state = await old_fold(pool, row["day"], None)
            await conn.execute(
                f"UPDATE {G}.checkpoints SET layout = $1, state = $2 WHERE day = $3",
                layout,
                encoded(state),
                row["day"],
            )
    worker = foldworker.Worker()
    asked = queries(dt.date(2026, 3, 1), None)
    answer = await worker.answer(database_url, G, asked, OPTIONS)
    assert worker.restored == 0 and answer.refolded
    await assert_equal_to_the_fold(pool, answer, asked)
