"""`python -m services.registry rebuild-read-model`: the query table again, from the event log.

Folds every agency stream from the store and rewrites `registry.agencies` in one transaction,
so readers see the old table until the new one is complete.
"""

from __future__ import annotations

import asyncio
import sys

from servicekit.eventstore import START, EventStore, RecordedEvent
from servicekit.eventstore.store import create_pool
from servicekit.settings import ServiceSettings
from services.registry import readmodel
from services.registry.domain.agency import Agency, evolve
from services.registry.domain.events import as_registry_event


async def rebuild(store: EventStore) -> int:
    """Rewrite the read model from the log; returns the number of agencies written."""
    states: dict[str, tuple[Agency, RecordedEvent]] = {}
    position = START
    async with store.pool.acquire() as conn, conn.transaction():
        await store.hold_appends(conn)  # no command commits between this read and the write
        while batch := await store.read_all(position, 5000, conn=conn, appends_held=True):
            for recorded in batch:
                previous = states.get(recorded.stream_id)
                event = as_registry_event(recorded.load())
                state = evolve(previous[0] if previous else None, event)
                states[recorded.stream_id] = (state, recorded)
            position = batch[-1].log_position
        await conn.execute(readmodel.DDL)
        await conn.execute("DELETE FROM registry.agencies")
        for state, last in states.values():
            await readmodel.upsert_agency(state)(conn, [last])
    return len(states)


async def main() -> int:
    settings = ServiceSettings()  # from the environment
    pool = await create_pool(settings.database_url)
    try:
        count = await rebuild(EventStore(pool, "registry"))
    finally:
        await pool.close()
    sys.stdout.write(f"registry read model rebuilt: {count} agencies\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
