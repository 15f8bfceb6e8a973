"""A fact: one applied event with both of its times, as the reporting service keeps it."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic_core import TzInfo
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import BY_TYPE_KEY, CURRENT_VERSION, load

from services.reporting.domain.periods import local_date


@dataclass(frozen=True)
class Fact:
    event_id: str
    service: str
    event_type: str
    event_version: int
    stream_id: str
    uscc: str | None
    base_id: str | None
    effective_on: dt.date
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    data: dict[str, Any]


def effective_on(event: DomainEvent, occurred_at: dt.datetime) -> dt.date:
    """The local date a fact takes effect: its domain date where it has one, else occurred time.

    Reports "as of D by occurrence" include the facts whose effective date is on or before D.
    Each event class names that field in its contract (`domain_date_field`).
    """
    name = type(event).domain_date_field
    if name is None:
        return local_date(occurred_at)
    value: dt.date = getattr(event, name)
    return value


def fact_of(
    event_id: str,
    event: DomainEvent,
    stream_id: str,
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
) -> Fact:
    """The fact kept for one event (payload in its current version, after upcasting); refused
    as `fact_row` refuses it."""
    data = pydantic_core.from_json(storable(event.__pydantic_serializer__.to_json(event)))
    uscc = data.get("uscc")
    base_id = data.get("base_id")
    return Fact(
        event_id=event_id,
        service=event.producer,
        event_type=event.event_type,
        event_version=event.event_version,
        stream_id=stream_id,
        uscc=uscc if isinstance(uscc, str) else None,
        base_id=base_id if isinstance(base_id, str) else None,
        effective_on=effective_on(event, occurred_at),
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        data=data,
    )


# The bulk replay's form of a fact: readmodel._FACT_COLUMNS in order, the payload as JSON text
# (UTF-8 bytes).
FactRow = tuple[
    str, str, str, int, str, str | None, str | None, dt.date, dt.datetime, dt.datetime, bytes
]

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # PostgreSQL's binary timestamptz counts from it
_MICROSECOND = dt.timedelta(microseconds=1)
_FIRST = (dt.datetime.min.replace(tzinfo=dt.UTC) - PG_EPOCH) // _MICROSECOND
_LAST = (dt.datetime.max.replace(tzinfo=dt.UTC) - PG_EPOCH) // _MICROSECOND
_EDGE_YEARS = (dt.MINYEAR, dt.MAXYEAR)
PG_INFINITY, PG_NEGATIVE_INFINITY = 2**63 - 1, -(2**63)


def pg_instant(instant: dt.datetime) -> int:
    """An instant as PostgreSQL's binary timestamptz holds it: microseconds since 2000-01-01 UTC.

    The value asyncpg's encoder sends (the first and the last instant a datetime has in UTC
    stand for -infinity and infinity), refused where it refuses (an instant whose UTC form is not
    a datetime; a naive one read as local time), without its three calls into a pydantic
    datetime's time zone a value (two comparisons with its infinities, then `astimezone`).
    """
    if instant.tzinfo is None:
        instant = instant.astimezone()  # the wall clock's fields may move (a summer-time gap)
    seconds = instant.hour * 3600 + instant.minute * 60 + instant.second
    days = instant.toordinal() - _PG_DAY_ZERO
    offset = _FIXED_OFFSETS.get(instant.tzinfo)
    if offset is None:
        offset = _offset_micros(instant)
    micros = (days * 86400 + seconds) * 1_000_000 + instant.microsecond - offset
    if _FIRST < micros < _LAST:
        return micros
    if micros == _LAST:
        return PG_INFINITY
    if micros == _FIRST:
        return PG_NEGATIVE_INFINITY
    raise OverflowError("date value out of range")


_PG_DAY_ZERO = PG_EPOCH.toordinal()


def _offset_micros(instant: dt.datetime) -> int:
    """The instant's UTC offset in microseconds. A fixed offset as pydantic parses one (a new
    `TzInfo` per value, equal by offset) is kept for the next value with it: asking the zone was
    most of a conversion (1.34 -> 1.1 µs a value)."""
    zone = instant.tzinfo
    if type(zone) is TzInfo:
        offset = _micros(zone.utcoffset(None))
        if len(_FIXED_OFFSETS) < 1000:  # offsets in use are few; a flood is not kept
            _FIXED_OFFSETS[zone] = offset
        return offset
    return _micros(instant.utcoffset())


_FIXED_OFFSETS: dict[dt.tzinfo | None, int] = {}  # pydantic TzInfo only


def _micros(offset: dt.timedelta | None) -> int:
    return 0 if offset is None else offset // _MICROSECOND


def fact_row(
    event_id: str,
    event: DomainEvent,
    stream_id: str,
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
) -> FactRow:
    """The same fact as `fact_of`, the payload serialised once by pydantic-core.

    pydantic-core's JSON (the bytes `model_dump_json` decodes) gives the same JSON values as
    `model_dump(mode="json")` (PostgreSQL's jsonb normalises key order and escapes), without a
    dict and a second `json.dumps`. Raises where storing `fact_of`'s fact would (an instant out
    of range), so that a replay refuses the event as the live consumer does.
    """
    for instant in (occurred_at, recorded_at):
        if instant.year in _EDGE_YEARS:  # only there can a UTC form fall out of range
            pg_instant(instant)
    fields = event.__dict__  # declared fields only (extra="ignore"); no __getattr__ miss
    uscc = fields.get("uscc")
    base_id = fields.get("base_id")
    return (
        event_id,
        event.producer,
        event.event_type,
        event.event_version,
        stream_id,
        uscc if isinstance(uscc, str) else None,
        base_id if isinstance(base_id, str) else None,
        effective_on(event, occurred_at),
        occurred_at,
        recorded_at,
        storable(event.__pydantic_serializer__.to_json(event)),
    )


class UnstorableText(ValueError):
    """A payload with U+0000 in a text. The contracts let it through, but PostgreSQL's text (and
    jsonb) cannot hold it, nor can a report or an export carry it: the live consumer and a
    replay both refuse the event, a dead letter with this reason."""


def storable(payload: bytes) -> bytes:
    """A payload's JSON text, refused (UnstorableText) if it holds U+0000 (its escape)."""
    if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):
        raise UnstorableText("U+0000 in a text of the payload: PostgreSQL's text cannot hold it")
    return payload


# The escape \u0000 itself, not an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def event_of_json(event_type: str, version: int, payload: str | bytes) -> DomainEvent:
    """A stored fact's event from its payload's JSON text (or its UTF-8 bytes): validated from
    the text once when stored in the current version (no dict in between, 40 % of the agency
    summaries' time at a million facts), else decoded and upcast as `catalog.load` does (which
    raises the same UnknownEventType for a type or version this build does not know)."""
    if CURRENT_VERSION.get(event_type) == version:
        return BY_TYPE_KEY[f"{event_type}.v{version}"].model_validate_json(payload)
    return load(event_type, version, json.loads(payload))
