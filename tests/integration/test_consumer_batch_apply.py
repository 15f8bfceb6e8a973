"""A consumer's batch applies its events together, in one savepoint (issue 12), and reruns its
records one by one, each in a savepoint of its own, only when a statement of the batch failed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.consumer import EventConsumer
from servicekit.db import Connection
from tests.conftest import Infra
from tests.integration.kafka_reader import read_until
from tests.integration.test_consumer import (
    Rig,
    StaffLog,
    assert_checkpoints_at_ends,
    logged_pool,
    publish_all,
    relay_for,
    rig,
    rows,
)
from tests.support import insert_staff_changes, staff_event

pytestmark = pytest.mark.infra
__all__ = ["rig"]  # the fixture, shared with test_consumer


@dataclass
class StaffTogether(StaffLog):
    """StaffLog with a form for many events: one insert for the whole batch."""

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        await insert_staff_changes(conn, events)


async def apply_logged(
    database_url: str,
    projection: StaffLog,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    infra: Infra,
) -> tuple[EventConsumer, list[str]]:
    """Apply `records` as one batch on one connection; every statement it sent."""
    async with logged_pool(database_url) as (pool, statements):
        consumer = EventConsumer(
            broker=KafkaBroker(infra.kafka, logger=None),
            pool=pool,
            schema="consumertest",
            projection=projection,
        )
        await consumer.apply_batch(records)
    return consumer, statements


def savepoints(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("SAVEPOINT") for s in statements)


def staff_inserts(statements: list[str]) -> int:
    return sum("INSERT INTO consumertest.staff_log" in s for s in statements)


async def publish_streams(
    rig: Rig, infra: Infra, prefix: str, n: int
) -> list[ConsumerRecord[bytes, bytes]]:
    for i in range(n):
        stream = f"{prefix}-{i}"
        await rig.store.append(stream, [staff_event(stream, 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    return await read_until(infra.kafka, rig.topic, lambda r: True, count=n)


async def test_a_batch_takes_no_savepoint_and_one_statement_for_its_events(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """Each record had its own savepoint (SAVEPOINT and RELEASE: two round trips) and its own
    statements: a batch of 12 took 12 savepoints and 12 inserts. Then one savepoint for the
    batch, a round trip every batch paid for a failure that seldom comes: a failed batch now
    rolls back whole and runs again record by record."""
    records = await publish_streams(rig, infra, "n", 12)
    projection = StaffTogether(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    consumer, statements = await apply_logged(database_url, projection, records, infra)
    assert len(await rows(rig)) == 12
    assert consumer.stats.applied == 12
    assert savepoints(statements) == 0, statements
    assert staff_inserts(statements) == 1, statements


async def test_a_projection_with_no_form_for_many_takes_no_savepoint_either(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    records = await publish_streams(rig, infra, "o", 12)
    projection = StaffLog(f"c-{uuid.uuid4().hex[:6]}", [rig.topic])
    _, statements = await apply_logged(database_url, projection, records, infra)
    assert len(await rows(rig)) == 12
    assert savepoints(statements) == 0, statements
    assert staff_inserts(statements) == 12  # its own statement each, in order


async def test_a_failing_statement_reruns_the_batch_alone_and_refuses_its_record_only(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """A constraint refuses one record's row: the batch's one insert fails, the batch's
    transaction is rolled back and every record runs alone, so that record alone is dead-lettered
    (with the constraint's name), its stream's next version parked, and everything else applied
    once; offsets and stream versions as if the batch had gone through record by record."""
    await rig.pool.execute(
        "ALTER TABLE consumertest.staff_log ADD CONSTRAINT no_thirteen CHECK (staff <> 13)"
    )
    for i in range(6):
        await rig.store.append(f"f-{i}", [staff_event(f"f-{i}", 3)], expected_version=0)
    await rig.store.append("f-0", [staff_event("f-0", 13)], expected_version=1)
    await rig.store.append("f-0", [staff_event("f-0", 5)], expected_version=2)
    await rig.store.append("f-1", [staff_event("f-1", 4)], expected_version=1)
    await publish_all(relay_for(rig), rig)
    await rig.raw_producer.send_and_wait(rig.topic, b"{forged", key=b"f-9")
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=10)
    name = f"c-{uuid.uuid4().hex[:6]}"
    consumer, statements = await apply_logged(
        database_url, StaffTogether(name, [rig.topic]), records, infra
    )

    applied = await rows(rig)
    assert sorted(r["staff"] for r in applied) == [3, 3, 3, 3, 3, 3, 4]
    assert len({r["event_id"] for r in applied}) == 7
    letters = await rig.pool.fetch("SELECT reason FROM consumertest.dead_letters ORDER BY id")
    reasons = sorted(r["reason"] for r in letters)
    assert len(reasons) == 2, reasons
    assert any("CheckViolationError" in r and "no_thirteen" in r for r in reasons), reasons
    parked = await rig.pool.fetch(
        "SELECT stream_id, stream_version FROM consumertest.parked_records"
    )
    assert [(r["stream_id"], r["stream_version"]) for r in parked] == [("f-0", 3)]
    versions = await rig.pool.fetch(
        "SELECT stream_id, version FROM consumertest.consumer_streams WHERE consumer = $1", name
    )
    assert {r["stream_id"]: r["version"] for r in versions} == {
        "f-0": 1,
        "f-1": 2,
        "f-2": 1,
        "f-3": 1,
        "f-4": 1,
        "f-5": 1,
    }
    await assert_checkpoints_at_ends(rig.pool, name, records)
    # Counted once, from the pass that committed (not the one rolled back).
    stats = consumer.stats
    assert (stats.applied, stats.dead_lettered, stats.parked) == (7, 2, 1)
    assert savepoints(statements) == 8, statements  # in the rerun, each event's own


async def test_a_steady_batch_takes_seven_statements_whatever_its_size(
    rig: Rig, infra: Infra, database_url: str
) -> None:
    """Once its epoch and checkpoint rows exist, a batch locks them in one statement and reads
    them in one (each was an insert-if-absent and a lock: two), and its records cost no
    statement of their own: begin, locks, epoch and checkpoints and parked?, streams, the
    projection's one insert, streams and checkpoints, commit (ten before: parked? apart, a
    savepoint, streams and checkpoints apart)."""
    records = await publish_streams(rig, infra, "q", 30)
    name = f"c-{uuid.uuid4().hex[:6]}"
    by_partition: dict[int, list[ConsumerRecord[bytes, bytes]]] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(r)
    # The first batch makes the rows: one record of each partition.
    first = [run[0] for run in by_partition.values()]
    second = [r for run in by_partition.values() for r in run[1:]]
    await apply_logged(database_url, StaffTogether(name, [rig.topic]), first, infra)
    _, statements = await apply_logged(
        database_url, StaffTogether(name, [rig.topic]), second, infra
    )
    ours = [
        s
        for s in statements
        if "consumertest" in s or "pg_advisory_xact_lock" in s or s.strip().upper() in _FRAMING
    ]
    assert len(await rows(rig)) == 30
    made = ("INSERT INTO consumertest.consumer_epochs", "INSERT INTO consumertest.consumer_offsets")
    assert not [s for s in ours if s.lstrip().startswith(made)], ours
    assert len(ours) == 7, ours


_FRAMING = {"BEGIN;", "COMMIT;"}
