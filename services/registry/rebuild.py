"""The registry's query table again, from its event log (`python -m services.registry
rebuild-read-model`, servicekit.rebuild): every agency stream folded, `registry.agencies` rewritten.
"""

from __future__ import annotations

from servicekit.db import Connection
from servicekit.eventstore import EventStore, RecordedEvent
from servicekit.rebuild import rebuild_from_log
from services.registry import readmodel
from services.registry.domain.agency import Agency, evolve
from services.registry.domain.events import as_registry_event


async def rebuild(store: EventStore) -> int:
    """Rewrite the read model from the log; returns the number of agencies written."""
    states: dict[str, tuple[Agency, RecordedEvent]] = {}

    def fold(recorded: RecordedEvent) -> None:
        previous = states.get(recorded.stream_id)
        event = as_registry_event(recorded.load())
        state = evolve(previous[0] if previous else None, event)
        states[recorded.stream_id] = (state, recorded)

    async def write(conn: Connection) -> None:
        await conn.execute(readmodel.DDL)
        await conn.execute("DELETE FROM registry.agencies")
        for state, last in states.values():
            await readmodel.upsert_agency(state)(conn, [last])

    await rebuild_from_log(store, fold, write)
    return len(states)
