"""`python -m services.<name> rebuild-read-model`: a service's query tables again, from its log.

The service folds every event of its own store (`EventStore.read_all`, in position order) and
rewrites the tables its inline projections keep, in one transaction: readers see the old tables
until the new ones are complete, and appends wait meanwhile (`EventStore.hold_appends`), so no
command slips in between the read and the write. Tables learned from other services' topics are
not derived from this log; their consumers rebuild them (`POST /admin/consumers/<name>/rebuild`).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from servicekit.db import Connection
from servicekit.eventstore import START, EventStore, RecordedEvent
from servicekit.eventstore.store import create_pool
from servicekit.settings import ServiceSettings

T = TypeVar("T")
BATCH = 5000


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


async def rebuild_command(
    service: str,
    rebuild: Callable[[EventStore], Awaitable[T]],
    describe: Callable[[T], str] = str,
) -> int:
    """Run a service's rebuild against the database of the environment; print what it wrote."""
    settings = ServiceSettings()  # from the environment
    pool = await create_pool(settings.database_url)
    try:
        rebuilt = await rebuild(EventStore(pool, service))
    finally:
        await pool.close()
    sys.stdout.write(f"{service} read model rebuilt: {describe(rebuilt)}\n")
    return 0
