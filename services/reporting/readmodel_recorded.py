"""Half-year figures by a recording cut-off before the period's end (issue 12), kept a day at a
time: `recorded_figures` (readmodel.generation_tables_ddl).

A half-year report "as recorded on day D" for a period ending after D is the fold of every fact
recorded by the end of D: no state kept at a quarter's or a half-year's end is that state, and
its fold cost 0.6-1 s at 1M facts. Such an answer never changes once D is over, except when a
fact recorded by then reaches this database later (a producer's relay held back, a replay's
catch-up). So one fold pass in recording order keeps, for every past local day and every period
holding it, the figures of that cut-off (recorded_days.py), and the service reads them with no
fold while they are exact.

A fact is within day D's cut-off when it takes effect by D and was recorded by D's end: its
"pass day", the later of its effective day and its local recording day, is D or before
(`PASS_DAY`). A row is exact in a snapshot while no fact with a pass day on or before its day was
committed after the row's snapshot; each look of the re-keep moves the exact rows' snapshots to
its own, so that the check at an answer reads only the facts committed since that look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import asyncpg

from servicekit.db import Connection
from services.reporting import readmodel
from services.reporting.domain.periods import LOCAL
from services.reporting.kept_figures import periods_holding

ZONE = LOCAL.key  # the local zone by name, for PostgreSQL's AT TIME ZONE
PASS_DAY = f"GREATEST(effective_on, (recorded_at AT TIME ZONE '{ZONE}')::date)"
_ROW = "filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1"
# No fact within the kept row `c`'s cut-off committed after its snapshot (the tx index).
_EXACT = (
    "NOT EXISTS (SELECT 1 FROM {g}.facts WHERE event_type = ANY($2::text[]) "
    f"AND {PASS_DAY} <= c.day AND {readmodel._SINCE_KEPT})"
)


# The first pass day of the facts committed after `snapshot` (NULL: none; the tx index).
_FIRST_SINCE = (
    f"SELECT min({PASS_DAY}) FROM {{g}}.facts WHERE event_type = ANY($2::text[]) "
    "AND tx >= pg_snapshot_xmin({snapshot}::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(tx, {snapshot}::pg_snapshot)"
)


async def figures_at(
    conn: Connection,
    generation: str,
    layout: str,
    day: dt.date,
    period_end: dt.date,
    types: Sequence[str],
) -> str | None:
    """The figures (JSON: kept_figures) of the period ending `period_end` by a recording
    cut-off at the end of `day`, if kept by `layout`'s code and exact in this snapshot."""
    g = readmodel.checked_generation(generation)
    figures: str | None = await conn.fetchval(
        f"SELECT figures FROM {g}.recorded_figures c WHERE {_ROW.format(g=g)} "
        f"AND day = $3 AND period_end = $4 AND {_EXACT.format(g=g)}",
        layout,
        list(types),
        day,
        period_end,
    )
    return figures


async def first_day(conn: Connection, generation: str) -> dt.date | None:
    """The first fact's effective day (None: no fact): no pass day is earlier."""
    g = readmodel.checked_generation(generation)
    first: dt.date | None = await conn.fetchval(f"SELECT min(effective_on) FROM {g}.facts")
    return first


async def first_pass_day_since(
    conn: Connection, generation: str, types: Sequence[str], snapshot: str
) -> dt.date | None:
    """The first pass day among the facts committed after `snapshot` (None: none)."""
    g = readmodel.checked_generation(generation)
    first: dt.date | None = await conn.fetchval(
        _FIRST_SINCE.format(g=g, snapshot="$1::text"), snapshot, list(types)
    )
    return first


class Kept(NamedTuple):
    day: dt.date
    period_end: dt.date


async def exact_rows(
    conn: Connection, generation: str, layout: str, types: Sequence[str]
) -> set[Kept]:
    """The rows kept by `layout`'s code that are exact now, each moved to the snapshot of this
    function's first statement: one index range of the facts committed since
    each distinct snapshot (one a pass or a look), not a lookup a row. In the caller's
    transaction, read committed: a later statement sees the facts committed since the first,
    and counts them against a row too (never a row moved past a fact it misses)."""
    g = readmodel.checked_generation(generation)
    now: str = await conn.fetchval("SELECT pg_current_snapshot()::text")
    firsts = await conn.fetch(
        f"SELECT s.snapshot, ({_FIRST_SINCE.format(g=g, snapshot='s.snapshot')}) "
        f"FROM (SELECT DISTINCT snapshot FROM {g}.recorded_figures WHERE {_ROW.format(g=g)}) s",
        layout,
        list(types),
    )
    exact: set[Kept] = set()
    for snapshot, first in firsts:
        rows = await conn.fetch(
            f"UPDATE {g}.recorded_figures SET snapshot = $4 WHERE {_ROW.format(g=g)} "
            "AND snapshot = $2 AND ($3::date IS NULL OR day < $3) RETURNING day, period_end",
            layout,
            snapshot,
            first,
            now,
        )
        exact.update(Kept(*r) for r in rows)
    return exact


async def first_unkept(
    conn: Connection,
    generation: str,
    layout: str,
    types: Sequence[str],
    today: dt.date,
) -> dt.date | None:
    """The first day before `today` whose figures are missing or inexact (the pass starts
    there), or None: every day from the first fact's is kept (`exact_rows`, in the caller's
    transaction)."""
    first = await first_day(conn, generation)
    if first is None:
        return None
    exact = await exact_rows(conn, generation, layout, types)
    day = first
    while day < today:
        if any(Kept(day, p.end) not in exact for p in periods_holding(day)):
            return day
        day += dt.timedelta(days=1)
    return None


async def store(
    conn: Connection,
    generation: str,
    layout: str,
    filenode: int,
    snapshot: str,
    rows: Iterable[tuple[dt.date, dt.date, str]],
) -> int:
    """Rows (day, period end, figures) computed in `snapshot`, in one transaction, replacing
    those kept before (none stored if the facts table is no longer `filenode`: a reset
    meanwhile); how many were given."""
    g = readmodel.checked_generation(generation)
    batch = list(rows)
    await conn.executemany(
        f"INSERT INTO {g}.recorded_figures (filenode, layout, day, period_end, snapshot, figures) "
        f"SELECT $1, $2, $3, $4, $5, $6 WHERE $1 = pg_relation_filenode('{g}.facts'::regclass) "
        "ON CONFLICT (filenode, layout, day, period_end) "
        "DO UPDATE SET snapshot = excluded.snapshot, figures = excluded.figures",
        [(filenode, layout, day, end, snapshot, figures) for day, end, figures in batch],
    )
    return len(batch)


async def facts_by_pass_day(
    conn: Connection, generation: str, types: Sequence[str], first: dt.date, last: dt.date
) -> asyncpg.cursor.Cursor[asyncpg.Record]:
    """The facts with a pass day from `first` to `last`, ordered by it and then in fold order,
    each fold row followed by its pass day. Fetched a batch at a time with nothing in flight
    between (no read-ahead): the pass reads other facts on the same connection, in the same
    snapshot, between batches (the caller's transaction)."""
    g = readmodel.checked_generation(generation)
    query = (
        f"SELECT {readmodel._FOLD_COLUMNS}, {PASS_DAY} AS pass_day FROM {g}.facts "
        f"WHERE event_type = ANY($1::text[]) AND {PASS_DAY} BETWEEN $2 AND $3 "
        'ORDER BY pass_day, effective_on, occurred_at, recorded_at, event_id COLLATE "C"'
    )
    return await conn.cursor(query, list(types), first, last)
