"""The live projection: every event of the three producing topics, folded as it arrives."""

from __future__ import annotations

from dataclasses import dataclass, field

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.topics import EVENT_TOPICS

from servicekit.db import Connection
from services.reporting import readmodel
from services.reporting.domain.facts import fact_of
from services.reporting.readmodel_live import generation_for_write


@dataclass
class LiveProjection:
    """Applied by servicekit's EventConsumer: one batch, one transaction, with its checkpoint.

    `name` (checkpoint name and Kafka group) comes from readmodel.live_consumer.
    """

    name: str
    topics: tuple[str, ...] = field(default_factory=lambda: tuple(t.name for t in EVENT_TOPICS))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        generation = await generation_for_write(conn)
        fact = fact_of(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
        await readmodel.insert_facts(conn, generation, [fact])
        if fact.service == "registry" and fact.uscc is not None:
            await readmodel.refresh_agencies(conn, generation, [fact.uscc])

    async def reset(self, conn: Connection) -> None:
        generation = await generation_for_write(conn)
        await conn.execute(f"TRUNCATE {generation}.facts, {generation}.agencies")
