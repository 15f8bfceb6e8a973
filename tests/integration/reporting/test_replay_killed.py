"""A sharded replay SIGKILLed mid-load and resumed into the same generation: every fact once.

The bulk load commits each batch's facts with its checkpoint, in this process's shard and in the
spawned one; the spawned shard leaves with its parent. Resuming reads each partition from its
checkpoint, so the resumed generation equals one replayed in one go: facts, summaries and the
stream versions a switch hands to the live consumer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from devstack._process import pid_alive

from benchmarks.history_generator import publish, topic_names
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from services.reporting import readmodel
from services.reporting.readmodel import replay_consumer
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import reporting_schema
from tests.support import wait_for

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[3]
EVENTS = 40_000
KILLED = "reporting_g2"  # killed mid-load, then resumed
WHOLE = "reporting_g3"  # replayed in one go, to compare with

# The replay as an operator's process runs it: two shards (this process and a spawned one),
# small batches so that the kill lands between checkpoints.
REPLAY = """
import asyncio, sys
from servicekit.eventstore.store import create_pool
from services.reporting.replay import replay

async def main(dsn, bootstrap, topics):
    pool = await create_pool(dsn, max_size=4)
    try:
        await replay(pool, bootstrap, topics, generation="reporting_g2", switch=False,
                     max_records=300, dsn=dsn, workers=2)
    finally:
        await pool.close()

if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
"""


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


async def test_a_replay_killed_mid_load_resumes_without_loss_or_duplicates(
    infra: Infra, database_url: str, tmp_path: Path
) -> None:
    prefix = f"test.replay-killed.{uuid.uuid4().hex[:8]}"
    topics = list(topic_names(prefix).values())
    published = sum((await publish(infra.kafka, prefix, EVENTS)).values())
    pool = await create_pool(database_url, max_size=4)
    try:
        await reporting_schema(pool)

        async def loaded() -> int:
            async with pool.acquire() as conn:
                return await readmodel.offsets_total(conn, replay_consumer(KILLED))

        async def under_way() -> bool:
            return await loaded() >= published // 5

        script = tmp_path / "replay.py"
        script.write_text(REPLAY, encoding="utf-8")
        process = _start_replay(script, database_url, infra.kafka, topics)
        try:
            # Both shards under way (the spawned one's partitions are checkpointed too).
            await wait_for(under_way, timeout=120, interval=0.02)
            shards = children(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            process.kill()
            process.wait()

        async def gone() -> bool:
            return not any(pid_alive(pid) for pid in shards)

        await wait_for(gone, timeout=20)  # the spawned shard leaves with its parent
        partly = await loaded()
        assert 0 < partly < published, "the kill must land mid-load"

        resumed = await replay(
            pool, infra.kafka, topics, generation=KILLED, switch=False, dsn=database_url, workers=2
        )
        assert resumed.events == published - partly  # read from the checkpoints on
        await replay(pool, infra.kafka, topics, generation=WHOLE, switch=False)
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            killed = await readmodel.checksum(conn, KILLED)
            whole = await readmodel.checksum(conn, WHOLE)
        killed_streams = await handed_over(pool, KILLED)
        whole_streams = await handed_over(pool, WHOLE)
    finally:
        await pool.close()
    assert killed["rows"]["facts"] == published
    assert killed["tables"] == whole["tables"]
    assert killed_streams == whole_streams


@pytest.mark.parametrize(
    ("lock", "waiting"),
    [
        # The load's COPYs go on; CREATE INDEX (SHARE) waits.
        ("ROW EXCLUSIVE", ("ShareLock",)),
        # The load's COPYs go on; ANALYZE waits, whether taken while the spawned shard's last
        # batches land (statistics_while_loading) or after the builds, which wait too.
        ("SHARE UPDATE EXCLUSIVE", ("ShareLock", "ShareUpdateExclusiveLock")),
    ],
)
async def test_a_replay_killed_after_its_load_is_not_switched_and_a_rerun_is_whole(
    infra: Infra, database_url: str, tmp_path: Path, lock: str, waiting: tuple[str, ...]
) -> None:
    """Killed between its load and the switch (its statistics or index builds waiting on a lock
    this test holds on the facts): readers stay on the generation they had, and a rerun builds
    the indexes and summaries, switches and equals a replay in one go."""
    prefix = f"test.replay-unswitched.{uuid.uuid4().hex[:8]}"
    topics = list(topic_names(prefix).values())
    published = sum((await publish(infra.kafka, prefix, 6000)).values())
    pool = await create_pool(database_url, max_size=4)
    try:
        await EventStore(pool, "reporting").create_schema()
        async with pool.acquire() as conn:
            before = await readmodel.ensure(conn)
        script = tmp_path / "replay.py"
        script.write_text(REPLAY.replace("switch=False", "switch=True"), encoding="utf-8")
        async with pool.acquire() as holder:

            async def created() -> bool:
                found = await holder.fetchval("SELECT to_regclass($1)", f"{KILLED}.facts")
                return found is not None

            async def building() -> bool:  # a step after the load waits for the lock held here
                found = await holder.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE relation = $1::regclass "
                    "AND mode = ANY($2) AND NOT granted",
                    f"{KILLED}.facts",
                    list(waiting),
                )
                return bool(found)

            async def all_in() -> bool:  # the early ANALYZE may wait while a shard still loads
                done = await readmodel.offsets_total(holder, replay_consumer(KILLED))
                return bool(done == published)

            process = _start_replay(script, database_url, infra.kafka, topics)
            try:
                await wait_for(created, timeout=60, interval=0.01)
                async with holder.transaction():
                    await holder.execute(f"LOCK TABLE {KILLED}.facts IN {lock} MODE")
                    await wait_for(building, timeout=120, interval=0.02)
                    await wait_for(all_in, timeout=120, interval=0.02)
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
            finally:
                process.kill()
                process.wait()
        async with pool.acquire() as conn:
            unswitched = await readmodel.current_generation(conn)
            loaded = await readmodel.offsets_total(conn, replay_consumer(KILLED))
        assert unswitched == before
        assert loaded == published  # killed after its load, before the switch

        rerun = await replay(
            pool, infra.kafka, topics, generation=KILLED, switch=True, dsn=database_url, workers=2
        )
        await replay(pool, infra.kafka, topics, generation=WHOLE, switch=False)
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            switched = await readmodel.current_generation(conn)
            killed = await readmodel.checksum(conn, KILLED)
            whole = await readmodel.checksum(conn, WHOLE)
        killed_streams = await handed_over(pool, KILLED)
        whole_streams = await handed_over(pool, WHOLE)
    finally:
        await pool.close()
    assert rerun.switched and switched == KILLED
    assert killed["rows"]["facts"] == published
    assert killed["tables"] == whole["tables"]
    assert killed_streams == whole_streams


async def handed_over(pool: asyncpg.Pool, generation: str) -> list[tuple[object, ...]]:
    """The stream versions a switch to `generation` hands the live consumer (non-empty)."""
    async with pool.acquire() as conn:
        live = await readmodel.live_consumer(conn)
        offsets = await readmodel.replay_offsets(conn, replay_consumer(generation))
        switched = await readmodel.switch_generation(
            conn, new=generation, live_consumer=live, offsets=offsets
        )
        rows = await conn.fetch(
            "SELECT topic, store_id, stream_id, version, event_id FROM reporting.consumer_streams "
            "WHERE consumer = $1 ORDER BY topic, store_id, stream_id",
            live,
        )
    assert switched and rows
    return [tuple(r) for r in rows]


def _start_replay(
    script: Path, database_url: str, kafka: str, topics: list[str]
) -> subprocess.Popen[bytes]:
    """The replay in a process of its own: the test SIGKILLs it."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script), database_url, kafka, *topics],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
