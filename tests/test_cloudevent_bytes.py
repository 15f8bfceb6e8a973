"""The relay's record bytes equal the contract model's own serialisation (issue 12: the relay
builds them without validating a CloudEvent model per event)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from socialwork_contracts.envelope import CloudEvent, kafka_headers

from servicekit.cloudevents import to_cloudevent, to_kafka_record, with_offset
from servicekit.eventstore.records import RecordedEvent

TZ8 = dt.timezone(dt.timedelta(hours=8))


def recorded(occurred_at: dt.datetime, data: dict[str, object]) -> RecordedEvent:
    return RecordedEvent(
        position=41,
        event_id=uuid.uuid4(),
        stream_id="52410105MJ5X1Y2Z3A",
        stream_version=3,
        event_type="AgencyRegistered",
        event_version=2,
        data=data,
        occurred_at=occurred_at,
        recorded_at=dt.datetime(2026, 12, 4, 7, 8, 9, 123456, tzinfo=dt.UTC),
        actor="li",
        actor_role="city_admin",
        correlation_id="corr",
        causation_id="cause",
        transaction_id=7,
    )


@pytest.mark.parametrize(
    "occurred_at",
    [
        dt.datetime(2020, 1, 2, 3, 4, 5, 120000, tzinfo=TZ8),
        dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        dt.datetime.max,  # noqa: DTZ901 - asyncpg reads +infinity back naive, as here
        dt.datetime.min,  # noqa: DTZ901 - and -infinity
    ],
)
@pytest.mark.parametrize("store_id", ["store-1", None])
def test_record_bytes_are_the_models_serialisation(
    occurred_at: dt.datetime, store_id: str | None
) -> None:
    event = recorded(
        occurred_at,
        {
            "name": "郑州市社会工作服务中心",
            "n": 2**40,
            "x": 1.5,
            "none": None,
            "nested": {"list": [1, "é\u2028", {"k": True}]},
        },
    )
    # The store hands out times in UTC; another offset is published as the same instant in UTC.
    utc = to_cloudevent(replace(event, occurred_at=rfc3339_utc(occurred_at)), "registry", store_id)
    key, value, headers = to_kafka_record(event, "registry", store_id)
    assert key == event.stream_id.encode()
    assert value == utc.model_dump_json().encode()
    assert headers == [(k, v.encode()) for k, v in kafka_headers(utc).items()]
    assert CloudEvent.model_validate_json(value) == to_cloudevent(event, "registry", store_id)


def rfc3339_utc(instant: dt.datetime) -> dt.datetime:
    return with_offset(instant).astimezone(dt.UTC)


ODD = ['a"b\\c%s{x}', "line\nbreak\ttab\x01\x1f", "郑州 é \u2028 / 🙂", "", "x" * 70_000]


@pytest.mark.parametrize("text", ODD)
def test_every_string_field_is_escaped_as_the_model_does(text: str) -> None:
    event = replace(
        recorded(dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC), {"k": text, text: [text]}),
        stream_id=f"s-{text}",
        event_type=f"Odd{text}",
        actor=text,
        actor_role=text,
        correlation_id=text,
        causation_id=text,
    )
    envelope = to_cloudevent(event, "registry", f"store-{text}")
    key, value, headers = to_kafka_record(event, "registry", f"store-{text}")
    assert key == event.stream_id.encode()
    assert value == envelope.model_dump_json().encode()
    assert headers == [(k, v.encode()) for k, v in kafka_headers(envelope).items()]
