"""Records no service would publish, produced straight onto the event topics.

Built from the exported examples (contracts/examples), the way an integrator's broken producer
would. Each kind has the treatment docs/operations.md ("Dead letters") promises:

| kind            | expected of every consumer of the topic                            |
|-----------------|--------------------------------------------------------------------|
| malformed       | dead-lettered (not JSON)                                           |
| no_specversion  | dead-lettered (not a CloudEvent)                                   |
| wrong_key       | dead-lettered (key != streamid: per-stream order would be lost)    |
| invalid_data    | dead-lettered (data does not match its type's schema)              |
| oversized       | dead-lettered (900 KB and invalid): size must not wedge anything   |
| unknown_type    | skipped, recorded in `skipped_events`                              |
| gap             | parked (version 2 of a stream whose version 1 never comes)         |
| duplicate       | dropped: a valid record published a second time is not re-applied  |

Every record that carries an event names a stream no command uses, so any effect of it is
visible. The 900 KB record is invalid as well as big: events carry no length limits, so a valid
900 KB event would rightly be applied; what is tested is that a record near Kafka's 1 MB limit
goes through the dead-letter path without stopping its partition.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from socialwork_contracts.topics import INCUBATION, REGISTRY, SUPERVISION

from tests.faults.kafka_log import Coordinate, Record
from tests.faults.workload import bad_uscc

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
OVERSIZED_BYTES = 900 * 1024
DEAD_LETTER_KINDS = frozenset(
    {"malformed", "no_specversion", "wrong_key", "invalid_data", "oversized"}
)


@dataclass(frozen=True)
class Injected:
    kind: str
    coordinate: Coordinate
    event_id: str | None  # the id a consumer would apply it under, if it carries one


# Per topic: (an event type of the topic, a free-text field to blow up, a field to break).
_SHAPES: dict[str, tuple[str, str, tuple[str, Any]]] = {
    REGISTRY.name: ("AgencyRegistered.v2", "charter_scope", ("kind", "bakery")),
    SUPERVISION.name: ("PenaltyImposed.v1", "legal_basis", ("kind", "flogging")),
    INCUBATION.name: ("AgencyGraduated.v1", "assessment_summary", ("graduated_on", "soon")),
}


def _fresh(type_key: str, version: int = 1) -> dict[str, Any]:
    """The example event moved onto a new stream about an unused agency."""
    message: dict[str, Any] = json.loads((EXAMPLES / f"{type_key}.json").read_text("utf-8"))
    data = {**message["data"], "uscc": bad_uscc()}
    if "incubation_id" in data:
        data["incubation_id"] = str(uuid.uuid4())  # an incubation's stream is its id
    stream = str(data.get("incubation_id", data["uscc"]))
    return {
        **message,
        "id": str(uuid.uuid4()),
        "data": data,
        "subject": stream,
        "streamid": stream,
        "streamversion": version,
    }


def _encode(message: dict[str, Any]) -> bytes:
    # ensure_ascii=False: the oversized text stays 3 bytes a character, under Kafka's 1 MB.
    return json.dumps(message, ensure_ascii=False).encode()


def bad_records(topic: str, duplicate_of: Record) -> list[tuple[str, bytes, bytes, str | None]]:
    """(kind, key, value, event id) of every kind for `topic`."""
    type_key, text_field, (broken_field, broken_value) = _SHAPES[topic]
    out: list[tuple[str, bytes, bytes, str | None]] = [
        ("malformed", uuid.uuid4().hex.encode(), b'{"specversion": "1.0", "id": "', None)
    ]

    def add(kind: str, message: dict[str, Any], key: str | None = None) -> None:
        out.append((kind, (key or message["streamid"]).encode(), _encode(message), message["id"]))

    no_spec = _fresh(type_key)
    del no_spec["specversion"]
    add("no_specversion", no_spec)

    wrong = _fresh(type_key)
    add("wrong_key", wrong, key=f"not-{wrong['streamid']}")

    invalid = _fresh(type_key)
    invalid["data"] = {**invalid["data"], broken_field: broken_value}
    add("invalid_data", invalid)

    big = _fresh(type_key)
    big["data"] = {**big["data"], text_field: "社" * (OVERSIZED_BYTES // 3)}
    big["data"][broken_field] = broken_value
    add("oversized", big)

    unknown = _fresh(type_key)
    unknown["type"] = "AgencyTeleported.v1"
    unknown["dataschema"] = "urn:socialwork:schema:AgencyTeleported.v1"
    add("unknown_type", unknown)

    add("gap", _fresh(type_key, version=2))

    out.append(("duplicate", duplicate_of.key or b"", duplicate_of.value or b"", None))
    return out


async def inject(producer: AIOKafkaProducer, after: Record) -> list[Injected]:
    """Produce every kind onto the partition of `after` (a valid record, published again as the
    duplicate), whatever their keys hash to: a broken producer may partition as it likes, and
    the records must stand between valid ones. Returns where each landed."""
    injected = []
    for kind, key, value, event_id in bad_records(after.topic, after):
        headers = [("content-type", b"application/cloudevents+json")]
        sent = await producer.send_and_wait(
            after.topic, value=value, key=key, headers=headers, partition=after.partition
        )
        injected.append(Injected(kind, (after.topic, sent.partition, sent.offset), event_id))
    return injected
