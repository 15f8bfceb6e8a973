"""What goes into the store and what comes out of it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import load

from servicekit.randomness import random_uuid


@dataclass(frozen=True)
class EventMetadata:
    """Who, when and why: carried by every event (guide: standards)."""

    actor: str
    actor_role: str
    occurred_at: dt.datetime
    correlation_id: str
    causation_id: str


@dataclass(frozen=True)
class NewEvent:
    event: DomainEvent
    metadata: EventMetadata
    event_id: uuid.UUID = field(default_factory=random_uuid)


class LogPosition(NamedTuple):
    """Where a reader of the whole log stands: (writing transaction, position), in log order."""

    transaction: int
    position: int


START = LogPosition(0, 0)


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    event_id: uuid.UUID
    stream_id: str
    stream_version: int
    event_type: str
    event_version: int
    data: dict[str, Any]
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    actor_role: str
    correlation_id: str
    causation_id: str
    transaction_id: int = 0  # the writing transaction (xid8): with position, the log order

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(self.transaction_id, self.position)

    def load(self) -> DomainEvent:
        """The event as the current version of its type (old versions are upcast)."""
        return load(self.event_type, self.event_version, self.data)


@dataclass(frozen=True)
class AppendResult:
    stream_id: str
    stream_version: int
    events: tuple[RecordedEvent, ...]
    # True when the command or events had been appended before: nothing new was written.
    duplicate: bool = False
    # Set when the command under this id was refused by the domain (a process manager's
    # recorded decision): nothing was appended, and nothing will be.
    refusal: str | None = None

    @property
    def last_position(self) -> int:
        return self.events[-1].position if self.events else 0


@dataclass(frozen=True)
class LoadedStream:
    """A stream read for a command, with what its append must otherwise check again.

    `in_transaction`: read on the appending transaction's connection, in one round trip with
    the append hold taken and this transaction's id (issue 12); an append given this stream
    then skips its own check query (`EventStore.append(loaded=...)`).
    """

    stream_id: str
    events: list[RecordedEvent]
    # The command under the caller's id, appended (or refused) before: answer from it.
    previous: AppendResult | None = None
    # This transaction began writing before the stream's last event was written (see
    # StaleTransaction): appending would place the new event before its predecessor.
    stale: bool = False
    in_transaction: bool = False
    # `load_many` only: a command was stored under the caller's id (its answer is not read).
    known: bool = False

    @property
    def version(self) -> int:
        return self.events[-1].stream_version if self.events else 0


@dataclass(frozen=True)
class Decided:
    """A command's decision on a stream `load_many` read, for `append_many`."""

    loaded: LoadedStream
    events: Sequence[NewEvent]
    command_id: str | None
    command_hash: str | None
