"""Errors the event store reports to its callers."""

from __future__ import annotations


class ConcurrencyConflict(Exception):
    """The stream's version is not the one the command expected (never a silent overwrite)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id}: expected version {expected}, found {actual}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReused(Exception):
    """The same command id arrived with a different command body."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"command id {command_id} was already used for a different command")
        self.command_id = command_id


class StaleTransaction(ConcurrencyConflict):
    """The transaction began writing before the stream's last event was written.

    Readers order the log by writing transaction, so appending now would place this event
    before its predecessor. Only a transaction that wrote something before it read the stream
    (a consumer batch) can meet this; it must roll back and run again (a new transaction). An
    HTTP caller sees it as a version conflict (409): retrying is the right answer there too.
    """

    def __init__(self, stream_id: str) -> None:
        super().__init__(stream_id, -1, -1)
        self.args = (f"stream {stream_id}: this transaction is older than its last event",)


class RaceLost(ConcurrencyConflict):
    """A concurrent writer of this stream or command committed first, and the append had no
    savepoint of its own to answer from (the caller runs the whole command again instead:
    servicekit.group_commit). Seen by an HTTP caller only if that keeps failing: a 409."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(stream_id, -1, -1)
        self.args = (f"stream {stream_id}: a concurrent command was appended first",)
