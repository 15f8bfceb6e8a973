"""The fold worker: a separate process that folds facts and renders reports.

Folding a million facts is seconds of CPU; in the service's process it held the event loop (and
every other request) for that long. Here it runs in a child process with its own connection,
and only the rendered answers travel back. The worker keeps the last few folded states: a
state as of a cut-off is advanced by the facts committed since it was read when they all sort
after the last fact it folded (live facts usually do), and folded again from the start
otherwise, so the result is always the fold of exactly the facts its snapshot sees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg
from socialwork_contracts.catalog import BY_TYPE_KEY, CURRENT_VERSION, UnknownEventType, load

from servicekit.eventstore.store import init_connection
from services.reporting import readmodel
from services.reporting.domain.state import CityState, apply_event, folded_types
from services.reporting.domain.targets import TargetOptions
from services.reporting.readmodel import FoldRow
from services.reporting.views import Rendered, ReportQuery, by_unit, render

HELD_STATES = 2  # each is a city's worth of views (RSS); the dashboard asks for one or two
SortKey = tuple[dt.date, dt.datetime, dt.datetime, str]
StateKey = tuple[str, int, dt.date, dt.datetime | None]


@dataclass
class Held:
    snapshot: str  # pg_current_snapshot() of the transaction the state was last read in
    state: CityState
    last: SortKey | None  # the last fact folded, in fold order
    units: dict[str, CityState] | None = None  # views.by_unit(state), until the state moves

    def by_unit(self) -> dict[str, CityState]:
        if self.units is None:
            self.units = by_unit(self.state)
        return self.units


@dataclass(frozen=True)
class Answer:
    generation: str
    filenode: int
    snapshot: str
    rendered: list[Rendered]
    refolded: bool  # folded from the start (not held, or a fact arrived out of order)


class Worker:
    """One per worker process (module global below): its loop, connection and held states."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection | None = None
        self.held: OrderedDict[StateKey, Held] = OrderedDict()

    async def connection(self, dsn: str) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(dsn)
            await init_connection(self.conn)
        return self.conn

    async def answer(
        self,
        dsn: str,
        generation: str,
        queries: list[ReportQuery],
        options: TargetOptions,
    ) -> Answer:
        cutoff, recorded = queries[0].day, queries[0].recorded_until
        conn = await self.connection(dsn)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                snapshot: str = await conn.fetchval("SELECT pg_current_snapshot()::text")
                filenode = await readmodel.facts_filenode(conn, generation)
                key = (generation, filenode, cutoff, recorded)
                held, refolded = self.held.pop(key, None), False
                if held is not None:
                    new = await readmodel.fold_rows_since(
                        conn, generation, held.snapshot, cutoff, recorded, FOLDED
                    )
                    if new and held.last is not None and _sort_key(new[0]) <= held.last:
                        held = None  # an earlier fact arrived late: the fold order changed
                    else:
                        for row in new:
                            _apply(held, row)
                if held is None:
                    refolded = True
                    held = Held(snapshot, CityState(), None)
                    rows = readmodel.fold_rows_in_order(conn, generation, cutoff, recorded, FOLDED)
                    async for row in rows:
                        _apply(held, row)
                held.snapshot = snapshot
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            self.conn = None  # reconnect on the next call
            raise
        self.held[key] = held
        while len(self.held) > HELD_STATES:
            self.held.popitem(last=False)
        rendered = [render(held.state, q, options, held.by_unit) for q in queries]
        return Answer(generation, filenode, snapshot, rendered, refolded)


FOLDED = sorted(folded_types())  # the other types leave the state as it is: not even read


def _sort_key(row: FoldRow) -> SortKey:
    return (row[2], row[3], row[4], row[5])  # state.sort_key's order


def _apply(held: Held, row: FoldRow) -> None:
    """Fold one fact; the payload is validated from its JSON text once, as `catalog.load`
    would from a dict (older stored versions still go through the upcasters)."""
    event_type, version, day, *_, text = row
    if CURRENT_VERSION.get(event_type) == version:
        event = BY_TYPE_KEY[f"{event_type}.v{version}"].model_validate_json(text)
    else:
        try:
            event = load(event_type, version, json.loads(text))
        except UnknownEventType:
            return  # as state.apply: a type or version this build does not fold
    apply_event(held.state, event, day)
    held.last = _sort_key(row)
    held.units = None


_worker: Worker | None = None


def answer(dsn: str, generation: str, queries: list[ReportQuery], options: TargetOptions) -> Answer:
    """Entry point in the worker process (ProcessPoolExecutor): same cut-off for every query."""
    global _worker  # one per process, made on its first call
    if _worker is None:
        _worker = Worker()
    return _worker.loop.run_until_complete(_worker.answer(dsn, generation, queries, options))
