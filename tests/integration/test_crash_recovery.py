"""A burst of 1,000 registrations with the registry SIGKILLed in the middle.

No accepted registration may be lost, and the consumer side must see each exactly once: the
client retries whatever got no answer with the same idempotency key (what a client does), the
restarted relay publishes what was committed but not yet published, and the consumer drops
republished duplicates by event id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.registry import AgencyRegistered
from socialwork_contracts.topics import REGISTRY

from servicekit.consumer import EventConsumer
from servicekit.db import Connection
from servicekit.eventstore import START, EventStore
from servicekit.eventstore.store import create_pool
from servicekit.relay import make_producer
from tests.conftest import Infra
from tests.integration.processes import ServiceProcess
from tests.support import auth, registration, wait_for

pytestmark = pytest.mark.infra

BURST = 1000
FIRST_SERIAL = 500_000


@dataclass
class Registrations:
    """Consumer-side view: one row per applied AgencyRegistered, duplicates would show."""

    name: str
    topics: Sequence[str]

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        if isinstance(event, AgencyRegistered):
            await conn.execute(
                "INSERT INTO burst.seen (event_id, uscc) VALUES ($1, $2)", envelope.id, event.uscc
            )

    async def reset(self, conn: Connection) -> None:
        await conn.execute("DELETE FROM burst.seen")


async def test_sigkill_mid_burst_loses_nothing_and_duplicates_nothing(
    infra: Infra, database_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    service = ServiceProcess("services.registry", service_env, tmp_path / "registry.log")
    service.start()
    bodies = {i: registration(FIRST_SERIAL + i) for i in range(BURST)}
    accepted: dict[int, str] = {}  # serial -> event id confirmed to the client
    killed = asyncio.Event()

    async def send(client: httpx.AsyncClient, i: int) -> None:
        headers = {**auth(), "Idempotency-Key": f"burst-{i}"}
        try:
            response = await client.post(
                f"{service.url}/commands/register-agency", json=bodies[i], headers=headers
            )
        except httpx.HTTPError:
            return  # no answer: unknown outcome, the client will retry
        if response.status_code in (200, 201):
            accepted[i] = response.json()["events"][0]["event_id"]

    async def burst(serials: list[int]) -> None:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            queue = list(serials)

            async def worker() -> None:
                while queue:
                    await send(client, queue.pop())

            await asyncio.gather(*(worker() for _ in range(16)))

    async def killer() -> None:
        await wait_for(lambda: _at_least(accepted, BURST // 3), timeout=120, interval=0.01)
        service.kill()
        killed.set()

    try:
        await asyncio.gather(burst(list(range(BURST))), killer())
        assert killed.is_set()
        accepted_before_kill = dict(accepted)
        assert BURST // 3 <= len(accepted_before_kill) < BURST
        service.start()
        missing = [i for i in range(BURST) if i not in accepted]
        await burst(missing)
        assert len(accepted) == BURST
        # A retry of a registration accepted before the crash returns the same event.
        for i, event_id in list(accepted_before_kill.items())[:20]:
            assert accepted[i] == event_id

        pool = await create_pool(database_url)
        try:
            store = EventStore(pool, "registry")
            stored = {e.stream_id for e in await store.read_all(START, 10 * BURST)}
            assert stored == {b["uscc"] for b in bodies.values()}
            await pool.execute(
                "CREATE SCHEMA burst; CREATE TABLE burst.seen (event_id text, uscc text)"
            )
            consumer_store = EventStore(pool, "burst")
            await consumer_store.create_schema()
            producer = make_producer(infra.kafka)
            await producer.start()
            broker = KafkaBroker(infra.kafka, logger=None)
            consumer = EventConsumer(
                broker=broker,
                pool=pool,
                schema="burst",
                projection=Registrations(f"burst-{uuid.uuid4().hex[:6]}", [REGISTRY.name]),
            )
            await broker.start()
            consumer.start()
            ours = {b["uscc"] for b in bodies.values()}
            try:
                await wait_for(lambda: _seen_all(pool, ours), timeout=120)
                rows = await pool.fetch("SELECT event_id, uscc FROM burst.seen")
                mine = [r for r in rows if r["uscc"] in ours]
                assert len(mine) == BURST, "a registration was applied twice"
                assert {r["event_id"] for r in mine} == set(accepted.values())
            finally:
                await broker.stop()
                await producer.stop()
        finally:
            await pool.close()
    finally:
        service.stop_quietly()


async def _at_least(accepted: dict[int, str], n: int) -> bool:
    return len(accepted) >= n


async def _seen_all(pool: object, ours: set[str]) -> bool:
    rows = await pool.fetch("SELECT DISTINCT uscc FROM burst.seen")  # type: ignore[attr-defined]
    return ours <= {r["uscc"] for r in rows}
