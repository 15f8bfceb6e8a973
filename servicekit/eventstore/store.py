"""Append and read events in one service's PostgreSQL schema.

Global positions come from a sequence, but a sequence value taken by a transaction that commits
late would let a reader skip it. So every append takes one transaction-level advisory lock per
store before drawing positions and holds it to commit: positions become visible in commit order,
and a reader following `position > last_seen` never skips a row (the approach of
pyeventsourcing's PostgreSQL recorder). The price is that appends in one store are serialised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from servicekit.db import Connection
from servicekit.eventstore.errors import ConcurrencyConflict, IdempotencyKeyReused
from servicekit.eventstore.records import AppendResult, NewEvent, RecordedEvent
from servicekit.eventstore.schema import checked_schema, create_schema
from servicekit.metrics import APPEND_SECONDS

# Runs inside the append transaction, e.g. to update a read model atomically with the events.
InlineProjection = Callable[[Connection, Sequence[RecordedEvent]], Awaitable[None]]

_COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, event_version, data, "
    "occurred_at, recorded_at, actor, actor_role, correlation_id, causation_id"
)


async def init_connection(conn: Connection) -> None:
    """Pool init: jsonb travels as Python dicts."""
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=max_size, init=init_connection
    )
    return pool


def command_fingerprint(command: Any) -> str:
    """Stable hash of a command body, to tell a retry from a reused idempotency key."""
    text = json.dumps(command, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _record(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        position=row["position"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        event_version=row["event_version"],
        data=row["data"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        actor_role=row["actor_role"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
    )


class EventStore:
    """One service's event store (its own schema)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.notify_channel = f"{self.schema}_events"

    async def create_schema(self) -> None:
        async with self.pool.acquire() as conn:
            await create_schema(conn, self.schema)

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        command_id: str | None = None,
        command_hash: str | None = None,
        inline: InlineProjection | None = None,
        conn: Connection | None = None,
    ) -> AppendResult:
        """Append events to a stream atomically.

        `expected_version` is the version the caller decided on (0 = the stream must not exist;
        None = any). A command id or event id seen before returns the original result and
        writes nothing; a command id reused with a different `command_hash` is refused.
        """
        with APPEND_SECONDS.time():
            return await self._append(
                stream_id, events, expected_version, command_id, command_hash, inline, conn
            )

    async def _append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        command_id: str | None,
        command_hash: str | None,
        inline: InlineProjection | None,
        conn: Connection | None,
    ) -> AppendResult:
        if conn is not None:
            # Join the caller's transaction (e.g. a consumer's batch): events, effects and
            # checkpoint then commit together.
            async with conn.transaction():
                return await self._append_in(
                    conn, stream_id, events, expected_version, command_id, command_hash, inline
                )
        async with self.pool.acquire() as own, own.transaction():
            return await self._append_in(
                own, stream_id, events, expected_version, command_id, command_hash, inline
            )

    async def _append_in(
        self,
        conn: Connection,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        command_id: str | None,
        command_hash: str | None,
        inline: InlineProjection | None,
    ) -> AppendResult:
        s = self.schema
        await self.hold_appends(conn)
        # Under the lock, one round trip answers: the stream's version, and whether this
        # command or any of these events was appended before (the rare duplicate paths then
        # read the details).
        check = await conn.fetchrow(
            f"""
            SELECT (SELECT coalesce(max(stream_version), 0) FROM {s}.events
                     WHERE stream_id = $1) AS current,
                   EXISTS (SELECT 1 FROM {s}.events WHERE event_id = ANY($2::uuid[])) AS seen,
                   ($3::text IS NOT NULL
                    AND EXISTS (SELECT 1 FROM {s}.commands WHERE command_id = $3)) AS known
            """,
            stream_id,
            [e.event_id for e in events],
            command_id,
        )
        assert check is not None  # a SELECT of scalars always returns one row
        if check["known"] and command_id is not None:
            previous = await self._previous_command(conn, command_id, command_hash)
            if previous is not None:
                return previous
        if check["seen"]:
            seen = await conn.fetch(
                f"SELECT {_COLUMNS} FROM {s}.events WHERE event_id = ANY($1::uuid[]) "
                "ORDER BY position",
                [e.event_id for e in events],
            )
            return AppendResult(
                stream_id=seen[0]["stream_id"],
                stream_version=max(r["stream_version"] for r in seen),
                events=tuple(_record(r) for r in seen),
                duplicate=True,
            )
        current: int = check["current"]
        if expected_version is not None and current != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, current)
        # Events, the command's record and the wake-up of the relay in one statement.
        rows = await conn.fetch(
            f"""
            WITH ins AS (
                INSERT INTO {s}.events (position, event_id, stream_id, stream_version,
                    event_type, event_version, data, occurred_at, recorded_at, actor,
                    actor_role, correlation_id, causation_id, command_id)
                SELECT nextval('{s}.event_position'), e.event_id, $1, $2 + e.n, e.event_type,
                    e.event_version, e.data, e.occurred_at, clock_timestamp(), e.actor,
                    e.actor_role, e.correlation_id, e.causation_id, $3
                FROM unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::timestamptz[],
                            $9::text[], $10::text[], $11::text[], $12::text[])
                     WITH ORDINALITY AS e(event_id, event_type, event_version, data,
                                          occurred_at, actor, actor_role, correlation_id,
                                          causation_id, n)
                ORDER BY e.n
                RETURNING {_COLUMNS}
            ), command AS (
                INSERT INTO {s}.commands (command_id, command_hash, stream_id, stream_version,
                                          positions)
                SELECT $3, $13, $1, coalesce(max(stream_version), $2),
                       coalesce(array_agg(position ORDER BY position), '{{}}')
                FROM ins HAVING $3::text IS NOT NULL
            ), wake AS (
                SELECT pg_notify($14, max(position)::text) FROM ins HAVING count(*) > 0
            )
            SELECT ins.* FROM ins WHERE (SELECT count(*) FROM wake) >= 0
            """,
            stream_id,
            current,
            command_id,
            [e.event_id for e in events],
            [e.event.event_type for e in events],
            [e.event.event_version for e in events],
            [e.event.model_dump(mode="json") for e in events],
            [e.metadata.occurred_at for e in events],
            [e.metadata.actor for e in events],
            [e.metadata.actor_role for e in events],
            [e.metadata.correlation_id for e in events],
            [e.metadata.causation_id for e in events],
            command_hash or "",
            self.notify_channel,
        )
        recorded = tuple(sorted((_record(r) for r in rows), key=lambda r: r.position))
        version = recorded[-1].stream_version if recorded else current
        if inline is not None and recorded:
            await inline(conn, recorded)
        return AppendResult(stream_id=stream_id, stream_version=version, events=recorded)

    async def find_command(
        self, command_id: str, command_hash: str | None, *, conn: Connection | None = None
    ) -> AppendResult | None:
        """The result of a command appended before under this id, if any."""
        if conn is not None:
            return await self._previous_command(conn, command_id, command_hash)
        async with self.pool.acquire() as own:
            return await self._previous_command(own, command_id, command_hash)

    async def _previous_command(
        self, conn: Connection, command_id: str, command_hash: str | None
    ) -> AppendResult | None:
        s = self.schema
        row = await conn.fetchrow(
            f"SELECT command_hash, stream_id, stream_version, positions FROM {s}.commands "
            "WHERE command_id = $1",
            command_id,
        )
        if row is None:
            return None
        if command_hash is not None and row["command_hash"] != command_hash:
            raise IdempotencyKeyReused(command_id)
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {s}.events WHERE position = ANY($1::bigint[]) "
            "ORDER BY position",
            row["positions"],
        )
        return AppendResult(
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            events=tuple(_record(r) for r in rows),
            duplicate=True,
        )

    async def read_stream(
        self, stream_id: str, *, recorded_until: Any = None, conn: Connection | None = None
    ) -> list[RecordedEvent]:
        """All events of a stream in version order (optionally only those recorded by a time)."""
        rows = await (conn or self.pool).fetch(
            f"SELECT {_COLUMNS} FROM {self.schema}.events WHERE stream_id = $1 "
            "AND ($2::timestamptz IS NULL OR recorded_at <= $2) ORDER BY stream_version",
            stream_id,
            recorded_until,
        )
        return [_record(r) for r in rows]

    async def hold_appends(self, conn: Connection) -> None:
        """Make appends wait until `conn`'s transaction ends (e.g. while a read model is
        rebuilt from the whole log, so no command slips in between the read and the write)."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"append:{self.schema}")

    async def read_all(
        self, after: int = 0, limit: int = 1000, *, conn: Connection | None = None
    ) -> list[RecordedEvent]:
        """Events with position > `after`, in position (= commit) order."""
        rows = await (conn or self.pool).fetch(
            f"SELECT {_COLUMNS} FROM {self.schema}.events WHERE position > $1 "
            "ORDER BY position LIMIT $2",
            after,
            limit,
        )
        return [_record(r) for r in rows]

    async def installation_id(self) -> str:
        """This store's identity (created with the schema; the same for every instance)."""
        value = await self.pool.fetchval(f"SELECT id FROM {self.schema}.store_identity")
        return str(value)

    async def head_position(self) -> int:
        value: int = await self.pool.fetchval(
            f"SELECT coalesce(max(position), 0) FROM {self.schema}.events"
        )
        return value

    async def checkpoint(self, name: str) -> int:
        value: int | None = await self.pool.fetchval(
            f"SELECT position FROM {self.schema}.checkpoints WHERE name = $1", name
        )
        return value or 0

    async def save_checkpoint(self, name: str, position: int) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.schema}.checkpoints (name, position) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
            "updated_at = clock_timestamp()",
            name,
            position,
        )
