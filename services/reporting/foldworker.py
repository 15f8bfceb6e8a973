"""The fold worker: a separate process that folds facts and renders reports.

Folding a million facts is seconds of CPU; in the service's process it held the event loop (and
every other request) for that long. Here it runs in a child process with its own connection,
and only the rendered answers travel back. The worker keeps the last few folded states: a
state as of a cut-off is advanced by the facts committed since it was read when they all sort
after the last fact it folded (live facts usually do), and folded again otherwise, so the
result is always the fold of exactly the facts its snapshot sees. A fold starts from the state
as of the last quarter end before its cut-off kept in PostgreSQL (`readmodel.checkpoint_before`,
domain/checkpoint.py) when no fact within that day has arrived since it was kept, and keeps the
state as of the last quarter end it passes: a new as-of date reads at most a quarter's facts
instead of every fact from the first (issue 12: 4-19 s at a million), in this process, after a
restart, or in another instance. A by-recording cut-off starts from a kept state whose facts
recorded after it are all agency facts, those agencies folded again without them
(`Start.held`): late registrations sent it years back before.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import sys
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import asyncpg
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import BY_TYPE_KEY, CURRENT_VERSION, UnknownEventType, load

from servicekit import heap
from services.reporting import readmodel
from services.reporting.domain import checkpoint
from services.reporting.domain.periods import half_ending
from services.reporting.domain.state import (
    AGENCY_FACTS,
    INTO_RECORDS,
    CityState,
    agency_of,
    apply_event,
    folded_types,
    refold_agencies,
)
from services.reporting.domain.targets import TargetOptions
from services.reporting.kept_figures import half_year_layout, kept_half_year
from services.reporting.readmodel import FoldRow
from services.reporting.views import Rendered, ReportQuery, render_all

# Each is a city's worth of views (RSS: ~100 MB at a million facts). A lane needs one: the live
# lane's cut-offs (today, the half-year in progress) share it while no fact takes effect between
# them (`_same_facts`); a past answer is kept in the service's cache, and the history lane's
# held state lets the next cut-off extend it.
HELD_STATES = 1
SortKey = tuple[dt.date, dt.datetime, dt.datetime, str]
StateKey = tuple[str, int, dt.date, dt.datetime | None]


TAIL_LIMIT = 5_000  # facts kept apart from the base (parsed events: ~1 KB each)
# The tail's newest part kept when it outgrows the limit: later facts that arrive out of order
# by less than that (live facts from different partitions) are merged, not folded again.
TAIL_KEPT = TAIL_LIMIT // 2


@dataclass
class Held:
    """A folded state = `base` (every fact before `mark`) + the `tail` facts, in fold order.

    Topics are not ordered with each other, so live facts often arrive a little out of fold
    order (a later-occurred fact from one partition before an earlier one from another). A late
    fact at or after `mark` costs a copy of the base and the tail folded again; an agency fact
    before `mark` costs its agency folded again (`take_late_agency_facts`); only another fact
    before `mark` costs a fold, from the last kept checkpoint before it. At a fold the mark is
    the start of the last effective day.
    """

    snapshot: str  # pg_current_snapshot() of the transaction the state was last read in
    state: CityState = field(default_factory=CityState)
    base: CityState = field(default_factory=CityState)
    mark: SortKey | None = None  # None: still folding from the start (no base yet)
    tail: list[tuple[SortKey, DomainEvent, dt.date]] = field(default_factory=list)
    merges: int = 0  # late facts folded in by `merge` (tests)
    recorded: dt.datetime | None = None  # the latest recording among the facts folded
    # ... among those that are not agency facts (kept with a checkpoint, `_start`).
    recorded_other: dt.datetime | None = None

    @property
    def last(self) -> SortKey | None:
        return self.tail[-1][0] if self.tail else self.mark

    def add(self, key: SortKey, event: DomainEvent, day: dt.date, fold: bool = True) -> None:
        """Fold one more fact that sorts after every fact folded so far (`fold`: unless the
        state already holds it)."""
        if fold:
            apply_event(self.state, event, day)
        self.tail.append((key, event, day))
        self.note(key, event)
        if len(self.tail) > TAIL_LIMIT:
            # Not at the newest fact: then any later fact sorting before it, of the same day
            # even, found no base to merge onto and cost a whole fold.
            self.set_mark(self.tail[-TAIL_KEPT][0])

    def note(self, key: SortKey, event: DomainEvent) -> None:
        """Count a folded fact's recording in `recorded` (and `recorded_other`)."""
        at = key[2]  # compared, not max(): a call per fact of a fold
        if self.recorded is None or at > self.recorded:
            self.recorded = at
        if type(event) not in AGENCY_FACTS and (
            self.recorded_other is None or at > self.recorded_other
        ):
            self.recorded_other = at

    def set_mark(self, mark: SortKey) -> None:
        """Move the base up to every fact before `mark` (the tail keeps the rest)."""
        keep = [t for t in self.tail if t[0] >= mark]
        self.base = _copy(self.base)
        for _, event, day in self.tail[: len(self.tail) - len(keep)]:
            apply_event(self.base, event, day)
        self.tail, self.mark = keep, mark

    def take_late_agency_facts(
        self,
        usccs: list[str],
        theirs: list[tuple[SortKey, DomainEvent, dt.date]],
        later: list[tuple[SortKey, DomainEvent, dt.date]],
    ) -> None:
        """Take agency facts that sort before the mark (a backdated entry) with the `later`
        facts committed with them: `usccs` are the early facts' agencies, `theirs` all their
        agency facts the snapshot sees. Only an agency's facts change its view, so their views
        are folded again from `theirs`, in the base from those before the mark and in the state
        from all; the rest as `add` would (a merge when they sort among the tail)."""
        assert self.mark is not None  # a base holds the facts before the mark
        mark, last = self.mark, self.last
        refold_agencies(self.base, usccs, [(e, day) for k, e, day in theirs if k < mark])
        if later and last is not None and later[0][0] < last:
            self.merge(later)  # the state made again from the base
            return
        refold_agencies(self.state, usccs, [(e, day) for _, e, day in theirs])
        refolded = set(usccs)
        for key, event, day in later:
            self.add(key, event, day, fold=agency_of(event) not in refolded)

    def merge(self, late: list[tuple[SortKey, DomainEvent, dt.date]]) -> None:
        """Fold facts that sort among the tail: the base again with the tail in order."""
        self.tail = sorted([*self.tail, *late], key=lambda t: t[0])
        for key, event, _ in late:
            self.note(key, event)
        self.state = _copy(self.base)
        for _, event, day in self.tail:
            apply_event(self.state, event, day)


# The smallest (occurred, recorded, event id) of a day: a mark before all of that day's facts.
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
START_OF_DAY: tuple[dt.datetime, dt.datetime, str] = (_EARLIEST, _EARLIEST, "")


def _copy(state: CityState) -> CityState:
    """A copy sharing the (immutable) views: its dicts and lists can change apart."""
    return CityState(
        **{f.name: type(v)(v) for f in fields(state) if (v := getattr(state, f.name)) is not None}
    )


@dataclass(frozen=True)
class Answer:
    generation: str
    filenode: int
    snapshot: str
    read_at: dt.datetime  # the database's clock as the snapshot was taken
    rendered: list[Rendered]
    refolded: bool  # folded from the start (not held, or a fact arrived out of order)


class Late(NamedTuple):
    """Agencies a restored state holds facts of recorded after a by-recording cut-off, or (no
    cut-off) agencies with agency facts committed after the state was kept."""

    usccs: list[str]
    rows: list[FoldRow]  # their agency facts within the cut-off, in fold order
    recorded: dt.datetime | None  # the cut-off (None: by occurrence)


@dataclass(frozen=True)
class Start:
    """Where a fold starts (`Worker._start`): from nothing, from a held state of an earlier
    `day`, or from the state kept as of `day` (with `late`: some agencies folded again)."""

    day: dt.date | None = None
    source: Held | None = None
    kept: readmodel.Checkpoint | None = None
    late: Late | None = None

    def held(self) -> Held:
        """The state to fold the facts after `day` onto (a kept one decoded: CPU only)."""
        held = Held("")
        if self.day is None:
            return held
        # Facts of the day or before arriving later sort before the mark: a new fold.
        held.mark = (self.day + dt.timedelta(days=1), *START_OF_DAY)
        if self.source is not None:
            held.base, held.recorded = _copy(self.source.state), self.source.recorded
            held.recorded_other = self.source.recorded_other
            return held
        assert self.kept is not None  # a day is a held state's or a kept one's
        held.base, held.recorded = checkpoint.decode(self.kept.state), self.kept.last_recorded
        # A row kept before `last_recorded_other`: every fact's latest is a bound of it.
        held.recorded_other = self.kept.last_recorded_other or self.kept.last_recorded
        if self.late is not None:
            # Only agency facts were recorded after the cut-off (`checkpoint_before`): the
            # views of every other agency and record are the same.
            parsed = list(filter(None, map(_parsed, self.late.rows)))
            refold_agencies(held.base, self.late.usccs, [(e, on) for _, e, on in parsed])
            if self.late.recorded is not None:
                held.recorded = held.recorded_other = self.late.recorded  # none after it left
            else:  # the agency facts committed since: their recordings count too
                for key, event, _ in parsed:
                    held.note(key, event)
        return held


class Worker:
    """One per worker process (module global below): its loop, connection and held states."""

    def __init__(self) -> None:
        # Which days a fold keeps: year ends and the last quarter end (an answer waits for
        # them); every quarter end in the fold after a switch-over (`keep_every_quarter`).
        self.days_to_keep = checkpoint.days_to_keep
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection | None = None
        self.writer: asyncpg.Connection | None = None  # keeps checkpoints during a fold
        self.restored = 0  # folds started from a kept checkpoint (tests, the benchmark)
        self.kept = 0  # checkpoints stored
        self.agencies_refolded = 0  # agencies folded again in a restored or held state (tests)
        self.held: OrderedDict[StateKey, Held] = OrderedDict()
        self.extended = 0  # states made from a held state of an earlier day (tests)
        self.answers = 0  # calls of the process's entry point (`answer`, below)
        self.folded = 0  # facts read by folds (tests)

    async def connection(self, dsn: str) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            # No jsonb codec: a fold reads payloads as text, and the event store's module
            # brought the metrics registry to every worker.
            self.conn = await asyncpg.connect(dsn)
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
                # The transaction's snapshot: every fact committed before the statement began.
                read = await conn.fetchrow(
                    "SELECT pg_current_snapshot()::text, statement_timestamp()"
                )
                assert read is not None  # a SELECT without FROM gives one row
                snapshot: str = read[0]
                read_at: dt.datetime = read[1]
                filenode = await readmodel.facts_filenode(conn, generation)
                key = (generation, filenode, cutoff, recorded)
                key = await self._same_facts(conn, key)
                held, refolded = self.held.pop(key, None), False
                if held is not None:
                    new = await readmodel.fold_rows_since(
                        conn, generation, held.snapshot, key[2], recorded, FOLDED
                    )
                    # None: a fact other than an agency fact arrived late, before its mark.
                    held = await self._advance(conn, generation, key, held, new)
                if held is None:
                    with _out_of_collector():
                        held, refolded = await self._fold(conn, dsn, generation, key, snapshot)
                held.snapshot = snapshot
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            self.conn = self.writer = None  # reconnect on the next call
            raise
        self.held[key] = held
        while len(self.held) > HELD_STATES:
            self.held.popitem(last=False)
        rendered = render_all(held.state, queries, options)
        return Answer(generation, filenode, snapshot, read_at, rendered, refolded)

    async def _same_facts(self, conn: asyncpg.Connection, key: StateKey) -> StateKey:
        """The key of a state held for another cut-off whose fold is this one's, or `key`: no
        fact this snapshot sees takes effect between their days. The live lane is asked as of
        today and as of the current half-year's end (its report in progress), one state a
        lane: each took the other's place, and the next answer as of today folded from a kept
        state. Held under its own key, the state is advanced as of its own day."""
        generation, filenode, cutoff, recorded = key
        if key in self.held:
            return key
        for other in sorted(self.held, key=lambda k: abs((k[2] - cutoff).days)):
            if other[:2] != (generation, filenode) or other[3] != recorded:
                continue
            after, until = sorted((cutoff, other[2]))
            if not await readmodel.any_fact_between(
                conn, generation, after, until, recorded, FOLDED
            ):
                return other
        return key

    async def _advance(
        self,
        conn: asyncpg.Connection,
        generation: str,
        key: StateKey,
        held: Held,
        rows: list[FoldRow],
    ) -> Held | None:
        """The held state with the facts committed since it was read (in fold order), or None
        when one that is not an agency fact sorts before its mark (then only a fold is exact).
        Agency facts before the mark (a backdated entry) are taken by folding their agencies
        again: one agency's facts change its view alone (`refold_agencies`), and a fold from a
        kept state cost 0.75 s at 1M."""
        facts = [p for r in rows if (p := _parsed(r)) is not None]
        mark = held.mark
        early = [] if mark is None else [f for f in facts if f[0] < mark]
        if mark is not None and early:
            usccs = _agencies(early)
            if usccs is None:
                return None
            _, _, cutoff, recorded = key
            rows = await readmodel.agency_fold_rows(conn, generation, usccs, cutoff, recorded)
            parsed = {f[0]: f for f in facts}  # the new ones among them: not parsed twice
            theirs = [p for r in rows if (p := parsed.get(_sort_key(r)) or _parsed(r))]
            for at, event, _ in early:
                held.note(at, event)
            held.take_late_agency_facts(usccs, theirs, [f for f in facts if f[0] >= mark])
            self.agencies_refolded += len(usccs)
            return held
        return _take(held, facts)

    async def _fold(
        self,
        conn: asyncpg.Connection,
        dsn: str,
        generation: str,
        key: StateKey,
        snapshot: str,
        until: dt.date | None = None,
    ) -> tuple[Held, bool]:
        """A new state as of the key's cut-off, and whether it was folded from the first fact:
        the latest exact state before it (held here, or a kept checkpoint; with `until`, one
        of a day before that) extended by the facts after its day. Keeps the states as of the
        days `self.days_to_keep` names."""
        _, filenode, cutoff, recorded = key
        start = await self._start(conn, generation, key, until)
        after = start.day
        keep: list[dt.date] | None = None  # days to keep (at the first fact)
        batches = await readmodel.fold_rows_in_order(
            conn, generation, cutoff, recorded, FOLDED, after
        )
        try:
            held = start.held()  # a restore's decode while PostgreSQL reads the facts after it
            async for rows in batches:
                self.folded += len(rows)
                for fact in filter(None, map(_parsed, rows)):
                    if held.tail and fact[2] != held.tail[-1][2]:
                        for _, event, day in held.tail:  # a day before the last: the base
                            apply_event(held.base, event, day)
                        held.tail.clear()
                    if keep is None:
                        # A state by recording is no day's state by occurrence: none kept.
                        keep = [] if recorded else self.days_to_keep(after, fact[2], cutoff)
                    if keep and fact[2] > keep[0]:  # the base is the state as of these days
                        passed = [d for d in keep if d < fact[2]]
                        await self._keep(
                            dsn, generation, filenode, passed, snapshot, held, held.base
                        )
                        keep = keep[len(passed) :]
                    held.tail.append(fact)
                    held.note(fact[0], fact[1])
        finally:
            await batches.aclose()
        if held.tail:  # the last effective day: today's late facts land after it
            held.mark = (held.tail[0][2], *START_OF_DAY)
        held.merge([])
        if keep:  # no fact after them: the state as of the cut-off is theirs
            await self._keep(dsn, generation, filenode, keep, snapshot, held, held.state)
        return held, after is None

    async def _start(
        self, conn: asyncpg.Connection, generation: str, key: StateKey, until: dt.date | None
    ) -> Start:
        """Where a fold starts: nothing, or the latest exact state as of an earlier day (before
        `until` if given; held in this process, else kept in PostgreSQL), read but not yet
        restored."""
        _, _, cutoff, recorded = key
        earlier = await self._earlier(conn, generation, key, until)
        latest = cutoff if until is None else until - dt.timedelta(days=1)
        kept = await readmodel.checkpoint_before(
            conn, generation, checkpoint.LAYOUT, latest, recorded, FOLDED
        )
        late_agencies: list[str] = []
        # An answer may start from a later state holding late agency facts; a keep (every
        # quarter after a switch-over, a re-keep) folds from an exact one, so that the states
        # it passes are kept exact again.
        if recorded is None and self.days_to_keep is checkpoint.days_to_keep:
            found = await readmodel.checkpoint_with_late_agencies(
                conn, generation, checkpoint.LAYOUT, latest, FOLDED
            )
            if found is not None and (kept is None or found[0].day > kept.day):
                kept, late_agencies = found
        if earlier is None or (kept is not None and kept.day > earlier[0]):
            # The states held for other cut-offs are not its source: let the oldest go now,
            # not after this one is built (two 1M states at once: the worker's peak RSS).
            while len(self.held) >= HELD_STATES:
                self.held.popitem(last=False)
        if kept is not None and (earlier is None or kept.day > earlier[0]):
            self.restored += 1
            if recorded is not None and kept.last_recorded and kept.last_recorded > recorded:
                late = await self._late_agency_facts(conn, generation, kept.day, recorded)
                return Start(kept.day, kept=kept, late=late)
            if late_agencies:
                rows = await readmodel.agency_fold_rows(
                    conn, generation, late_agencies, kept.day, None
                )
                self.agencies_refolded += len(late_agencies)
                return Start(kept.day, kept=kept, late=Late(late_agencies, rows, None))
            return Start(kept.day, kept=kept)
        if earlier is None:
            return Start()
        return Start(earlier[0], source=earlier[1])

    async def keep_again(self, dsn: str, generation: str) -> int:
        """Fold again, once, from the last exact kept state before the earliest one a late
        fact made inexact, keeping each inexact one as the fold passes its day; how many it
        kept. 0 while another process (another instance) holds the generation's re-keep lock:
        that one keeps them. Each state in a transaction of its own (`_keep`)."""
        if self.writer is None or self.writer.is_closed():
            self.writer = await asyncpg.connect(dsn)
        if not await self.writer.fetchval(_TRY_LOCK, lock(generation)):
            return 0
        try:
            conn = await self.connection(dsn)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
                days = await readmodel.inexact_checkpoints(
                    conn, generation, checkpoint.LAYOUT, FOLDED
                )
                if not days:
                    return 0
                filenode = await readmodel.facts_filenode(conn, generation)
                kept, usual = self.kept, self.days_to_keep
                self.days_to_keep = lambda after, first, cutoff: days
                try:
                    with _out_of_collector():  # the state is let go: the process's peak only
                        key = (generation, filenode, days[-1], None)
                        await self._fold(conn, dsn, generation, key, snapshot, until=days[0])
                finally:
                    self.days_to_keep = usual
                return self.kept - kept
        finally:
            await self.writer.execute(_UNLOCK, lock(generation))

    async def keep_figures(self, dsn: str, generation: str) -> int:
        """Give the states kept at half-year ends without this build's figures theirs (kept by
        a build before them, or by other figures' code), each computed from its kept state and
        stored while that row is unchanged; how many. 0 while another process holds the
        generation's re-keep lock, as `keep_again`."""
        if self.writer is None or self.writer.is_closed():
            self.writer = await asyncpg.connect(dsn)
        if not await self.writer.fetchval(_TRY_LOCK, lock(generation)):
            return 0
        try:
            stored = 0
            kept = await readmodel.kept_days(self.writer, generation, checkpoint.LAYOUT)
            for day in unfigured(kept):
                blob = await readmodel.kept_state(self.writer, generation, checkpoint.LAYOUT, day)
                if blob is None:
                    continue
                # One state at a time: a fold worker's peak, not 20.
                state = checkpoint.decode(blob)
                figures = await _half_year(self.writer, generation, day.day, day.other, state)
                if figures is not None:
                    stored += await readmodel.store_half_year(
                        self.writer, generation, checkpoint.LAYOUT, day, figures
                    )
            return stored
        finally:
            await self.writer.execute(_UNLOCK, lock(generation))

    async def _late_agency_facts(
        self, conn: asyncpg.Connection, generation: str, day: dt.date, recorded: dt.datetime
    ) -> Late:
        """The agencies with an agency fact of `day` or before recorded after `recorded`, and
        their agency facts within the cut-off: a state kept as of `day` whose facts recorded
        after it are only agency facts (`checkpoint_before`) serves once they are folded again
        without them (`Start.held`)."""
        usccs = list((await readmodel.late_agencies(conn, generation, day, recorded)).recorded)
        rows = await readmodel.agency_fold_rows(conn, generation, usccs, day, recorded)
        self.agencies_refolded += len(usccs)
        return Late(usccs, rows, recorded)

    async def _keep(
        self,
        dsn: str,
        generation: str,
        filenode: int,
        days: list[dt.date],
        snapshot: str,
        held: Held,
        state: CityState,
    ) -> None:
        """Store `state` (every fact this snapshot sees up to each of `days`) as those days'
        checkpoints, each in a transaction of its own: a fold killed meanwhile leaves the
        previous one or none."""
        if self.writer is None or self.writer.is_closed():
            self.writer = await asyncpg.connect(dsn)
        encoded = checkpoint.encode(state)
        for day in days:
            kept = readmodel.Checkpoint(day, snapshot, held.recorded, encoded, held.recorded_other)
            figures = await _half_year(self.writer, generation, day, held.recorded_other, state)
            await readmodel.store_checkpoint(
                self.writer, generation, checkpoint.LAYOUT, filenode, kept, figures
            )
            self.kept += 1

    async def _earlier(
        self, conn: asyncpg.Connection, generation: str, key: StateKey, until: dt.date | None
    ) -> tuple[dt.date, Held] | None:
        """The held state of the latest earlier cut-off (before `until` if given) with the same
        table and recording cut-off that no fact committed since it was read has changed (it
        is then exactly the fold of the facts up to its day that this snapshot sees)."""
        _, filenode, cutoff, recorded = key
        before = cutoff if until is None else min(cutoff, until)
        candidates = [
            (k[2], h)
            for k, h in self.held.items()
            if k[:2] == (generation, filenode) and k[3] == recorded and k[2] < before
        ]
        for day, source in sorted(candidates, key=lambda c: c[0], reverse=True):
            since = await readmodel.fold_rows_since(
                conn, generation, source.snapshot, day, recorded, FOLDED
            )
            if not since:
                self.extended += 1
                return day, source
        return None


# A session lock (released with the connection, a SIGKILL included) by the name's 64-bit hash.
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"
# Whether no session holds it (taken and given back at once): a look skips a busy re-keep.
LOCK_FREE = (  # CASE: taken before it is given back (AND has no evaluation order)
    "SELECT CASE WHEN pg_try_advisory_lock(hashtextextended($1, 0)) "
    "THEN pg_advisory_unlock(hashtextextended($1, 0)) ELSE false END"
)


def lock(generation: str) -> str:
    """The name of a generation's re-keep lock (`Worker.keep_again`)."""
    return f"reporting.keep_again.{generation}"


FOLDED = sorted(folded_types())  # the other types leave the state as it is: not even read


def _sort_key(row: FoldRow) -> SortKey:
    return (row[2], row[3], row[4], row[5])  # state.sort_key's order


def _parsed(row: FoldRow) -> tuple[SortKey, DomainEvent, dt.date] | None:
    """A fact's sort key, event and effective day; the payload validated from its JSON text
    once, as `catalog.load` would from a dict (older stored versions still upcast)."""
    event_type, version, day, *_, text = row
    if CURRENT_VERSION.get(event_type) == version:
        event = BY_TYPE_KEY[f"{event_type}.v{version}"].model_validate_json(text)
    else:
        try:
            event = load(event_type, version, json.loads(text))
        except UnknownEventType:
            return None  # as state.apply: a type or version this build does not fold
    _share_fields_set(event)
    if type(event) in INTO_RECORDS:
        return _sort_key(row), event, _DATES.setdefault(day, day)
    return _sort_key(row), event, _shared(event, day)


# One object per distinct value held by folded states (their views keep the event's values):
# a million facts repeat a few thousand dates and codes hundreds of thousands of times, each a
# separate object as parsed (issue 12: RSS). The values are immutable, so sharing is invisible.
_DATES: dict[dt.date, dt.date] = {}
_INTS: dict[int, int] = {}


# Per event class, the set of field names its events were given (pydantic's fields set).
_FIELDS_SETS: dict[type[DomainEvent], set[str]] = {}


def _share_fields_set(event: DomainEvent) -> None:
    """One set of given field names per event class: each parsed event had its own (216-728
    bytes), 3.8 of the live worker's 8.7 MiB of held tail facts at a million (issue 12: RSS). A
    frozen event never changes it, and `model_copy` copies it before an update."""
    given = event.__pydantic_fields_set__
    known = _FIELDS_SETS.setdefault(type(event), given)
    if known is not given and known == given:
        object.__setattr__(event, "__pydantic_fields_set__", known)


def _shared(event: DomainEvent, day: dt.date) -> dt.date:
    """Share the event's top-level strings, dates and integers; returns the shared `day`."""
    fields = event.__dict__  # a frozen model's values, replaced by equal ones of the same type
    for name, value in fields.items():
        kind = type(value)
        if kind is str:
            fields[name] = sys.intern(value)
        elif kind is dt.date:
            fields[name] = _DATES.setdefault(value, value)
        elif kind is int:
            fields[name] = _INTS.setdefault(value, value)
    return _DATES.setdefault(day, day)


def _agencies(facts: list[tuple[SortKey, DomainEvent, dt.date]]) -> list[str] | None:
    """The credit codes of these facts' agencies, or None if one is not an agency fact."""
    usccs = {agency_of(event) for _, event, _ in facts}
    return None if None in usccs else sorted(u for u in usccs if u is not None)


def _take(held: Held, facts: list[tuple[SortKey, DomainEvent, dt.date]]) -> Held | None:
    """The held state with facts committed since it was read (parsed, in fold order), or None
    when one sorts before its mark (then only a whole fold is exact)."""
    if not facts:
        return held
    last = held.last
    if last is None or facts[0][0] > last:
        for fact in facts:
            held.add(*fact)
        return held
    if held.mark is None or facts[0][0] < held.mark:
        return None
    held.merge(facts)
    held.merges += 1
    return held


def _trim() -> None:
    """Give the heap a fold freed back to the operating system: a restore's transient tuples
    (every view's values) and a fold's parsed events were freed between the views, and glibc
    kept those pages (RSS at 1M: the live worker 219-222 -> 193 MB after a restore)."""
    heap.trim()


@contextlib.contextmanager
def _out_of_collector() -> Iterator[None]:
    """A fold makes an object per view, each as long-lived as the state: the cyclic collector's
    full passes scanned them again and again as they piled up (issue 12: 9.6 s of one worker's
    cold folds at a million facts, gc.callbacks). A state holds no reference cycles, so the
    collector waits until the fold is done and then leaves every object made so far out of its
    passes (`gc.freeze`); reference counting still frees a state let go."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        _trim()
        if enabled:
            gc.enable()


# A live answer copies the state's dicts (late facts merged) and renders: each young-generation
# pass traversed those copies again (issue 12: 20-200 ms, several a second in the live worker
# at a million facts) and freed nothing (gc.callbacks: 0 collected, every pass). In a worker
# process the collector runs only between answers, one full pass every COLLECT_EVERY answers
# (the state frozen after its fold is not scanned), for whatever cycles an answer left.
COLLECT_EVERY = 64
_worker: Worker | None = None


def started() -> bool:
    """Called once in a new worker process: its imports are done by then."""
    _the_worker()
    return True


def _the_worker() -> Worker:
    """This process's worker, made on its first call (a recycled lane's is not `started`)."""
    global _worker  # one per process
    if _worker is None:
        gc.disable()
        # At 1M facts a restore peaked at 106.7 -> 99.8 MiB with this, and ended 104.3 -> 94.7
        # before a trim (its compressed parts freed first raised glibc's threshold).
        heap.return_large_blocks()
        _worker = Worker()
    return _worker


def answer(dsn: str, generation: str, queries: list[ReportQuery], options: TargetOptions) -> Answer:
    """Entry point in the worker process (servicekit.workers): same cut-off for every query."""
    worker = _the_worker()
    worker.answers += 1
    if worker.answers % COLLECT_EVERY == 0:
        gc.collect()
    return worker.loop.run_until_complete(worker.answer(dsn, generation, queries, options))


def keep_every_quarter(dsn: str, generation: str, today: dt.date) -> int:
    """Entry point (after a switch-over, rebuild.keep_checkpoints): one fold as of `today` in
    a worker process of its own, keeping the state at every quarter end it passes; how many it
    kept. The process's one worker (`_the_worker`: its heap set up as every fold worker's)."""
    worker = _the_worker()
    worker.days_to_keep = checkpoint.quarter_ends
    query = ReportQuery("targets", today, None, None)
    worker.loop.run_until_complete(worker.answer(dsn, generation, [query], TargetOptions()))
    return worker.kept


def keep_again(dsn: str, generation: str) -> int:
    """Entry point (rekeep.py, in a worker process of its own, at a lower CPU priority: the
    live lane and the database come first): the kept states that late facts made inexact kept
    again in one fold (`Worker.keep_again`); how many."""
    os.nice(REKEEP_NICENESS)
    worker = _the_worker()
    return worker.loop.run_until_complete(worker.keep_again(dsn, generation))


async def _half_year(
    conn: asyncpg.Connection,
    generation: str,
    day: dt.date,
    other: dt.datetime | None,
    state: CityState,
) -> readmodel.HalfYearKept | None:
    """What to keep beside the state as of `day` if a half-year ends on it (`kept_half_year`):
    its figures, and the agencies with agency facts recorded after `other` (the latest recording
    of its other facts). Read in a snapshot after the state's: an agency fact committed since
    leaves the state inexact, and its figures unread, by every cut-off that sees it."""
    if half_ending(day) is None:
        return None
    late = await readmodel.late_agencies(conn, generation, day, other)
    kept = kept_half_year(state, day, late.after, late.recorded)
    return None if kept is None else readmodel.HalfYearKept(half_year_layout(), *kept)


def keep_figures(dsn: str, generation: str) -> int:
    """Entry point (rekeep.py, in a worker process of its own, at a lower CPU priority): the
    half-year figures of kept states without this build's (`Worker.keep_figures`); how many."""
    os.nice(REKEEP_NICENESS)
    worker = _the_worker()
    return worker.loop.run_until_complete(worker.keep_figures(dsn, generation))


def unfigured(kept: list[readmodel.KeptDay]) -> list[readmodel.KeptDay]:
    """The states kept at half-year ends whose figures are not this build's."""
    return [k for k in kept if half_ending(k.day) and not k.figured_by(half_year_layout())]


REKEEP_NICENESS = 10  # a tenth of a core's share beside a process at 0 that wants the core


def let_go() -> None:
    """Entry point: the held states freed and the heap trimmed (an idle history lane, cache.py)."""
    if _worker is not None:
        _worker.held.clear()
        _trim()


def held_states() -> int:
    """Entry point: how many folded states this process holds (tests)."""
    return len(_worker.held) if _worker is not None else 0
