"""After a replay's switch the live consumer expects, per stream, the version after the highest
the replay read, held by the first event read with it: whatever the log repeats (a republished
record), puts out of order (a version before the one under it) or holds twice (another event
with a version already taken), and however the records fall into batches."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import ready_to_replay
from tests.support import example_message

pytestmark = pytest.mark.infra


def record(stream: str, version: int, event_id: str) -> bytes:
    message = example_message("AgencyDeregistered.v1")
    message.update(id=event_id, streamid=stream, subject=stream, streamversion=version)
    return json.dumps(message, ensure_ascii=False).encode()


async def test_the_live_consumer_expects_each_streams_next_version(
    infra: Infra, database_url: str
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"test.replay-streams.{run}"
    first, other = f"91410100MA{run}", f"91410200MA{run}"
    a, b, c, d, e = (str(uuid.uuid4()) for _ in range(5))
    log = [
        (first, 1, a),
        (first, 3, c),  # before the version under it
        (first, 2, b),
        (first, 3, c),  # republished
        (first, 3, d),  # another event with a version already taken: not the one expected
        (other, 1, e),
        (other, 1, e),
    ]
    await ensure_topics(infra.kafka, [(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for stream, version, event_id in log:
            await producer.send_and_wait(
                topic, record(stream, version, event_id), key=stream.encode()
            )
    finally:
        await producer.stop()
    pool = await create_pool(database_url, max_size=4)
    try:
        live = await ready_to_replay(pool)
        result = await replay(
            pool, infra.kafka, [topic], generation="reporting_g2", switch=True, max_records=2
        )
        rows = await pool.fetch(
            "SELECT stream_id, version, event_id FROM reporting.consumer_streams "
            "WHERE consumer = $1 AND topic = $2 ORDER BY stream_id",
            live,
            topic,
        )
    finally:
        await pool.close()
    assert result.switched
    assert [tuple(r) for r in rows] == [(first, 3, c), (other, 1, e)]
