"""A fact's times stored by the replay's bulk path (COPY) are the live path's (insert_facts),
whatever the offset, the era or the precision; an instant that cannot be stored is a dead
letter of the replay, as it is of the live consumer, never the end of the replay."""

from __future__ import annotations

import json
import uuid

import asyncpg
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
from tests.support import example_message

pytestmark = pytest.mark.infra

NO_DOMAIN_DATE = "AgencyDeregistered.v1"  # effective from its occurred time's local day
DOMAIN_DATE = "PenaltyImposed.v1"  # effective on its decision date

# (type, occurred, recorded): offsets other than UTC's, before 1970, microseconds, the first and
# the last instant (stored as -infinity and infinity), none at all.
STORED = [
    (NO_DOMAIN_DATE, "2026-03-01T10:00:00.123456+08:00", "2026-03-01T02:00:00.000001Z"),
    (NO_DOMAIN_DATE, "1969-12-31T23:59:59.999999-01:00", "1970-01-01T00:00:00Z"),
    (NO_DOMAIN_DATE, "1900-02-28T12:00:00+05:45", "1950-06-30T23:59:59.5-09:30"),
    (NO_DOMAIN_DATE, "0001-01-01T08:00:00+08:00", "0001-01-01T00:00:00Z"),
    (DOMAIN_DATE, "2019-06-30T16:00:00-09:30", "9999-12-31T23:59:59.999999Z"),
    (DOMAIN_DATE, "9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59.999999-00:00"),
    (DOMAIN_DATE, "2026-03-01T10:00:00", "2026-03-01T10:00:00.5"),  # no offset: local time
]
# Valid envelopes whose instants are outside what this client can store: the occurred time
# before year 1 in UTC, the recorded time after 9999 in UTC, an occurred day after 9999 in
# Asia/Shanghai.
UNSTORABLE = [
    (DOMAIN_DATE, "0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z"),
    (DOMAIN_DATE, "2026-01-01T00:00:00Z", "9999-12-31T23:59:59-00:01"),
    (NO_DOMAIN_DATE, "9999-12-31T20:00:00+00:00", "2026-01-01T00:00:00Z"),
]


def record(type_key: str, occurred: str, recorded: str, offset: int) -> Delivery:
    message = example_message(type_key)
    message.update(id=str(uuid.uuid4()), time=occurred, recordedtime=recorded)
    key = str(message["streamid"]).encode()
    return Delivery("t.events", 0, offset, key, json.dumps(message, ensure_ascii=False).encode())


async def stored(conn: Connection, generation: str) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        "SELECT event_id, effective_on, occurred_at, recorded_at, data::text "
        f"FROM {generation}.facts ORDER BY event_id"
    )
    return [tuple(r) for r in rows]


async def test_a_replayed_facts_times_are_the_live_paths(database_url: str) -> None:
    records = [record(*times, offset) for offset, times in enumerate(STORED + UNSTORABLE)]
    batch = parse_batch(records)
    pool = await create_pool(database_url, max_size=1)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            live = await readmodel.ensure(conn)
            await conn.execute(readmodel.generation_tables_ddl("reporting_g2"))
            await apply_batch(conn, "reporting_g2", batch, {("t.events", 0): 9}, refresh=False)
            for one in records:  # the live projection: one fact per event, or a refusal
                received = parse(one)
                assert isinstance(received, Received)
                envelope, event = received.envelope, received.event
                assert isinstance(event, DomainEvent)
                try:
                    fact = fact_of(
                        envelope.id, event, envelope.streamid, envelope.time, envelope.recordedtime
                    )
                    async with conn.transaction():
                        await readmodel.insert_facts(conn, live, [fact])
                except (OverflowError, asyncpg.DataError):
                    continue
            replayed, applied = await stored(conn, "reporting_g2"), await stored(conn, live)
            dead = await conn.fetch(
                'SELECT "offset", reason FROM reporting.dead_letters WHERE consumer = $1',
                replay_consumer("reporting_g2"),
            )
    finally:
        await pool.close()
    assert len(applied) == len(STORED)
    assert replayed == applied
    assert sorted(d["offset"] for d in dead) == list(range(len(STORED), len(records)))
    assert all("out of range" in d["reason"] for d in dead), dead
