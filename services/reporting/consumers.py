"""The live projection: every event of the three producing topics, folded as it arrives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.topics import EVENT_TOPICS

from servicekit.db import Connection
from services.reporting import place_tables, readmodel
from services.reporting.domain.facts import fact_of
from services.reporting.readmodel_live import generation_for_write
from services.reporting.versions_refresh import changed_by_facts, refresh_versions


@dataclass
class LiveProjection:
    """Applied by servicekit's EventConsumer: one batch, one transaction, with its checkpoint;
    its events together (`AppliesTogether`), one alone when a batch is rerun record by record.

    `name` (checkpoint name and Kafka group) comes from readmodel.live_consumer.
    """

    name: str
    topics: tuple[str, ...] = field(default_factory=lambda: tuple(t.name for t in EVENT_TOPICS))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        await self.apply_together(conn, [(envelope, event)])

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        """A batch's facts in one insert, its agencies and listings re-folded in one pass each
        (issue 12)."""
        generation = await generation_for_write(conn)
        facts = [
            fact_of(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
            for envelope, event in events
        ]
        await readmodel.insert_facts(conn, generation, facts)
        await refresh_versions(conn, generation, changed_by_facts(facts))

    async def reset(self, conn: Connection) -> None:
        generation = await generation_for_write(conn)
        tables = ["facts", "agencies", "agency_versions", "listing_versions", *place_tables.TABLES]
        await conn.execute("TRUNCATE " + ", ".join(f"{generation}.{t}" for t in tables))
