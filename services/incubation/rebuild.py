"""`python -m services.incubation rebuild-read-model`: the query tables again, from the event log.

Folds every base and incubation stream from this service's store (`EventStore.read_all`, in
position order) and rewrites the tables the inline projections keep — `incubation.bases`,
`incubation.incubations`, `incubation.support`, `incubation.trainings` and `incubation.groups`
— in one transaction, so readers see the old tables until the new ones are complete; appends
wait meanwhile (`EventStore.hold_appends`), so no command slips in between the read and the write.

The tables learned from other services' topics — `incubation.agencies` (registry) and
`incubation.listings` (supervision) — are not derived from this log and are left untouched; the
consumers keep them (replay those topics to rebuild them).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from servicekit.eventstore import START, EventStore, RecordedEvent
from servicekit.eventstore.store import create_pool
from servicekit.settings import ServiceSettings
from services.incubation import readmodel
from services.incubation.domain import base as base_domain
from services.incubation.domain import group as group_domain
from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain.base import Base, BaseEvent
from services.incubation.domain.group import Group, GroupEvent
from services.incubation.domain.incubation import Incubation, IncubationEvent


@dataclass(frozen=True)
class Rebuilt:
    bases: int
    incubations: int


async def rebuild(store: EventStore) -> Rebuilt:
    """Rewrite the incubation read model from the log; returns how many streams were written."""
    bases: dict[str, Base] = {}
    incubations: dict[str, Incubation] = {}
    groups: dict[str, Group] = {}
    events: dict[str, list[RecordedEvent]] = {}
    position = START
    async with store.pool.acquire() as conn, conn.transaction():
        await store.hold_appends(conn)  # no command commits between this read and the write
        while batch := await store.read_all(position, 5000, conn=conn, appends_held=True):
            for recorded in batch:
                event = recorded.load()
                stream = recorded.stream_id
                if isinstance(event, BaseEvent):
                    bases[stream] = base_domain.evolve(bases.get(stream), event)
                elif isinstance(event, IncubationEvent):
                    incubations[stream] = incubation_domain.evolve(incubations.get(stream), event)
                elif isinstance(event, GroupEvent):
                    groups[stream] = group_domain.evolve(groups.get(stream), event)
                else:
                    raise TypeError(f"not a base or incubation event: {event.type_key()}")
                events.setdefault(stream, []).append(recorded)
            position = batch[-1].log_position
        await conn.execute(readmodel.DDL)
        await readmodel.reset_own_tables(conn)
        for base_id, base in bases.items():
            await readmodel.upsert_base(base)(conn, events[base_id])
        for incubation_id, state in incubations.items():
            await readmodel.upsert_incubation(state)(conn, events[incubation_id])
        for provisional_id, group in groups.items():  # after the bases' trainings
            await readmodel.upsert_group(group)(conn, events[provisional_id])
    return Rebuilt(len(bases), len(incubations))


async def main() -> int:
    settings = ServiceSettings()  # from the environment
    pool = await create_pool(settings.database_url)
    try:
        rebuilt = await rebuild(EventStore(pool, "incubation"))
    finally:
        await pool.close()
    sys.stdout.write(
        f"incubation read model rebuilt: {rebuilt.bases} bases, {rebuilt.incubations} incubations\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
