"""The half-year figures by a recording cut-off at the end of each past local day, kept by one
fold pass in recording order (issue 12; readmodel_recorded.py says what is kept and when it is
exact).

The pass starts at the first day whose figures are missing or inexact, from the fold of every
fact recorded by the day before (a fold worker's by-recording fold, from a kept state), and
goes a day at a time to yesterday: each day's facts (those with that pass day) advance the held
state as live facts advance the live lane's (`Worker._advance`: a late agency fact folds its
agency again; another fact before the state's mark, a fold), and the figures of each period
holding the day are computed from it. Every day's figures come from the fold's own code on the
fold of exactly that cut-off's facts, so they equal the answer the fold would render.

It runs in a worker process of its own at a lower CPU priority, started by the re-keep's look
(rekeep.py) under the generation's re-keep lock: one instance's pass at a time, never beside a
re-keep of the kept states it starts from. Rows are stored a batch of days at a time, each
batch in a transaction of its own: a pass killed midway leaves whole rows, each exact in its
snapshot, and the next look goes on from the first day missing.

The pass reads in legs of about `LEG_SECONDS`, each in a snapshot of its own, so that no
snapshot is held for the whole pass (vacuum keeps what an open snapshot may read). A leg goes on
with the held state of the last: exact in the new snapshot unless a fact within a day already
folded was committed in between (a producer's relay held back), in which case the pass goes back
to that fact's day and folds it again.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import asyncpg

from services.reporting import foldworker, readmodel, readmodel_recorded
from services.reporting.domain.periods import end_of_local_day, local_date
from services.reporting.foldworker import FOLDED, Held, Worker
from services.reporting.kept_figures import half_year_layout, periods_holding, recorded_half_years
from services.reporting.readmodel import FoldRow

BATCH = 2_000  # facts fetched at a time
ROWS_A_STORE = 60  # rows (a day's figures of one period each) stored in one transaction
# How long a leg of the pass holds its snapshot, about (its last store ends it): while a
# transaction holds a snapshot, vacuum keeps every row version it may read (the whole pass was
# one snapshot, ~7 minutes at 1M facts).
LEG_SECONDS = 30.0


async def keep_days(
    worker: Worker, dsn: str, generation: str, today: dt.date, leg_seconds: float = LEG_SECONDS
) -> int:
    """Keep the figures of every day from the first missing or inexact one to the day before
    `today`; how many rows were stored (0 while another process holds the re-keep lock)."""
    if worker.writer is None or worker.writer.is_closed():
        worker.writer = await asyncpg.connect(dsn)
    writer = worker.writer
    if not await writer.fetchval(foldworker._TRY_LOCK, foldworker.lock(generation)):
        return 0
    try:
        layout = half_year_layout()
        async with writer.transaction():
            first = await readmodel_recorded.first_unkept(writer, generation, layout, FOLDED, today)
        if first is None:
            return 0
        return await _pass(worker, dsn, generation, layout, first, today, leg_seconds)
    finally:
        await writer.execute(foldworker._UNLOCK, foldworker.lock(generation))


@dataclass
class _Progress:
    """Where a pass stands between its legs."""

    day: dt.date  # the next day to keep
    held: Held | None = None  # every fact with a pass day before `day` visible in `snapshot`
    snapshot: str = ""
    filenode: int = 0
    stored: int = 0  # rows


async def _pass(
    worker: Worker,
    dsn: str,
    generation: str,
    layout: str,
    first: dt.date,
    today: dt.date,
    leg_seconds: float,
) -> int:
    """The pass from `first` to the day before `today`, in legs of about `leg_seconds` each in
    a snapshot of its own; rows stored."""
    conn = await worker.connection(dsn)
    progress = _Progress(first)
    last = today - dt.timedelta(days=1)
    while progress.day <= last:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            if not await _start_leg(worker, conn, dsn, generation, progress):
                break
            ends = time.monotonic() + leg_seconds
            await _leg(worker, conn, dsn, generation, layout, progress, last, ends)
    return progress.stored


async def _start_leg(
    worker: Worker, conn: asyncpg.Connection, dsn: str, generation: str, progress: _Progress
) -> bool:
    """The leg's snapshot taken, and the held state folded in it if it has none yet or misses a
    fact committed since the last leg's; False: the facts were reset meanwhile (the pass ends:
    `store` would refuse its rows)."""
    snapshot: str = await conn.fetchval("SELECT pg_current_snapshot()::text")
    filenode = await readmodel.facts_filenode(conn, generation)
    if progress.held is not None:
        if filenode != progress.filenode:
            return False
        # A fact within a folded day's cut-off that reached this database since (a producer's
        # relay held back): the pass goes back to its day, as the next look would.
        late = await readmodel_recorded.first_pass_day_since(
            conn, generation, FOLDED, progress.snapshot
        )
        if late is not None and late < progress.day:
            progress.held, progress.day = None, late
    if progress.held is None:
        progress.held = await _state_by(
            worker, conn, dsn, generation, filenode, progress.day, snapshot
        )
    progress.snapshot, progress.filenode = snapshot, filenode
    return True


async def _leg(
    worker: Worker,
    conn: asyncpg.Connection,
    dsn: str,
    generation: str,
    layout: str,
    progress: _Progress,
    last: dt.date,
    ends: float,
) -> None:
    """The days from `progress.day` to `last` in the caller's snapshot, up to the first store
    after `ends` (monotonic time)."""
    assert worker.writer is not None  # connected by `keep_days`
    held = progress.held
    assert held is not None  # folded by `_start_leg`
    cursor = await readmodel_recorded.facts_by_pass_day(
        conn, generation, FOLDED, progress.day, last
    )
    groups = _by_day(cursor)
    try:
        upcoming = await anext(groups, None)
        pending: list[tuple[dt.date, dt.date, str]] = []
        figures: dict[dt.date, str] = {}  # the last figures of each period
        day = progress.day
        while day <= last:
            facts: list[FoldRow] = []
            if upcoming is not None and upcoming[0] == day:
                facts = upcoming[1]
                upcoming = await anext(groups, None)
            if facts:
                key = (generation, progress.filenode, day, end_of_local_day(day))
                advanced = await worker._advance(conn, generation, key, held, facts)
                if advanced is None:  # a fact other than an agency fact before the mark
                    advanced, _ = await worker._fold(conn, dsn, generation, key, progress.snapshot)
                held = advanced
                figures.clear()  # every period's figures computed again
            for period_end, text in _figures(held, day, figures):
                figures[period_end] = text
                pending.append((day, period_end, text))
            day += dt.timedelta(days=1)
            if len(pending) >= ROWS_A_STORE or day > last:
                progress.stored += await readmodel_recorded.store(
                    worker.writer, generation, layout, progress.filenode, progress.snapshot, pending
                )
                pending.clear()
                foldworker._trim()  # the copies of the held state's base a mark move let go
                progress.day, progress.held = day, held
                if time.monotonic() >= ends:
                    return
    finally:
        await groups.aclose()


async def _by_day(
    cursor: asyncpg.cursor.Cursor[asyncpg.Record],
) -> AsyncGenerator[tuple[dt.date, list[FoldRow]], None]:
    """The facts read by `facts_by_pass_day`, a pass day's at a time (in fold order)."""
    day: dt.date | None = None
    facts: list[FoldRow] = []
    while batch := await cursor.fetch(BATCH):
        for row in batch:
            if row[7] != day:
                if facts:
                    yield day, facts  # type: ignore[misc]  # set with the first row
                day, facts = row[7], []
            facts.append(tuple(row)[:7])  # the FoldRow columns
    if day is not None and facts:
        yield day, facts


def _figures(held: Held, day: dt.date, known: dict[dt.date, str]) -> list[tuple[dt.date, str]]:
    """The figures of the periods holding `day`: those `known` (no fact since) as they were."""
    periods = {p.end for p in periods_holding(day)}
    if periods <= known.keys():
        return [(end, known[end]) for end in sorted(periods)]
    return recorded_half_years(held.state, day)


async def _state_by(
    worker: Worker,
    conn: asyncpg.Connection,
    dsn: str,
    generation: str,
    filenode: int,
    first: dt.date,
    snapshot: str,
) -> Held:
    """The fold of every fact recorded by the end of the day before `first` (none before the
    first fact's day: an empty state)."""
    earliest = await readmodel_recorded.first_day(conn, generation)
    if earliest is None or first <= earliest:
        return Held(snapshot)
    before = first - dt.timedelta(days=1)
    key = (generation, filenode, before, end_of_local_day(before))
    held, _ = await worker._fold(conn, dsn, generation, key, snapshot)
    return held


def keep(dsn: str, generation: str, leg_seconds: float = LEG_SECONDS) -> int:
    """Entry point (rekeep.py, in a worker process of its own, at a lower CPU priority): the
    figures of every past day from the first missing or inexact one; how many rows."""
    os.nice(foldworker.REKEEP_NICENESS)
    worker = foldworker._the_worker()
    today = local_date(dt.datetime.now(dt.UTC))
    return worker.loop.run_until_complete(keep_days(worker, dsn, generation, today, leg_seconds))
