"""A payload PostgreSQL cannot hold (U+0000 in a text) passes the contracts; the live consumer
dead-letters it (its fact refused, `facts.storable`; its insert into jsonb failed before the
payload column was json). The replay does the same, with the same reason, and goes on with the
rest of the batch (it stopped at that batch's COPY)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from socialwork_contracts.base import DomainEvent

from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.kafka_records import Delivery, Received, parse
from services.reporting import readmodel
from services.reporting.domain.facts import fact_of
from services.reporting.readmodel import replay_consumer
from services.reporting.replay import apply_batch, parse_batch

pytestmark = pytest.mark.infra

EXAMPLE = Path(__file__).resolve().parents[3] / "contracts" / "examples" / "PenaltyImposed.v1.json"
TEXTS = ["第二十五条", "a\u0000b", "a\\u0000b", "\\\u0000", "\\\\u0000"]  # 2nd and 4th: U+0000


def record(text: str, offset: int) -> Delivery:
    message = json.loads(EXAMPLE.read_text("utf-8"))
    message["id"] = str(uuid.uuid4())
    message["data"]["legal_basis"] = text
    key = str(message["streamid"]).encode()
    return Delivery("t.events", 0, offset, key, json.dumps(message, ensure_ascii=False).encode())


async def live_refusal(conn: Connection, generation: str, one: Delivery) -> str | None:
    """What the live projection makes of the record: None (a fact) or its refusal's reason."""
    received = parse(one)
    assert isinstance(received, Received)
    envelope, event = received
    assert isinstance(event, DomainEvent)
    try:  # as the live consumer's apply: the fact made, then stored
        fact = fact_of(envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime)
        async with conn.transaction():
            await readmodel.insert_facts(conn, generation, [fact])
    except Exception as exc:  # as the live consumer words a failed apply
        return f"{type(exc).__name__}: {exc}"
    return None


async def test_a_payload_postgresql_cannot_hold_is_a_dead_letter_of_the_replay(
    database_url: str,
) -> None:
    records = [record(text, offset) for offset, text in enumerate(TEXTS)]
    batch = parse_batch(records)
    pool = await create_pool(database_url, max_size=1)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            live = await readmodel.ensure(conn)
            await conn.execute(readmodel.generation_tables_ddl("reporting_g2"))
            await apply_batch(conn, "reporting_g2", batch, {("t.events", 0): 5}, refresh=False)
            refusals = [await live_refusal(conn, live, one) for one in records]
            facts = await conn.fetchval("SELECT count(*) FROM reporting_g2.facts")
            dead = await conn.fetch(
                'SELECT "offset", reason FROM reporting.dead_letters WHERE consumer = $1 '
                'ORDER BY "offset"',
                replay_consumer("reporting_g2"),
            )
    finally:
        await pool.close()
    refused = {offset: reason for offset, reason in enumerate(refusals) if reason}
    assert sorted(refused) == [1, 3]
    assert facts == len(TEXTS) - len(refused)
    assert {d["offset"]: d["reason"] for d in dead} == refused
