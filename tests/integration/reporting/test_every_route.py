"""Every way the service answers a report equals the fold of every fact within its cut-off (the
oracle of issue 12), tried together: cut-offs drawn at random in the shapes the API makes, while
a history arrives in shuffled batches (late registrations, moves between units, revocations,
other facts recorded late) and its states are kept after a switch-over and kept again.

Each route has a test of its own; this one looks for what their interplay breaks: an answer read
from versions, from the half-year figures kept with a state (shifted for late agencies), from a
held state advanced or taking a late entry, or folded from a kept state, each checked against
the oracle as the facts under it change.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from dataclasses import replace

import asyncpg
from socialwork_contracts import registry as reg
from socialwork_contracts.periods import local_date

from services.reporting.cache import ReportCache
from services.reporting.domain.facts import FactRow
from services.reporting.domain.periods import Half, end_of_local_day, report_period
from services.reporting.domain.reports import unit_ids
from services.reporting.rebuild import keep_checkpoints
from services.reporting.rekeep import Rekeeper
from services.reporting.views import ReportQuery, render
from tests.integration.reporting.every_kind import every_kind
from tests.integration.reporting.fold_oracle import OPTIONS, G, old_fold
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture
from tests.integration.reporting.test_agency_versions import arrive
from tests.integration.reporting.test_fold_recorded_checkpoints import history, late_fact
from tests.integration.reporting.test_kept_half_year import moved_late

ROUNDS = int(os.environ.get("EVERY_ROUTE_ROUNDS", "4"))  # batches after the states were kept
CUT_OFFS = int(os.environ.get("EVERY_ROUTE_CUT_OFFS", "9"))  # drawn a round, each of every report
# The history of every kind: more, so that a late agency's records of each kind meet a cut-off
# the kept figures answer (with 4 x 9, a late shift leaving out the distinct counts passed).
KINDS_ROUNDS = int(os.environ.get("EVERY_ROUTE_ROUNDS", "6"))
KINDS_CUT_OFFS = int(os.environ.get("EVERY_ROUTE_CUT_OFFS", "12"))
SEED = int(os.environ.get("EVERY_ROUTE_SEED", "1203"))


def instant(rng: random.Random, first: dt.datetime, last: dt.datetime) -> dt.datetime:
    """A recording cut-off: the end of a local day (as an officer gives one) or any second."""
    at = first + (last - first) * rng.random()
    return end_of_local_day(local_date(at)) if rng.random() < 0.5 else at.replace(microsecond=0)


def late_entry(rng: random.Random, rows: list[FactRow], today: dt.date) -> list[FactRow]:
    """Agency facts alone, dated in the past: agencies moved to another unit or suspended, as an
    officer enters what a paper file says (a held state takes them without a fold)."""
    registered = [r for r in rows if r[2] == "AgencyRegistered"]
    entry = []
    for row in rng.sample(registered, 8):
        uscc, day = str(row[5]), min(row[7] + dt.timedelta(days=rng.randint(1, 900)), today)
        event: reg.AgencyProfileAmended | reg.AgencySuspended = (
            reg.AgencyProfileAmended(
                uscc=uscc,
                reporting_unit=rng.choice(unit_ids()),
                priority=rng.random() < 0.5,
                changed_fields=["reporting_unit"],
            )
            if rng.random() < 0.7
            else reg.AgencySuspended(uscc=uscc, until=None, reason=f"整改 {rng.random()}")
        )
        entry.append(late_fact(event, day))
    return entry


def asked(
    rng: random.Random, rows: list[FactRow], today: dt.date, live: bool = False
) -> Iterator[ReportQuery]:
    """The queries of one cut-off as the API makes them: as of a day (a half-year's end for the
    half-year report), by occurrence or by recording; with `live`, as of today by occurrence."""
    days = [r[7] for r in rows]
    recorded = [r[9] for r in rows]
    year = rng.randint(min(days).year, max(days).year)
    half: Half = rng.choice(("mid_year", "year_end"))
    end = report_period(year, half).end
    # As of: a half-year's end, today, any day, a quarter's end, or a fact's own day or the day
    # before it (where "as of" takes it or not).
    day = rng.choice(
        (
            end,
            today,
            min(days) + (max(days) - min(days)) * rng.random(),
            dt.date(year, 9, 30),
            rng.choice(days) - dt.timedelta(days=rng.randint(0, 1)),
        )
    )
    # By occurrence; by a recording before the period's end (its other facts not all recorded);
    # by one after it, within the late facts' 400 days; by any; or at a fact's own recording,
    # or the second before it (where "recorded by" includes it or not).
    by = rng.choice(
        (
            None,
            end_of_local_day(end - dt.timedelta(days=rng.randint(1, 90))),
            end_of_local_day(end + dt.timedelta(days=rng.randint(1, 400))),
            instant(rng, min(recorded), max(recorded)),
            rng.choice(recorded) - dt.timedelta(seconds=rng.randint(0, 1)),
        )
    )
    if live:
        day, by, year = today, None, today.year
        half = "mid_year" if today.month <= 6 else "year_end"
        end = report_period(year, half).end
    text = None if by is None else by.isoformat()
    base = ReportQuery("targets", day, by, text)
    scope = rng.choice((None, "jinshui", "erqi", "zhongmu"))
    # The half-year first: as of today, the other reports then find today's state held.
    yield replace(base, kind="half_year", day=end, year=year, half=half, scope=scope)
    yield base
    yield replace(base, kind="coverage")
    yield replace(base, kind="trends")
    yield replace(base, kind="bases")
    yield replace(base, kind="credit_listings", scope=scope, include_removed=rng.random() < 0.5)


async def check(
    pool: asyncpg.Pool, cache: ReportCache, queries: Iterator[ReportQuery], n: int
) -> None:
    for query in queries:
        answer = await cache.answer(pool, query)
        state = await old_fold(pool, query.day, query.recorded_until)
        assert answer == render(state, query, OPTIONS), (n, query)


async def test_every_route_equals_the_fold_as_facts_arrive_and_states_are_kept(
    pool: asyncpg.Pool, database_url: str
) -> None:
    rows = history()
    await tried(pool, database_url, rows + moved_late(rows), random.Random(SEED), ROUNDS, CUT_OFFS)


async def test_every_route_equals_the_fold_with_every_kind_of_record(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The same with the kinds the generated history lacks (every_kind.py): operation records,
    closed and refitted bases, extended stays, stays re-linked to another credit code with their
    records (that agency's registration entered late), groups in preparation, annual reports,
    listings and follow-ups of the agencies moved late."""
    rows = history()
    rows += moved_late(rows)
    extras = every_kind(rows, SEED)
    rng = random.Random(SEED + 1)
    await tried(pool, database_url, rows + extras, rng, KINDS_ROUNDS, KINDS_CUT_OFFS)


async def tried(
    pool: asyncpg.Pool,
    database_url: str,
    rows: list[FactRow],
    rng: random.Random,
    rounds: int,
    cut_offs: int,
) -> None:
    """Part of `rows` arrives and its states are kept; the rest arrives in `rounds` shuffled
    batches, each followed by `cut_offs` cut-offs of every report, a late entry and today's."""
    rng.shuffle(rows)  # arrival order is not fold order: backdated facts land mid-history
    first = len(rows) * 6 // 10
    step = -(-(len(rows) - first) // rounds)
    batches = [rows[first + i : first + i + step] for i in range(0, len(rows) - first, step)]
    await arrive(pool, rows[:first])
    await keep_checkpoints(database_url, G)  # as after a replay's switch-over
    today = local_date(dt.datetime.now(dt.UTC))
    cache = ReportCache(database_url, OPTIONS, versions=True)
    rekeeper = Rekeeper(database_url, interval=60)
    seen = rows[:first]
    try:
        for n, batch in enumerate(batches):
            await arrive(pool, batch)
            seen += batch
            if n % 2:  # the service's background re-keep, two looks: the kept states, then
                for _ in range(2):  # the half-year figures kept by a day's recording cut-off
                    await rekeeper.look(pool)
            for live in (False,) * cut_offs + (True,):
                await check(pool, cache, asked(rng, seen, today, live), n)
            entry = late_entry(rng, seen, today)
            await arrive(pool, entry)
            seen += entry
            await check(pool, cache, asked(rng, seen, today, live=True), n)
        # The routes this history took: read without a fold, folded, a kept state folded again,
        # half-year figures kept by a day's recording cut-off.
        assert cache.projected and cache.folds and rekeeper.kept and rekeeper.recorded, (
            cache.projected,
            cache.folds,
            rekeeper.kept,
            rekeeper.recorded,
        )
    finally:
        cache.close()
