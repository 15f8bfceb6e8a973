"""Incubation's query tables again, from its event log (`python -m services.incubation
rebuild-read-model`, servicekit.rebuild).

Every base, incubation and group stream folded; `incubation.bases`, `incubation.incubations`,
`incubation.support`, `incubation.trainings` and `incubation.groups` rewritten.
`incubation.agencies` (registry) and `incubation.listings` (supervision) are learned from other
topics and left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.db import Connection
from servicekit.eventstore import EventStore, RecordedEvent
from servicekit.rebuild import rebuild_from_log
from services.incubation import readmodel
from services.incubation.domain import group as group_domain
from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain import incubation_base as base_domain
from services.incubation.domain.group import Group, GroupEvent
from services.incubation.domain.incubation import Incubation, IncubationEvent
from services.incubation.domain.incubation_base import BaseEvent, IncubationBase


@dataclass(frozen=True)
class Rebuilt:
    bases: int
    incubations: int

    def __str__(self) -> str:
        return f"{self.bases} bases, {self.incubations} incubations"


async def rebuild(store: EventStore) -> Rebuilt:
    """Rewrite the incubation read model from the log; returns how many streams were written."""
    bases: dict[str, IncubationBase] = {}
    incubations: dict[str, Incubation] = {}
    groups: dict[str, Group] = {}
    events: dict[str, list[RecordedEvent]] = {}

    def fold(recorded: RecordedEvent) -> None:
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

    async def write(conn: Connection) -> None:
        await conn.execute(readmodel.DDL)
        await readmodel.reset_own_tables(conn)
        for base_id, base in bases.items():
            await readmodel.upsert_base(base)(conn, events[base_id])
        for incubation_id, state in incubations.items():
            await readmodel.upsert_incubation(state)(conn, events[incubation_id])
        for provisional_id, group in groups.items():  # after the bases' trainings
            await readmodel.upsert_group(group)(conn, events[provisional_id])

    await rebuild_from_log(store, fold, write)
    return Rebuilt(len(bases), len(incubations))
