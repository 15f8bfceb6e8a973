"""A Kafka record as a consumer receives it, and the one parser of it into a checked event.

Every reader of the event topics (each service's consumers, a re-drive, reporting's replay)
parses a record here, once: the envelope is checked, the payload upcast to the current version
of its type and validated, so what a projection stores is already in its current form.

An event of a current type is validated in one pass from the record's bytes: envelope and
payload together, by pydantic-core, told apart by `type` (no dict of the payload in between).
Its envelope's `data` is then the event itself; read the payload from `Received.event`. Any other
record (an older version to upcast, an unknown type, an invalid one) takes the general path,
which also says why a record is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple, Protocol, Union

from aiokafka import ConsumerRecord
from pydantic import Field, TypeAdapter, create_model
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import CURRENT_VERSION, EVENT_CLASSES, UnknownEventType, load
from socialwork_contracts.envelope import CloudEvent

from servicekit.cloudevents import split_type


class KafkaRecord(Protocol):
    """What the parser reads of a record (aiokafka's ConsumerRecord, a Delivery)."""

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


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


class Received(NamedTuple):
    """A valid envelope and what its payload is: the event in its current version, or why not.

    The payload's verdict is kept apart from the envelope's: a consumer drops a duplicate or
    parks an early record by the envelope alone, whatever its payload holds. (A named tuple: one
    is made per record read, and a frozen dataclass's `__init__` cost a replay 0.4 µs each.)
    """

    envelope: CloudEvent
    event: DomainEvent | Unknown | Refused


def parse(record: KafkaRecord) -> Received | Refused:
    """The record's envelope and event, or why it is not an envelope this platform accepts."""
    try:
        typed = _current_types().validator.validate_json(record.value or b"")
    except ValueError:  # pydantic's ValidationError is a ValueError
        return _parse_in_steps(record)
    # specversion is required by the fast path's models (a record without it takes the general
    # path, which says so): only the key is left to check.
    refused = _key_refusal(record, typed)
    return refused or Received(typed, typed.data)


def _parse_in_steps(record: KafkaRecord) -> Received | Refused:
    """The envelope first, then its payload upcast and validated: the general path."""
    try:
        envelope = CloudEvent.model_validate_json(record.value or b"")
        event_type, version = split_type(envelope.type)
    except ValueError as exc:
        return Refused(f"not a valid CloudEvent: {exc}")
    refused = _refusal(record, envelope)
    return refused or Received(envelope, _event(envelope, event_type, version))


def _refusal(record: KafkaRecord, envelope: CloudEvent) -> Refused | None:
    if "specversion" not in envelope.model_fields_set:
        # Required by CloudEvents 1.0; the model's default is for producing, not for reading.
        return Refused("not a valid CloudEvent: specversion is missing")
    return _key_refusal(record, envelope)


def _key_refusal(record: KafkaRecord, envelope: CloudEvent) -> Refused | None:
    key = record.key
    if key is None or key != envelope.streamid.encode():
        return Refused(f"key {key!r} differs from streamid {envelope.streamid!r}")
    return None


def build_parser() -> None:
    """Build `parse`'s models now (~165 ms of CPU, once a process): at a consumer's making,
    while its service starts, rather than at its first record, with requests waiting on the
    loop."""
    _current_types()


@functools.cache
def _current_types() -> TypeAdapter[Any]:
    """One envelope model per current event type, `data` the event's class, chosen by `type`,
    specversion required (built once per process)."""
    envelopes = [
        create_model(
            f"{cls.__name__}V{cls.event_version}Envelope",
            __base__=CloudEvent,
            specversion=(_literal("1.0"), ...),
            type=(_literal(cls.type_key()), ...),
            data=(cls, ...),
        )
        for cls in EVENT_CLASSES
        if cls.event_version == CURRENT_VERSION[cls.event_type]
    ]
    union: Any = Union[tuple(envelopes)]  # noqa: UP007 - a union of classes made at run time
    form: Any = Annotated[union, Field(discriminator="type")]
    return TypeAdapter(form)


def _literal(value: str) -> Any:
    return Literal[value]


def _event(envelope: CloudEvent, event_type: str, version: int) -> DomainEvent | Unknown | Refused:
    try:
        return load(event_type, version, envelope.data)
    except UnknownEventType as exc:
        return Unknown(str(exc))
    except Exception as exc:  # invalid data, or an upcaster that cannot read it
        return Refused(f"data does not match {envelope.type}: {type(exc).__name__}: {exc}")
