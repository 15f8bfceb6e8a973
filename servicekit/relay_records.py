"""The relay's read of the log: each event as the pieces of its Kafka record (issue 12).

PostgreSQL hands over the stored payload as JSON text (not decoded), the ids as text, every
string already JSON-encoded and the times already in RFC 3339, so a record is one string
template per event (servicekit.cloudevents.Envelopes), in pydantic's bytes but for the
payload's whitespace. The relay's per-event cost was decoding the payload into Python objects,
then serialising it and the envelope again.
"""

from __future__ import annotations

import asyncpg

from servicekit.db import Connection
from servicekit.eventstore import EventStore, LogPosition


def _rfc3339(column: str) -> str:
    """As servicekit.cloudevents.rfc3339 writes it: UTC, microseconds unless zero, `Z`; the
    infinities as asyncpg reads them back (datetime.max and min), taken to be UTC."""
    utc = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    return (
        f"CASE WHEN isfinite({column}) THEN replace({utc}, '.000000Z', 'Z') "
        f"WHEN {column} > 'epoch' THEN '9999-12-31T23:59:59.999999Z' "
        "ELSE '0001-01-01T00:00:00Z' END"
    )


_TYPE_KEY = "event_type || '.v' || event_version"
# In the order of servicekit.cloudevents.EventPieces, then the writing transaction.
_PIECES = (
    "event_id::text",
    _TYPE_KEY,
    f"to_json({_TYPE_KEY})::text",
    "stream_id",
    "to_json(stream_id)::text",
    _rfc3339("occurred_at"),
    "data::text",
    "stream_version",
    "position",
    "to_json(correlation_id)::text",
    "to_json(causation_id)::text",
    "to_json(actor)::text",
    "to_json(actor_role)::text",
    _rfc3339("recorded_at"),
    "transaction_id::text::bigint",
)
COLUMNS = ", ".join(_PIECES)
_POSITION, _TRANSACTION, _EVENT_ID, _STREAM_ID = 8, 14, 0, 3


async def read_pieces(
    store: EventStore,
    after: LogPosition,
    limit: int,
    *,
    conn: Connection | None = None,
    appends_held: bool = False,
) -> list[asyncpg.Record]:
    """EventStore.read_all's events, as the pieces of their records."""
    return await store.read_log(COLUMNS, after, limit, conn=conn, appends_held=appends_held)


def log_position(row: asyncpg.Record) -> LogPosition:
    return LogPosition(row[_TRANSACTION], row[_POSITION])


def identity(row: asyncpg.Record) -> tuple[int, str, str]:
    """(position, event id, stream id): what parking an event and its log line name."""
    return row[_POSITION], row[_EVENT_ID], row[_STREAM_ID]
