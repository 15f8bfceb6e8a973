"""The relay's records, built from pieces PostgreSQL prepares (issue 12), are the contract's
CloudEvent of each stored event: every field, odd strings, large payloads, infinite times."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pydantic_core
import pytest
from socialwork_contracts.envelope import CloudEvent

from servicekit.cloudevents import Envelopes, to_cloudevent, to_kafka_record
from servicekit.eventstore import START, EventStore
from servicekit.relay_records import identity, log_position, read_pieces

pytestmark = pytest.mark.infra
STORE_SCHEMA = "relayrecords"  # the `store` fixture's schema (tests/integration/conftest.py)

ODD = ['a"b\\c%d{0}', "line\nbreak\ttab\x01\x1f\x7f", "郑州 é \u2028\u2029 / 🙂", "", "</script>"]
TZ8 = dt.timezone(dt.timedelta(hours=8))
TIMES: list[Any] = [
    dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=TZ8),  # whole second: no fraction, as pydantic
    dt.datetime(2020, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=TZ8),
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    "infinity",
    "-infinity",
]


def payload(rng: random.Random, i: int) -> dict[str, Any]:
    text = rng.choice(ODD)
    return {
        "text": text,
        text: [text, None, True, False],
        "n": rng.choice([0, -1, 2**40, 2**63 + 5, 10**30]),
        "x": rng.choice([1.5, -0.25, 1e-7, 1.0e20, 3.141592653589793]),
        "nested": {"list": [1, "é", {"k": [i]}], "empty": {}, "none": []},
        "big": "名" * rng.choice([0, 10, 100_000]),
    }


async def insert(store: EventStore, rng: random.Random, i: int) -> None:
    """A row as any writer could have stored it, written directly: every column varied."""
    odd = rng.choice(ODD)
    await store.pool.execute(
        "INSERT INTO relayrecords.events (position, event_id, stream_id, stream_version, "
        "event_type, event_version, data, occurred_at, recorded_at, actor, actor_role, "
        "correlation_id, causation_id) VALUES (nextval('relayrecords.event_position'), $1, $2, "
        "1, $3, $4, $5, $6::text::timestamptz, clock_timestamp(), $7, $8, $9, $10)",
        uuid.uuid4(),
        f"s-{i}-{odd}",
        rng.choice(["AgencyRegistered", f"Odd{odd}"]),
        rng.randint(1, 12),
        payload(rng, i),
        str(rng.choice(TIMES)),
        f"actor-{odd}",
        odd,
        f"corr-{odd}",
        rng.choice(ODD),
    )


def as_decoded(value: bytes, data: str) -> bytes:
    """`value` with its payload as the store decodes and pydantic writes it (compact; numbers
    as Python reads them: 0.0000001 as 1e-7)."""
    return value.replace(data.encode(), pydantic_core.to_json(pydantic_core.from_json(data)))


@pytest.mark.parametrize("store_id", ['store-"1"-é-%s-{x}', None])
async def test_records_from_pieces_are_the_contracts_cloudevents(
    store: EventStore, store_id: str | None
) -> None:
    rng = random.Random(12)
    for i in range(120):
        await insert(store, rng, i)
    events = await store.read_all(START, 1000, appends_held=True)
    rows = await read_pieces(store, START, 1000, appends_held=True)
    assert len(rows) == len(events) == 120
    envelopes = Envelopes("registry", store_id)
    for event, row in zip(events, rows, strict=True):
        key, value, headers = envelopes.record(row)
        model = to_cloudevent(event, "registry", store_id)
        assert CloudEvent.model_validate_json(value) == model
        assert json.loads(value) == json.loads(model.model_dump_json())
        # Byte for byte the pydantic-built record, but for how the payload's JSON is written.
        py_key, py_value, py_headers = to_kafka_record(event, "registry", store_id)
        assert (key, headers) == (py_key, py_headers)
        assert as_decoded(value, row[6]) == py_value
        assert log_position(row) == event.log_position
        assert identity(row) == (event.position, str(event.event_id), event.stream_id)
