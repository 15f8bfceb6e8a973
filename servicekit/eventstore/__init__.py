"""PostgreSQL event store: optimistic concurrency per stream, a log readers never skip."""

from servicekit.eventstore.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    StaleTransaction,
)
from servicekit.eventstore.records import (
    START,
    AppendResult,
    EventMetadata,
    LoadedStream,
    LogPosition,
    NewEvent,
    RecordedEvent,
)
from servicekit.eventstore.store import EventStore

__all__ = [
    "START",
    "AppendResult",
    "ConcurrencyConflict",
    "EventMetadata",
    "EventStore",
    "IdempotencyKeyReused",
    "LoadedStream",
    "LogPosition",
    "NewEvent",
    "RecordedEvent",
    "StaleTransaction",
]
