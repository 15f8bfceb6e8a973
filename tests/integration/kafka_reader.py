"""A plain aiokafka reader that knows nothing of this project but the exported files."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from jsonschema import Draft202012Validator

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def schema_validator(relative: str) -> Draft202012Validator:
    schema = json.loads((CONTRACTS / relative).read_text("utf-8"))
    return Draft202012Validator(schema)


def validate_message(value: bytes) -> dict[str, Any]:
    """Validate a structured-mode CloudEvent against envelope.json and its `data` schema."""
    message: dict[str, Any] = json.loads(value)
    schema_validator("schemas/envelope.json").validate(message)
    data_schema = f"schemas/events/{message['type']}.json"
    schema_validator(data_schema).validate(message["data"])
    return message


async def read_until(
    bootstrap: str, topic: str, predicate: Any, *, count: int, timeout: float = 30.0
) -> list[Any]:
    """Read `topic` from offset 0 with a fresh group; return the first `count` matching records."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found.extend(r for r in records if predicate(r))
    finally:
        await consumer.stop()
    return found
