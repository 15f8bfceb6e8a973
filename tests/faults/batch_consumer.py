"""A consumer alone in its process, for test_consumer_batch_killed: it folds a topic into
`consumertest.staff_log` (one row per applied event) and counts them in `staff_totals`, a batch
at a time, until it is killed.

    python -m tests.faults.batch_consumer KAFKA DATABASE_URL TOPIC CONSUMER [BATCH_INTERVAL_MS]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.consumer import EventConsumer
from servicekit.db import Connection
from servicekit.eventstore.store import create_pool
from tests.support import insert_staff_changes

READY = "batch-consumer-ready"


@dataclass
class StaffTotals:
    """Two statements a batch: its rows, then the running count (where the test blocks it)."""

    name: str
    topics: Sequence[str]

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        await self.apply_together(conn, [(envelope, event)])

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        changed = await insert_staff_changes(conn, events)
        await conn.execute("UPDATE consumertest.staff_totals SET n = n + $1", changed)

    async def reset(self, conn: Connection) -> None:
        await conn.execute("DELETE FROM consumertest.staff_log")
        await conn.execute("UPDATE consumertest.staff_totals SET n = 0")


async def main(kafka: str, database_url: str, topic: str, name: str, interval_ms: int) -> None:
    pool = await create_pool(database_url)
    broker = KafkaBroker(kafka, logger=None)
    consumer = EventConsumer(
        broker=broker,
        pool=pool,
        schema="consumertest",
        projection=StaffTotals(name, [topic]),
        batch_interval_ms=interval_ms,
    )
    await broker.start()
    consumer.start()
    sys.stdout.write(READY + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    kafka, database_url, topic, name = sys.argv[1:5]
    interval_ms = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    asyncio.run(main(kafka, database_url, topic, name, interval_ms))
