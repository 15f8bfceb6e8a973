"""Recorded events <-> CloudEvents structured-mode messages (the public wire format)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import pydantic_core
from socialwork_contracts.envelope import CONTENT_TYPE, SCHEMA_URN_PREFIX, CloudEvent, schema_urn

from servicekit.eventstore.records import RecordedEvent

_CONTENT_TYPE = CONTENT_TYPE.encode()


def with_offset(instant: dt.datetime) -> dt.datetime:
    """RFC 3339 times need an offset. asyncpg stores datetime.min and max as -infinity and
    +infinity and reads those back naive (0001-01-01T00:00:00Z was accepted before occurrence
    times were bounded): publish them in UTC rather than as times no consumer can parse."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


def to_cloudevent(event: RecordedEvent, producer: str, store_id: str | None = None) -> CloudEvent:
    type_key = f"{event.event_type}.v{event.event_version}"
    return CloudEvent(
        id=str(event.event_id),
        source=f"/socialwork/{producer}",
        type=type_key,
        subject=event.stream_id,
        time=with_offset(event.occurred_at),
        dataschema=schema_urn(type_key),
        data=event.data,
        streamid=event.stream_id,
        streamversion=event.stream_version,
        position=event.position,
        storeid=store_id,
        correlationid=event.correlation_id,
        causationid=event.causation_id,
        actor=event.actor,
        actorrole=event.actor_role,
        recordedtime=with_offset(event.recorded_at),
    )


KafkaRecord = tuple[bytes, bytes, list[tuple[str, bytes]]]


class EventPieces(Protocol):
    """One event as the pieces of its record, in this order: event id, type key, type key
    (JSON), stream id, stream id (JSON), time, data (JSON), stream version, position,
    correlation id (JSON), causation id (JSON), actor (JSON), actor role (JSON), recorded time.
    A row of the relay's read (servicekit.relay_records) or what `pieces` makes of a
    RecordedEvent. JSON means JSON-encoded already; times are `rfc3339`."""

    def __getitem__(self, index: int, /) -> Any: ...


# The CloudEvent model's fields in its order (tests/test_cloudevent_bytes.py: the same bytes as
# its model_dump_json). `dataschema` is the URN prefix and the type's JSON without its opening
# quote. {source} and {storeid} are filled once per producer.
_BODY = (
    '{{"specversion":"1.0","id":"%s","source":{source},"type":%s,"subject":%s,"time":"%s",'
    '"datacontenttype":"application/json","dataschema":"' + SCHEMA_URN_PREFIX + "%s,"
    '"data":%s,"streamid":%s,"streamversion":%d,"position":%d,"storeid":{storeid},'
    '"correlationid":%s,"causationid":%s,"actor":%s,"actorrole":%s,"recordedtime":"%s"}}'
)


class Envelopes:
    """Kafka records of one producer's events, built from their pieces by one string template:
    the relay's per-event cost was mostly decoding the stored payload and serialising it and
    the envelope again (issue 12)."""

    def __init__(self, producer: str, store_id: str | None = None) -> None:
        source = f"/socialwork/{producer}"
        self.store_id = store_id
        self._source = source.encode()
        # %% as the template's later %-formatting reads it.
        self._body = _BODY.format(
            source=_json(source).replace("%", "%%"), storeid=_json(store_id).replace("%", "%%")
        )

    def record(self, p: EventPieces) -> KafkaRecord:
        """(key, value, headers) for the producer: key = aggregate id keeps one stream in order."""
        time: str = p[5]
        type_json: str = p[2]
        value = self._body % (
            p[0], type_json, p[4], time, type_json[1:], p[6], p[4], p[7], p[8],
            p[9], p[10], p[11], p[12], p[13],
        )  # fmt: skip
        key: bytes = p[3].encode()
        headers = [
            ("content-type", _CONTENT_TYPE),
            ("ce_specversion", b"1.0"),
            ("ce_id", p[0].encode()),
            ("ce_source", self._source),
            ("ce_type", p[1].encode()),
            ("ce_subject", key),
            # `time` as datetime.isoformat() writes it (kafka_headers): +00:00 for Z.
            ("ce_time", f"{time[:-1]}+00:00".encode()),
        ]
        return key, value.encode(), headers


def _json(value: object) -> str:
    return pydantic_core.to_json(value).decode()


def rfc3339(instant: dt.datetime) -> str:
    """UTC, microseconds unless zero, `Z`: as pydantic serialises the envelope's times (and
    as servicekit.relay_records has PostgreSQL write them)."""
    text: str = _json(with_offset(instant).astimezone(dt.UTC))[1:-1]
    return text


def pieces(event: RecordedEvent) -> tuple[object, ...]:
    """A recorded event as the pieces of its record (`EventPieces`)."""
    type_key = f"{event.event_type}.v{event.event_version}"
    return (
        str(event.event_id),
        type_key,
        _json(type_key),
        event.stream_id,
        _json(event.stream_id),
        rfc3339(event.occurred_at),
        _json(event.data),
        event.stream_version,
        event.position,
        _json(event.correlation_id),
        _json(event.causation_id),
        _json(event.actor),
        _json(event.actor_role),
        rfc3339(event.recorded_at),
    )


def to_kafka_record(
    event: RecordedEvent, producer: str, store_id: str | None = None
) -> KafkaRecord:
    """The record of one recorded event: the same bytes as `to_cloudevent(...).model_dump_json()`
    (tests/test_cloudevent_bytes.py). The relay builds its records from its read instead."""
    return Envelopes(producer, store_id).record(pieces(event))


def split_type(type_key: str) -> tuple[str, int]:
    """`AgencyRegistered.v2` -> ("AgencyRegistered", 2); ValueError if not of that form."""
    name, _, version = type_key.rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"event type {type_key!r} is not of the form <Name>.v<N>")
    return name, int(version)
