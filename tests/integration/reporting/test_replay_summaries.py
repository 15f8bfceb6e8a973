"""A fresh replay folds the agency summaries, and computes the bases' and stays' versions, from
the facts it has just loaded.

Re-reading them from the facts after every shard had loaded (their index, the jsonb out again,
each payload validated again) was the bulk load's serial tail. The summaries and versions must
still equal those of the stored facts, which a resumed replay (its earlier facts are not in
memory) computes from the table: whatever the shards saw, including an agency or a stay whose
facts sit in partitions loaded by two different shards.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from benchmarks.history_generator import envelope, history, publish, topic_names
from servicekit import topic_reading
from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting import readmodel, readmodel_places
from services.reporting.readmodel import replay_consumer
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import reporting_schema

pytestmark = pytest.mark.infra

FRESH, FROM_TABLE = "reporting_g2", "reporting_g3"


async def replay_both(
    infra: Infra, database_url: str, topics: list[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Any]]:
    """FRESH replayed from nothing while reading the facts back for the summaries fails;
    FROM_TABLE replayed as a resumed replay (checkpoints at 0), whose summaries come from the
    table; both sharded. Their checksums, from one snapshot."""
    pool = await create_pool(database_url, max_size=6)
    try:
        await reporting_schema(pool)

        async def no_read_back(*_: object) -> list[str]:
            raise AssertionError("a fresh replay's summaries re-read the facts")

        async def no_places_read_back(*_: object) -> None:
            raise AssertionError("a fresh replay's places re-read the facts")

        with monkeypatch.context() as patched:
            patched.setattr(readmodel, "registry_usccs", no_read_back)
            patched.setattr(readmodel_places, "build_all", no_places_read_back)
            await replay(
                pool,
                infra.kafka,
                topics,
                generation=FRESH,
                switch=False,
                max_records=200,
                dsn=database_url,
                workers=2,
            )
        partitions = await topic_reading.partitions(infra.kafka, topics)
        async with pool.acquire() as conn:
            await readmodel.save_offsets(
                conn, replay_consumer(FROM_TABLE), dict.fromkeys(partitions, 0)
            )
        await replay(
            pool,
            infra.kafka,
            topics,
            generation=FROM_TABLE,
            switch=False,
            max_records=200,
            dsn=database_url,
            workers=2,
        )
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            return {
                g: await readmodel.checksum(conn, g)
                | {"agencies": await agencies(conn, g), "stays": await stays(conn, g)}
                for g in (FRESH, FROM_TABLE)
            }
    finally:
        await pool.close()


async def agencies(conn: Any, generation: str) -> dict[str, Any]:
    rows = await conn.fetch(f"SELECT uscc, status, status_since FROM {generation}.agencies")
    return {r["uscc"]: dict(r) for r in rows}


async def stays(conn: Any, generation: str) -> int:
    n: int = await conn.fetchval(
        f"SELECT count(DISTINCT incubation_id) FROM {generation}.stay_versions"
    )
    return n


async def test_a_fresh_replay_folds_the_summaries_as_it_loads(
    infra: Infra, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"test.replay-summaries.{uuid.uuid4().hex[:8]}"
    await publish(infra.kafka, prefix, 4000)
    sums = await replay_both(infra, database_url, list(topic_names(prefix).values()), monkeypatch)
    fresh, from_table = sums[FRESH], sums[FROM_TABLE]
    assert fresh["rows"]["agencies"] > 50
    assert fresh["tables"] == from_table["tables"]


async def split_over_two(
    infra: Infra, topic: str, total: int, producer_name: str, first_types: tuple[str, ...]
) -> None:
    """One producer's events of a generated history into a 2-partition topic: the events of
    `first_types` into partition 0, every other one into partition 1 (a log whose keys do not
    keep an entity in one partition)."""
    await ensure_topics(infra.kafka, [(topic, 2)])
    rng = random.Random(7)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for position, item in enumerate(history(total), start=1):
            if item.event.producer != producer_name:
                continue
            key, value = envelope(item, position, rng)
            first = item.event.event_type in first_types
            await producer.send(topic, value, key=key, partition=0 if first else 1)
        await producer.flush()
    finally:
        await producer.stop()


async def test_an_agency_split_over_two_shards_is_folded_from_all_its_facts(
    infra: Infra, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registrations in partition 0, every later registry event in partition 1 (a log whose
    keys do not keep an agency in one partition): each shard sees part of an agency."""
    topic = f"test.replay-split.{uuid.uuid4().hex[:8]}.registry"
    await split_over_two(infra, topic, 3000, "registry", ("AgencyRegistered",))
    sums = await replay_both(infra, database_url, [topic], monkeypatch)
    fresh, from_table = sums[FRESH], sums[FROM_TABLE]
    gone = [a for a in from_table["agencies"].values() if a["status"] != "active"]
    assert gone  # a registration in partition 0, its deregistration in partition 1
    assert fresh["agencies"] == from_table["agencies"]
    assert fresh["tables"] == from_table["tables"]


async def test_a_stay_split_over_two_shards_has_the_versions_of_all_its_facts(
    infra: Infra, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bases established and stays started in partition 0, every later incubation event in
    partition 1: each shard computes versions from part of a stay's facts."""
    topic = f"test.replay-split-stays.{uuid.uuid4().hex[:8]}.incubation"
    await split_over_two(infra, topic, 4000, "incubation", ("BaseEstablished", "IncubationStarted"))
    sums = await replay_both(infra, database_url, [topic], monkeypatch)
    fresh, from_table = sums[FRESH], sums[FROM_TABLE]
    # More versions than stays: later facts in partition 1 changed stays begun in partition 0.
    assert from_table["rows"]["stay_versions"] > from_table["stays"] > 0
    assert fresh["tables"] == from_table["tables"]


async def test_a_fresh_one_process_replay_computes_the_places_from_the_facts_it_loaded(
    infra: Infra, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"test.replay-places.{uuid.uuid4().hex[:8]}"
    await publish(infra.kafka, prefix, 3000)
    pool = await create_pool(database_url, max_size=6)
    try:
        await reporting_schema(pool)

        async def no_read_back(*_: object) -> None:
            raise AssertionError("a fresh replay's places re-read the facts")

        monkeypatch.setattr(readmodel_places, "build_all", no_read_back)
        await replay(
            pool,
            infra.kafka,
            list(topic_names(prefix).values()),
            generation=FRESH,
            switch=False,
            max_records=200,
        )
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            kept = await readmodel.checksum(conn, FRESH)
        monkeypatch.undo()
        await readmodel_places.build_all(pool, FRESH)  # the same facts, from the table
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            built = await readmodel.checksum(conn, FRESH)
    finally:
        await pool.close()
    assert kept["rows"]["stay_versions"] > 0
    assert kept["tables"] == built["tables"]
