"""PostgreSQL event store: optimistic concurrency per stream, a commit-ordered global position."""

from servicekit.eventstore.errors import ConcurrencyConflict, IdempotencyKeyReused
from servicekit.eventstore.records import AppendResult, EventMetadata, NewEvent, RecordedEvent
from servicekit.eventstore.store import EventStore

__all__ = [
    "AppendResult",
    "ConcurrencyConflict",
    "EventMetadata",
    "EventStore",
    "IdempotencyKeyReused",
    "NewEvent",
    "RecordedEvent",
]
