"""A replay switches readers over only once it has read everything the live consumer applied.

While the live consumer is ahead of the replay on a partition, the switch is refused; the replay
reads on from where it stopped (refreshing the summaries and versions of what it reads, as a
live batch does) and tries again. No test had the live consumer ahead at a switch: a switch
that ignored it (readers pointed at a generation missing the events between), a catch-up that
did not move its offsets on (the same span read again and again) and a catch-up that did not
refresh the agencies' summaries each passed every replay test; and a switch that did not
move the live consumer's offsets to the replay's passed too (it would read the history again).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from servicekit.eventstore.store import create_pool
from servicekit.kafka_admin import ensure_topics
from services.reporting import readmodel
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import ready_to_replay
from tests.support import example_message, uscc_for

pytestmark = pytest.mark.infra

G = "reporting_g2"


def record(type_key: str, uscc: str, version: int) -> bytes:
    """The contract's example of `type_key` as the registry's record of version `version` of
    agency `uscc`'s stream."""
    message = example_message(type_key)
    message["data"]["uscc"] = uscc
    message.update(id=str(uuid.uuid4()), streamid=uscc, subject=uscc, streamversion=version)
    return json.dumps(message, ensure_ascii=False).encode()


async def published(infra: Infra) -> tuple[str, str]:
    """A new topic holding an agency's registration and deregistration: (topic, credit code)."""
    topic = f"test.replay-catch-up.{uuid.uuid4().hex[:8]}"
    uscc = uscc_for(random.randrange(31**8))
    await ensure_topics(infra.kafka, [(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        for version, type_key in enumerate(("AgencyRegistered.v2", "AgencyDeregistered.v1"), 1):
            await producer.send_and_wait(topic, record(type_key, uscc, version), key=uscc.encode())
    finally:
        await producer.stop()
    return topic, uscc


@pytest.mark.parametrize(
    ("applied", "until"),
    [(2, 1), (0, None)],
    ids=["live-ahead-of-the-load", "live-behind"],
)
async def test_a_switch_leaves_the_new_generation_where_the_live_consumer_goes_on(
    infra: Infra, database_url: str, applied: int, until: int | None
) -> None:
    """Ahead: the live consumer applied both records and the replay's load stops after the
    first, so the switch waits for the replay to read the second. Behind: the live consumer
    applied neither, and after the switch it goes on from where the replay stopped, instead
    of reading the history again."""
    topic, uscc = await published(infra)
    pool = await create_pool(database_url, max_size=4)
    try:
        live = await ready_to_replay(pool)
        await pool.execute(
            "INSERT INTO reporting.consumer_offsets (consumer, topic, partition, next_offset) "
            "VALUES ($1, $2, 0, $3)",
            live,
            topic,
            applied,
        )
        stop = None if until is None else {(topic, 0): until}
        result = await asyncio.wait_for(
            replay(pool, infra.kafka, [topic], generation=G, switch=True, until=stop),
            timeout=60,
        )
        facts = await pool.fetchval(f"SELECT count(*) FROM {G}.facts WHERE uscc = $1", uscc)
        status = await pool.fetchval(f"SELECT status FROM {G}.agencies WHERE uscc = $1", uscc)
        offset = await pool.fetchval(
            "SELECT next_offset FROM reporting.consumer_offsets WHERE consumer = $1 AND topic = $2",
            live,
            topic,
        )
        async with pool.acquire() as conn:
            current = await readmodel.current_generation(conn)
    finally:
        await pool.close()
    assert (result.switched, current) == (True, G)
    assert (result.events, facts, status, offset) == (2, 2, "deregistered", 2)
