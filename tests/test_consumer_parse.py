"""What the consumers accept as a CloudEvent (servicekit.consumer.parse), without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
