"""A consumer SIGKILLed in the middle of a batch's apply (issue 12: a batch's events are applied
together, and rerun one by one when a statement fails): after a restart every
record is applied exactly once, whether the kill came during the batch's own statements or
during the one-by-one rerun after one of them failed. Also while a batch gathers its interval's
records (CONSUMER_BATCH_INTERVAL_MS), fetched and not applied."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import Infra
from tests.faults.batch_consumer import READY
from tests.integration.kafka_reader import read_until
from tests.integration.test_consumer import (
    Rig,
    assert_checkpoints_at_ends,
    publish_all,
    relay_for,
    rig,
)
from tests.support import staff_event, wait_for

pytestmark = pytest.mark.infra
__all__ = ["rig"]  # the fixture, shared with tests/integration/test_consumer

ROOT = Path(__file__).resolve().parents[2]
STREAMS, VERSIONS = 20, 3
BLOCKED = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND datname = current_database() AND query LIKE 'UPDATE consumertest.staff_totals%'"
)


class Child:
    """The consumer's process; its output (structlog lines) in a file the test reads."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", "tests.faults.batch_consumer", *argv],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def said(self, text: str) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the consumer exited: {self.log.read_text()[-3000:]}")
        return text in self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown code runs
            self.proc.wait(10)


@pytest.mark.parametrize("rerun", [False, True], ids=["in-batch", "in-rerun-alone"])
async def test_a_consumer_killed_mid_batch_applies_every_record_once(
    rig: Rig, infra: Infra, database_url: str, tmp_path: Path, rerun: bool
) -> None:
    await rig.pool.execute(
        "ALTER TABLE consumertest.staff_log ADD CONSTRAINT no_thirteen CHECK (staff <> 13);"
        "CREATE TABLE consumertest.staff_totals (n int NOT NULL);"
        "INSERT INTO consumertest.staff_totals VALUES (0)"
    )
    # With `rerun`, the constraint refuses every stream's second version (so whichever
    # partitions the first batch holds): its insert fails and it reruns record by record; each
    # third version then waits parked.
    for v in range(VERSIONS):
        for i in range(STREAMS):
            staff = 13 if rerun and v == 1 else 3 + v
            await rig.store.append(f"k-{i}", [staff_event(f"k-{i}", staff)], expected_version=v)
    await publish_all(relay_for(rig), rig)
    records = await read_until(infra.kafka, rig.topic, lambda r: True, count=STREAMS * VERSIONS)
    argv = [infra.kafka, database_url, rig.topic, f"c-{uuid.uuid4().hex[:6]}"]
    log = tmp_path / "consumer.log"
    first = Child(argv, log)
    try:
        # The count's row held: the batch blocks on its second statement, its rows written.
        async with rig.pool.acquire() as holder, holder.transaction():
            await holder.execute("SELECT n FROM consumertest.staff_totals FOR UPDATE")
            await wait_for(lambda: first.said(READY), timeout=60)
            await wait_for(lambda: _blocked(rig), timeout=60)
            assert await first.said("consumer.batch_rerun_alone") == rerun
            first.kill()
    finally:
        first.kill()
    assert await rig.pool.fetchval("SELECT count(*) FROM consumertest.staff_log") == 0

    expected = STREAMS * (VERSIONS - 2 if rerun else VERSIONS)  # refused, and parked behind
    second = Child(argv, log)
    try:
        await wait_for(lambda: _applied(rig, expected, STREAMS if rerun else 0), timeout=60)
    finally:
        second.kill()
    ids = await rig.pool.fetch("SELECT event_id FROM consumertest.staff_log")
    assert len({r["event_id"] for r in ids}) == len(ids) == expected
    assert await rig.pool.fetchval("SELECT n FROM consumertest.staff_totals") == expected
    await assert_checkpoints_at_ends(rig.pool, argv[3], records)


async def _blocked(rig: Rig) -> bool:
    return bool(await rig.pool.fetchval(BLOCKED))


async def _applied(rig: Rig, rows: int, letters: int) -> bool:
    """The rows and the dead letters, once both are there (they commit with the checkpoint)."""
    applied = await rig.pool.fetchval("SELECT count(*) FROM consumertest.staff_log")
    dead = await rig.pool.fetchval("SELECT count(*) FROM consumertest.dead_letters")
    return bool(applied == rows and dead == letters)


async def test_a_consumer_killed_while_its_batch_gathers_applies_every_record_once(
    rig: Rig, infra: Infra, database_url: str, tmp_path: Path
) -> None:
    """A batch waits out its interval with records in the Kafka client's hands and none
    applied; the client has even copied their positions to the group's offsets (on its timer).
    SIGKILLed then, nothing is lost: the restart reads from the checkpoint in PostgreSQL."""
    await rig.pool.execute(
        "CREATE TABLE consumertest.staff_totals (n int NOT NULL);"
        "INSERT INTO consumertest.staff_totals VALUES (0)"
    )
    await rig.store.append("g-0", [staff_event("g-0", 3)], expected_version=0)
    await publish_all(relay_for(rig), rig)
    name = f"c-{uuid.uuid4().hex[:6]}"
    argv = [infra.kafka, database_url, rig.topic, name]
    log = tmp_path / "consumer.log"
    first = Child([*argv, "600000"], log)  # a batch at most every ten minutes
    try:
        await wait_for(lambda: first.said(READY), timeout=60)
        await wait_for(lambda: _applied(rig, 1, 0), timeout=60)  # the first goes at once
        for i in range(1, STREAMS + 1):
            await rig.store.append(f"g-{i}", [staff_event(f"g-{i}", 3)], expected_version=0)
        await publish_all(relay_for(rig), rig)
        records = await read_until(infra.kafka, rig.topic, lambda r: True, count=STREAMS + 1)
        await wait_for(lambda: _group_offsets_at_ends(infra.kafka, name, records), timeout=60)
        assert await rig.pool.fetchval("SELECT count(*) FROM consumertest.staff_log") == 1
        first.kill()
    finally:
        first.kill()

    second = Child(argv, log)
    try:
        await wait_for(lambda: _applied(rig, STREAMS + 1, 0), timeout=60)
    finally:
        second.kill()
    ids = await rig.pool.fetch("SELECT event_id FROM consumertest.staff_log")
    assert len({r["event_id"] for r in ids}) == len(ids) == STREAMS + 1
    assert await rig.pool.fetchval("SELECT n FROM consumertest.staff_totals") == STREAMS + 1
    await assert_checkpoints_at_ends(rig.pool, name, records)


async def _group_offsets_at_ends(
    kafka: str, group: str, records: list[ConsumerRecord[bytes, bytes]]
) -> bool:
    """Whether the group's committed offsets (Kafka's copy, for lag tools) are past every record."""
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), 0), r.offset + 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    at = {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()}
    return all(at.get(tp, -1) >= end for tp, end in ends.items())
