"""Recorded events <-> CloudEvents structured-mode messages (the public wire format)."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.envelope import CloudEvent, kafka_headers, schema_urn

from servicekit.eventstore.records import RecordedEvent


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


def to_kafka_record(
    event: RecordedEvent, producer: str, store_id: str | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for the producer: key = aggregate id keeps one stream in order."""
    envelope = to_cloudevent(event, producer, store_id)
    headers = [(k, v.encode()) for k, v in kafka_headers(envelope).items()]
    return event.stream_id.encode(), envelope.model_dump_json().encode(), headers


def split_type(type_key: str) -> tuple[str, int]:
    """`AgencyRegistered.v2` -> ("AgencyRegistered", 2); ValueError if not of that form."""
    name, _, version = type_key.rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"event type {type_key!r} is not of the form <Name>.v<N>")
    return name, int(version)
