"""Recorded events <-> CloudEvents structured-mode messages (the public wire format)."""

from __future__ import annotations

import datetime as dt

import pydantic_core
from socialwork_contracts.envelope import CONTENT_TYPE, CloudEvent, schema_urn

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


def to_kafka_record(
    event: RecordedEvent, producer: str, store_id: str | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for the producer: key = aggregate id keeps one stream in order.

    The same bytes as `to_cloudevent(...).model_dump_json()` (tests/test_cloudevent_bytes.py),
    built from a plain dict in the model's field order by pydantic-core's serializer: the
    relay's per-event cost was mostly validating a model of values the store already typed.
    """
    type_key = f"{event.event_type}.v{event.event_version}"
    event_id = str(event.event_id)
    source = f"/socialwork/{producer}"
    occurred = with_offset(event.occurred_at)
    body = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_key,
        "subject": event.stream_id,
        "time": occurred,
        "datacontenttype": "application/json",
        "dataschema": schema_urn(type_key),
        "data": event.data,
        "streamid": event.stream_id,
        "streamversion": event.stream_version,
        "position": event.position,
        "storeid": store_id,
        "correlationid": event.correlation_id,
        "causationid": event.causation_id,
        "actor": event.actor,
        "actorrole": event.actor_role,
        "recordedtime": with_offset(event.recorded_at),
    }
    key = event.stream_id.encode()
    headers = [
        ("content-type", _CONTENT_TYPE),
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_key.encode()),
        ("ce_subject", key),
        ("ce_time", occurred.isoformat().encode()),
    ]
    return key, pydantic_core.to_json(body), headers


def split_type(type_key: str) -> tuple[str, int]:
    """`AgencyRegistered.v2` -> ("AgencyRegistered", 2); ValueError if not of that form."""
    name, _, version = type_key.rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"event type {type_key!r} is not of the form <Name>.v<N>")
    return name, int(version)
