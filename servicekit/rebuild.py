"""`python -m services.<name> rebuild-read-model`: a service's query tables again, from its log.

Every service declares its read model once (`ReadModel`: its tables, and per kind of stream the
events, the fold and the inline projection each append runs) and is rebuilt the same way: every
event of its own store folded (`EventStore.read_all`, in position order), the tables its inline
projections keep emptied and rewritten, in one transaction. Readers see the old tables until the
new ones are complete, and appends wait meanwhile (`EventStore.hold_appends`, process managers'
included), so no command slips in between the read and the write. Tables learned from other
services' topics are not derived from this log; their consumers rebuild them
(`POST /admin/consumers/<name>/rebuild`), and reporting's projection is replayed from the topics
(services/reporting/replay.py).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from servicekit.db import Connection
from servicekit.ddl import apply_ddl
from servicekit.eventstore import START, EventStore, RecordedEvent
from servicekit.eventstore.store import InlineProjection, create_pool
from servicekit.settings import StoreSettings

S = TypeVar("S")
BATCH = 5000
Rebuilt = Mapping[str, int]  # kind of stream -> how many were written


@dataclass(frozen=True)
class StreamKind(Generic[S]):
    """One kind of stream a service keeps a table of: the events that make it, how they fold
    (`evolve`, the command path's own), and how its state is written (`project`, the inline
    projection each append runs)."""

    name: str
    events: type | types.UnionType
    evolve: Callable[[S | None, Any], S]
    project: Callable[[S], InlineProjection]


class Rebuildable(Protocol):
    """A service's read model, as `rebuild-read-model` rebuilds it."""

    async def rebuild(self, settings: StoreSettings) -> str:
        """Rebuild it in the database the settings name; say what was written."""


@dataclass(frozen=True)
class ReadModel:
    """A read model derived from the service's own log: the DDL of its tables, the tables its
    inline projections keep (emptied first), and the kinds of stream in write order."""

    service: str
    ddl: str
    tables: tuple[str, ...]
    kinds: tuple[StreamKind[Any], ...]

    async def ensure(self, pool: asyncpg.Pool) -> None:
        """Create the tables, or bring them to this version's DDL (at each start)."""
        async with pool.acquire() as conn:
            await apply_ddl(conn, self.service, "read model", self.ddl)

    async def rebuild(self, settings: StoreSettings) -> str:
        pool = await create_pool(settings.database_url)
        try:
            rebuilt = await rebuild_read_model(EventStore(pool, self.service), self)
        finally:
            await pool.close()
        return ", ".join(f"{count} {kind}" for kind, count in rebuilt.items())


async def rebuild_read_model(store: EventStore, model: ReadModel) -> Rebuilt:
    """Rewrite the read model from the log; returns how many streams of each kind were written."""
    states: list[dict[str, Any]] = [{} for _ in model.kinds]
    history: dict[str, list[RecordedEvent]] = {}

    def fold(recorded: RecordedEvent) -> None:
        event = recorded.load()
        stream = recorded.stream_id
        for kind, streams in zip(model.kinds, states, strict=True):
            if isinstance(event, kind.events):
                streams[stream] = kind.evolve(streams.get(stream), event)
                break
        else:
            raise TypeError(f"no stream kind of this read model folds {event.type_key()}")
        history.setdefault(stream, []).append(recorded)

    async def write(conn: Connection) -> None:
        for table in model.tables:
            await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - the service's own names
        for kind, streams in zip(model.kinds, states, strict=True):
            for stream, state in streams.items():
                await kind.project(state)(conn, history[stream])

    # The DDL runs before the hold, in its own transaction: its ALTER TABLE waits for every
    # reader of the table, and a command that read one then waits for the hold (a deadlock).
    async with store.pool.acquire() as conn:
        await apply_ddl(conn, store.schema, "read model", model.ddl, force=True)
    await rebuild_from_log(store, fold, write)
    return {kind.name: len(streams) for kind, streams in zip(model.kinds, states, strict=True)}


async def rebuild_from_log(
    store: EventStore,
    fold: Callable[[RecordedEvent], None],
    write: Callable[[Connection], Awaitable[None]],
) -> None:
    """`fold` each stored event in log order, then `write` the tables, in one transaction."""
    position = START
    async with store.pool.acquire() as conn, conn.transaction():
        await store.hold_appends(conn)  # no command commits between this read and the write
        while batch := await store.read_all(position, BATCH, conn=conn, appends_held=True):
            for recorded in batch:
                fold(recorded)
            position = batch[-1].log_position
        await write(conn)


async def rebuild_command(service: str, model: Rebuildable) -> int:
    """Rebuild a service's read model in the database of the environment; print what it wrote."""
    written = await model.rebuild(StoreSettings())  # from the environment
    sys.stdout.write(f"{service} read model rebuilt: {written}\n")
    return 0
