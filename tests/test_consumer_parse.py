"""What the consumers accept as a CloudEvent (servicekit.consumer.parse), without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from faststream.kafka import KafkaBroker

from servicekit import kafka_records
from servicekit.consumer import EventConsumer
from servicekit.kafka_records import Delivery, Refused, parse

EXAMPLE = Path(__file__).resolve().parents[1] / "contracts" / "examples" / "PenaltyImposed.v1.json"


def delivery(message: dict[str, Any]) -> Delivery:
    key = str(message["streamid"]).encode()
    return Delivery("socialwork.supervision.events", 0, 0, key, json.dumps(message).encode())


def test_a_published_example_is_accepted() -> None:
    message = json.loads(EXAMPLE.read_text("utf-8"))
    assert not isinstance(parse(delivery(message)), Refused)


def test_a_record_without_specversion_is_not_a_cloudevent() -> None:
    """specversion is REQUIRED by CloudEvents 1.0; the envelope model's default must not make a
    record that lacks it look like one (the fault suite found such a record applied)."""
    message = json.loads(EXAMPLE.read_text("utf-8"))
    del message["specversion"]
    outcome = parse(delivery(message))
    assert isinstance(outcome, Refused)
    assert "specversion" in outcome.reason


class _Quiet:
    """A projection of one topic that is never applied (only the consumer's making is tried)."""

    name = "test.quiet"
    topics = ("socialwork.supervision.events",)

    async def apply(self, conn: Any, envelope: Any, event: Any) -> None:
        raise AssertionError("not consumed here")

    async def reset(self, conn: Any) -> None:
        raise AssertionError("not consumed here")


def test_a_consumer_builds_its_parser_when_it_is_made_not_at_its_first_record() -> None:
    """The parser's models (one envelope per event type) took ~165 ms to build, at the first
    record a process parsed: the reporting service's loop, and every request waiting on it,
    stood still that long at the first live event after a start (issue 12 profile, session 20).
    A consumer is made at the service's start, before it reports ready."""
    kafka_records._current_types.cache_clear()
    EventConsumer(
        broker=KafkaBroker("127.0.0.1:9"),  # never started: no connection is made
        pool=cast(Any, None),
        schema="quiet",
        projection=_Quiet(),
    )
    assert kafka_records._current_types.cache_info().currsize == 1
