"""A Kafka record as a consumer receives it, and the one parser of it into a checked event.

Every reader of the event topics (each service's consumers, a re-drive, reporting's replay)
parses a record here, once: the envelope is checked, the payload upcast to the current version
of its type and validated, so what a projection stores is already in its current form.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import ConsumerRecord
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import UnknownEventType, load
from socialwork_contracts.envelope import CloudEvent

from servicekit.cloudevents import split_type


@dataclass(frozen=True, slots=True)
class Delivery:
    """One Kafka record as the consumer handles it (from the broker, a parking, a re-drive)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Delivery:
        return cls(record.topic, record.partition, record.offset, record.key, record.value)


@dataclass(frozen=True, slots=True)
class Refused:
    """A record that cannot be applied: it becomes a dead letter with this reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """An event type or version this build does not know: skipped, with a record of it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Received:
    """A valid envelope and what its payload is: the event in its current version, or why not.

    The payload's verdict is kept apart from the envelope's: a consumer drops a duplicate or
    parks an early record by the envelope alone, whatever its payload holds.
    """

    envelope: CloudEvent
    event: DomainEvent | Unknown | Refused


def parse(delivery: Delivery) -> Received | Refused:
    """The record's envelope and event, or why it is not an envelope this platform accepts."""
    try:
        envelope = CloudEvent.model_validate_json(delivery.value or b"")
        event_type, version = split_type(envelope.type)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return Refused(f"not a valid CloudEvent: {exc}")
    if "specversion" not in envelope.model_fields_set:
        # Required by CloudEvents 1.0; the model's default is for producing, not for reading.
        return Refused("not a valid CloudEvent: specversion is missing")
    if delivery.key is None or delivery.key != envelope.streamid.encode():
        return Refused(f"key {delivery.key!r} differs from streamid {envelope.streamid!r}")
    return Received(envelope, _event(envelope, event_type, version))


def _event(envelope: CloudEvent, event_type: str, version: int) -> DomainEvent | Unknown | Refused:
    try:
        return load(event_type, version, envelope.data)
    except UnknownEventType as exc:
        return Unknown(str(exc))
    except Exception as exc:  # invalid data, or an upcaster that cannot read it
        return Refused(f"data does not match {envelope.type}: {type(exc).__name__}: {exc}")
