"""Append and read events in one service's PostgreSQL schema.

Writers take no store-wide lock. Each row records its writing transaction (`xid8`); a reader of
the whole log takes only rows whose transaction is below the oldest one still running that could
write them (`_settled`), in (transaction, position) order. A transaction that commits late makes a
reader wait for it, never skip it (the approach of Emmett's PostgreSQL store). Version conflicts
come from the unique (stream, version) constraint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg

from servicekit.db import Connection, binary_json
from servicekit.eventstore.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    RaceLost,
    StaleTransaction,
)
from servicekit.eventstore.records import (
    START,
    AppendResult,
    Decided,
    LoadedStream,
    LogPosition,
    NewEvent,
    RecordedEvent,
)
from servicekit.eventstore.schema import checked_schema, create_schema
from servicekit.locks import lock_key
from servicekit.metrics import APPEND_SECONDS

# Runs inside the append transaction, e.g. to update a read model atomically with the events.
InlineProjection = Callable[[Connection, Sequence[RecordedEvent]], Awaitable[None]]


@dataclass(frozen=True)
class InlineStatement:
    """An inline projection that is one statement: a group's projections of the same statement
    are sent together (`executemany`, one round trip: issue 12)."""

    statement: str
    arguments: Callable[[Sequence[RecordedEvent]], Sequence[Any]]

    async def __call__(self, conn: Connection, events: Sequence[RecordedEvent]) -> None:
        await conn.execute(self.statement, *self.arguments(events))


@dataclass(frozen=True)
class InlineStatements:
    """An inline projection of a few statements run in order: a group's projections send each
    statement for all of them together, in the same order (one round trip a statement)."""

    statements: tuple[InlineStatement, ...]

    async def __call__(self, conn: Connection, events: Sequence[RecordedEvent]) -> None:
        for statement in self.statements:
            await statement(conn, events)


# What `InlineRow.statement` reads as `ins` when it runs by itself: the appended events' keys.
_APPENDED = (
    "WITH ins AS (SELECT * FROM unnest($2::text[], $3::int[], $4::bigint[]) "
    "AS ins(stream_id, stream_version, position)) "
)


@dataclass(frozen=True)
class InlineRow:
    """An inline projection writing one row per command: `statement` writes the rows in
    `$rows` (a JSON array of `row`, one per command) and reads the events just appended as
    `ins` (stream_id, stream_version, position). In a group's batch every command's row is
    written by the events' own insert statement: one round trip and one execution for the
    group, not one each (issue 12). `statement` sees the tables as they were before the
    group's events: what it needs of them it reads from `ins`."""

    statement: str
    row: Any  # JSON-able by pydantic-core (dates, tuples)

    async def __call__(self, conn: Connection, events: Sequence[RecordedEvent]) -> None:
        await conn.execute(
            _APPENDED + self.statement.replace("$rows", "$1"),
            [self.row],
            [e.stream_id for e in events],
            [e.stream_version for e in events],
            [e.position for e in events],
        )


_COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, event_version, data, "
    "occurred_at, recorded_at, actor, actor_role, correlation_id, causation_id, "
    "transaction_id::text::bigint AS transaction_id"
)
_COLUMNS_BUT_DATA = _COLUMNS.replace(" data,", " NULL::jsonb AS data,")
ANY_VERSION_RETRIES = 5


def _settled(schema: str) -> str:
    """Rows of transactions older than every running one that could write this store's events:
    no later commit can precede them. A running transaction counts unless its role can insert
    into none of them (not a member of any role that may, not a superuser): another service's
    consumer batch, reporting's index build or an operator's open psql session then holds back
    no relay but its own service's. The ids of those roles' transactions are read from
    pg_stat_activity (readable by any role); an id belongs to one transaction, so a stale or
    partial read only leaves more of them counted. Roles are a property of the session, so a
    grant of INSERT on the events must not reach a role while it runs a transaction."""
    return f"""AND transaction_id < (
        SELECT least(pg_snapshot_xmax(pg_current_snapshot()), min(x))
        FROM pg_snapshot_xip(pg_current_snapshot()) AS x
        WHERE x::text::bigint % 4294967296 NOT IN (
            SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
            WHERE a.backend_xid IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM pg_roles w
                WHERE has_table_privilege(w.oid, '{schema}.events', 'INSERT')
                  AND pg_has_role(a.usesysid, w.oid, 'MEMBER'))))"""


# Unique constraints a concurrent writer of the same stream or command can trip.
_RACES = frozenset({"events_stream_id_stream_version_key", "events_event_id_key", "commands_pkey"})
# True while the caller runs the append in a savepoint of its own and runs the whole command
# again when a concurrent writer wins a race (servicekit.group_commit): the append then takes no
# savepoint of its own, two round trips fewer per command, and a lost race raises RaceLost.
RACES_RETRIED_BY_CALLER: ContextVar[bool] = ContextVar("races_retried_by_caller", default=False)


# The array types the platform's statements cast to that asyncpg has no codec of its own for
# (text[] it has): learned by each connection as it opens (`init_connection`).
ARRAY_TYPES = ("int", "bigint", "bool", "date", "uuid", "timestamptz", "json", "jsonb")


async def init_connection(conn: Connection) -> None:
    """Pool init: json and jsonb as Python values (`db.binary_json`), and the array types."""
    await binary_json(conn)
    # One catalog query for all of them now (~17 ms), rather than one for each, ~15 ms each, in
    # the first requests or batches to meet them.
    casts = ", ".join(f"${n}::{name}[]" for n, name in enumerate(ARRAY_TYPES, start=1))
    await conn.fetchval(f"SELECT ({casts}) IS NULL", *[None] * len(ARRAY_TYPES))


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=max_size, init=init_connection
    )
    return pool


def command_fingerprint(command: Any) -> str:
    """Stable hash of a command body, to tell a retry from a reused idempotency key."""
    text = json.dumps(command, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _appended(loaded: LoadedStream, recorded: list[RecordedEvent]) -> AppendResult:
    events = tuple(sorted(recorded, key=lambda r: r.position))
    version = events[-1].stream_version if events else loaded.version
    return AppendResult(stream_id=loaded.stream_id, stream_version=version, events=events)


def _record(row: asyncpg.Record, data: dict[str, Any] | None = None) -> RecordedEvent:
    """The event of a row; `data` when the row left it out (an insert's: the caller sent it)."""
    return RecordedEvent(
        position=row["position"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        event_version=row["event_version"],
        data=row["data"] if data is None else data,
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        actor_role=row["actor_role"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        transaction_id=row["transaction_id"],
    )


class EventStore:
    """One service's event store (its own schema)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self.notify_channel = f"{self.schema}_events"
        self._appends_lock = lock_key("append", self.schema)

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
        loaded: LoadedStream | None = None,
    ) -> AppendResult:
        """Append events to a stream atomically.

        `expected_version` is the version the caller decided on (0 = the stream must not exist;
        None = any). A command id or event id seen before returns the original result and
        writes nothing; a command id reused with a different `command_hash` is refused.

        `loaded`: the stream as `load` read it on `conn`, in this transaction, for this command
        (so its id was not known then) — the append then trusts that read instead of checking
        again. The events must be new ones (fresh ids): a clash is a lost race, not a retry.
        """
        if loaded is not None and loaded.in_transaction and conn is not None:
            with APPEND_SECONDS.time():
                return await self._append_loaded(
                    conn, loaded, events, expected_version, command_id, command_hash, inline
                )
        with APPEND_SECONDS.time():
            for _ in range(ANY_VERSION_RETRIES):
                try:
                    return await self._append(
                        stream_id, events, expected_version, command_id, command_hash, inline, conn
                    )
                except RaceLost:
                    raise  # the transaction is aborted: only the caller can run it again
                except ConcurrencyConflict:
                    if expected_version is not None:
                        raise
                    # "Any version": another writer took the next version first; go after it.
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
        args = (stream_id, events, expected_version, command_id, command_hash, inline)
        try:
            if conn is not None and RACES_RETRIED_BY_CALLER.get():
                return await self._append_in(conn, *args)
            if conn is not None:
                # Join the caller's transaction (e.g. a consumer's batch): events, effects and
                # checkpoint then commit together. The savepoint keeps it usable after a race.
                async with conn.transaction():
                    return await self._append_in(conn, *args)
            async with self.pool.acquire() as own, own.transaction():
                return await self._append_in(own, *args)
        except asyncpg.UniqueViolationError as exc:
            self._raise_unless_race(exc, stream_id, conn)
            # A concurrent writer of this stream or command committed first: answer as if this
            # append had come after it.
            return await self._after_race(conn, stream_id, events, command_id, command_hash)

    def _raise_unless_race(
        self, exc: asyncpg.UniqueViolationError, stream_id: str, conn: Connection | None
    ) -> None:
        if exc.schema_name != self.schema or exc.constraint_name not in _RACES:
            raise exc  # e.g. a read model's unique index guarding an invariant
        if conn is not None and RACES_RETRIED_BY_CALLER.get():
            raise RaceLost(stream_id) from exc  # the caller's transaction is aborted

    async def _append_loaded(
        self,
        conn: Connection,
        loaded: LoadedStream,
        events: Sequence[NewEvent],
        expected_version: int | None,
        command_id: str | None,
        command_hash: str | None,
        inline: InlineProjection | None,
    ) -> AppendResult:
        """The append of a command whose stream `load` read in this transaction: that read took
        the append hold and found the version, the command id unknown and the transaction not
        stale, so only the insert is left (one round trip instead of two). A writer that
        commits the same version or command id meanwhile trips a unique constraint, as it
        would after the check query."""
        stream_id = loaded.stream_id
        if loaded.stale:
            raise StaleTransaction(stream_id)
        if expected_version is not None and loaded.version != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, loaded.version)
        args = (conn, stream_id, events, loaded.version, command_id, command_hash, inline)
        try:
            if RACES_RETRIED_BY_CALLER.get():
                return await self._insert(*args)
            async with conn.transaction():
                return await self._insert(*args)
        except asyncpg.UniqueViolationError as exc:
            self._raise_unless_race(exc, stream_id, conn)
            return await self._after_race(conn, stream_id, events, command_id, command_hash)

    async def _after_race(
        self,
        conn: Connection | None,
        stream_id: str,
        events: Sequence[NewEvent],
        command_id: str | None,
        command_hash: str | None,
    ) -> AppendResult:
        if command_id is not None:
            previous = await self.find_command(command_id, command_hash, conn=conn)
            if previous is not None:
                return previous
        seen = await self._seen(conn or self.pool, [e.event_id for e in events])
        if seen is not None:
            return seen
        current = await (conn or self.pool).fetchval(
            f"SELECT coalesce(max(stream_version), 0) FROM {self.schema}.events "
            "WHERE stream_id = $1",
            stream_id,
        )
        raise ConcurrencyConflict(stream_id, -1, current)

    async def _seen(self, conn: Connection | asyncpg.Pool, ids: list[Any]) -> AppendResult | None:
        seen = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {self.schema}.events WHERE event_id = ANY($1::uuid[]) "
            "ORDER BY position",
            ids,
        )
        if not seen:
            return None
        return AppendResult(
            stream_id=seen[0]["stream_id"],
            stream_version=max(r["stream_version"] for r in seen),
            events=tuple(_record(r) for r in seen),
            duplicate=True,
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
        # One round trip: a shared hold on appends (a rebuild takes it exclusively), the
        # stream's version, whether this command or these events were appended before, and
        # whether this transaction began writing before the stream's last event was written.
        check = await conn.fetchrow(
            f"""
            SELECT pg_advisory_xact_lock_shared($4) IS NULL AS held,
                   (SELECT coalesce(max(stream_version), 0) FROM {s}.events
                     WHERE stream_id = $1) AS current,
                   EXISTS (SELECT 1 FROM {s}.events WHERE event_id = ANY($2::uuid[])) AS seen,
                   ($3::text IS NOT NULL
                    AND EXISTS (SELECT 1 FROM {s}.commands WHERE command_id = $3)) AS known,
                   coalesce(pg_current_xact_id_if_assigned()
                            < (SELECT max(transaction_id) FROM {s}.events WHERE stream_id = $1),
                            false) AS stale
            """,
            stream_id,
            [e.event_id for e in events],
            command_id,
            self._appends_lock,
        )
        assert check is not None  # a SELECT of scalars always returns one row
        if check["known"] and command_id is not None:
            previous = await self._previous_command(conn, command_id, command_hash)
            if previous is not None:
                return previous
        if check["seen"]:
            seen = await self._seen(conn, [e.event_id for e in events])
            assert seen is not None  # seen under this snapshot a moment ago; events stay
            return seen
        if check["stale"]:
            raise StaleTransaction(stream_id)
        current: int = check["current"]
        if expected_version is not None and current != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, current)
        return await self._insert(
            conn, stream_id, events, current, command_id, command_hash, inline
        )

    async def _insert(
        self,
        conn: Connection,
        stream_id: str,
        events: Sequence[NewEvent],
        current: int,
        command_id: str | None,
        command_hash: str | None,
        inline: InlineProjection | None,
    ) -> AppendResult:
        s = self.schema
        # Events, the command's record and the wake-up of the relay in one statement. The
        # wake-up's payload is constant: PostgreSQL folds equal notifications of a transaction
        # into one, so a group commit wakes the relay once, not once per command.
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
                SELECT pg_notify($14, '') FROM ins HAVING count(*) > 0
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

    async def load(
        self,
        stream_id: str,
        *,
        command_id: str | None = None,
        command_hash: str | None = None,
        conn: Connection | None = None,
    ) -> LoadedStream:
        """A stream to decide on, and the earlier result of this command id if there is one
        (IdempotencyKeyReused if that was another command).

        On a connection inside a transaction this is one round trip that also takes the append
        hold and notes whether the transaction is stale for this stream, so that the append of
        the decision needs no check of its own (`append(loaded=...)`); otherwise it is a plain
        read of the stream and of the command.
        """
        if conn is None or not conn.is_in_transaction():
            events = await self.read_stream(stream_id, conn=conn)
            previous = None
            if command_id is not None:
                previous = await self.find_command(command_id, command_hash, conn=conn)
            return LoadedStream(stream_id, events, previous)
        s = self.schema
        rows = await conn.fetch(
            f"""
            WITH hold AS (
                SELECT pg_advisory_xact_lock_shared($2) IS NULL AS held,
                       pg_current_xact_id_if_assigned()::text::bigint AS xid
            ), known AS (
                SELECT positions AS known_positions
                FROM {s}.commands WHERE $3::text IS NOT NULL AND command_id = $3
            )
            SELECT hold.xid, known.*, e.*
            FROM hold LEFT JOIN known ON true LEFT JOIN LATERAL (
                SELECT {_COLUMNS} FROM {s}.events WHERE stream_id = $1 ORDER BY stream_version
            ) e ON true
            """,
            stream_id,
            self._appends_lock,
            command_id,
        )
        first = rows[0]  # the LEFT JOINs of one row always give at least one
        events = sorted(
            (_record(r) for r in rows if r["position"] is not None),
            key=lambda e: e.stream_version,
        )
        xid: int | None = first["xid"]
        stale = xid is not None and any(e.transaction_id > xid for e in events)
        previous = None
        if command_id is not None and first["known_positions"] is not None:
            previous = await self._previous_command(conn, command_id, command_hash)
        return LoadedStream(stream_id, events, previous, stale=stale, in_transaction=True)

    async def load_many(
        self, conn: Connection, wanted: Sequence[tuple[str, str | None]]
    ) -> list[LoadedStream]:
        """Several streams to decide on (distinct ones, each with its command id or None), in
        one round trip inside the caller's transaction: the append hold, this transaction's
        staleness and whether each command id is known, as `load` notes them for one stream.
        A known command is only flagged (`known`): its answer is for `load` to read.

        LIMIT and ORDER BY keep both subqueries lateral, each an index look-up: flattened into
        joins, the generic plan PostgreSQL caches after five runs hashed the wanted streams
        against sequential scans of every event and command (2 ms a call at 200/s)."""
        s = self.schema
        rows = await conn.fetch(
            f"""
            WITH hold AS (
                SELECT pg_advisory_xact_lock_shared($1) IS NULL AS held,
                       pg_current_xact_id_if_assigned()::text::bigint AS xid
            )
            SELECT w.n AS wanted, hold.xid, k.known IS NOT NULL AS known, e.*
            FROM hold
            CROSS JOIN unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(stream, command, n)
            LEFT JOIN LATERAL (
                SELECT true AS known FROM {s}.commands WHERE command_id = w.command LIMIT 1
            ) k ON true
            LEFT JOIN LATERAL (
                SELECT {_COLUMNS} FROM {s}.events WHERE stream_id = w.stream
                ORDER BY stream_version
            ) e ON true
            """,
            self._appends_lock,
            [stream for stream, _ in wanted],
            [command for _, command in wanted],
        )
        found: list[list[RecordedEvent]] = [[] for _ in wanted]
        known = [False] * len(wanted)
        for row in rows:
            known[row["wanted"] - 1] = row["known"]
            if row["position"] is not None:
                found[row["wanted"] - 1].append(_record(row))
        xid: int | None = rows[0]["xid"] if rows else None
        return [
            LoadedStream(
                stream_id,
                sorted(events, key=lambda e: e.stream_version),
                stale=xid is not None and any(e.transaction_id > xid for e in events),
                in_transaction=True,
                known=known[i],
            )
            for i, ((stream_id, _), events) in enumerate(zip(wanted, found, strict=True))
        ]

    async def append_many(
        self,
        conn: Connection,
        decided: Sequence[Decided],
        inline_rows: Mapping[str, Sequence[Any]] | None = None,
    ) -> list[AppendResult]:
        """The decisions of several commands on streams `load_many` read in this transaction
        (none of them stale, known or shared) or that open their streams, their events, command
        records and `inline_rows` (`InlineRow.statement` -> the rows of the commands that
        append events) in one statement, which takes the append hold itself (a batch of
        opening commands reads nothing before it). A writer that committed one of these
        versions or command ids meanwhile, or a row a read model refuses, fails the whole
        statement (the caller runs the commands again one by one)."""
        events = [(d, n, e) for d in decided for n, e in enumerate(d.events, 1)]
        # The data is not read back: decoding what was just encoded was 2% of a command's CPU.
        data = {e.event_id: e.event.model_dump(mode="json") for _, _, e in events}
        with APPEND_SECONDS.time():  # once for the batch
            rows = await self._insert_many(conn, decided, events, data, inline_rows or {})
        recorded: dict[str, list[RecordedEvent]] = {}
        for row in rows:
            recorded.setdefault(row["stream_id"], []).append(_record(row, data[row["event_id"]]))
        return [_appended(d.loaded, recorded.get(d.loaded.stream_id, [])) for d in decided]

    async def _insert_many(
        self,
        conn: Connection,
        decided: Sequence[Decided],
        events: Sequence[tuple[Decided, int, NewEvent]],
        data: dict[Any, dict[str, Any]],
        inline_rows: Mapping[str, Sequence[Any]],
    ) -> list[Any]:
        s = self.schema
        commands = [d for d in decided if d.command_id is not None]
        # Each read model's rows as one more data-modifying part of the statement, reading `ins`.
        projections = "".join(
            f", inline_{i} AS ({statement.replace('$rows', f'${19 + i}')})"
            for i, statement in enumerate(inline_rows)
        )
        rows: list[Any] = await conn.fetch(
            f"""
            WITH hold AS (
                SELECT pg_advisory_xact_lock_shared($18) IS NULL AS held
            ), ins AS (
                INSERT INTO {s}.events (position, event_id, stream_id, stream_version,
                    event_type, event_version, data, occurred_at, recorded_at, actor,
                    actor_role, correlation_id, causation_id, command_id)
                SELECT nextval('{s}.event_position'), e.event_id, e.stream_id, e.stream_version,
                    e.event_type, e.event_version, e.data, e.occurred_at, clock_timestamp(),
                    e.actor, e.actor_role, e.correlation_id, e.causation_id, e.command_id
                FROM hold CROSS JOIN unnest($1::uuid[], $2::text[], $3::int[], $4::text[],
                            $5::int[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::text[],
                            $10::text[], $11::text[], $12::text[])
                     WITH ORDINALITY AS e(event_id, stream_id, stream_version, event_type,
                                          event_version, data, occurred_at, actor, actor_role,
                                          correlation_id, causation_id, command_id, n)
                ORDER BY e.n
                RETURNING {_COLUMNS_BUT_DATA}
            ), command AS (
                INSERT INTO {s}.commands (command_id, command_hash, stream_id, stream_version,
                                          positions)
                SELECT c.command_id, c.command_hash, c.stream_id, c.stream_version,
                       coalesce((SELECT array_agg(ins.position ORDER BY ins.position) FROM ins
                                 WHERE ins.stream_id = c.stream_id), '{{}}')
                FROM hold CROSS JOIN unnest($13::text[], $14::text[], $15::text[], $16::int[])
                     AS c(command_id, command_hash, stream_id, stream_version)
            ), wake AS (
                SELECT pg_notify($17, '') FROM ins HAVING count(*) > 0
            ){projections}
            SELECT ins.* FROM ins WHERE (SELECT count(*) FROM wake) >= 0
            """,
            [e.event_id for _, _, e in events],
            [d.loaded.stream_id for d, _, _ in events],
            [d.loaded.version + n for d, n, _ in events],
            [e.event.event_type for _, _, e in events],
            [e.event.event_version for _, _, e in events],
            [data[e.event_id] for _, _, e in events],
            [e.metadata.occurred_at for _, _, e in events],
            [e.metadata.actor for _, _, e in events],
            [e.metadata.actor_role for _, _, e in events],
            [e.metadata.correlation_id for _, _, e in events],
            [e.metadata.causation_id for _, _, e in events],
            [d.command_id for d, _, _ in events],
            [d.command_id for d in commands],
            [d.command_hash or "" for d in commands],
            [d.loaded.stream_id for d in commands],
            [d.loaded.version + len(d.events) for d in commands],
            self.notify_channel,
            self._appends_lock,
            *inline_rows.values(),
        )
        return rows

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
            f"SELECT command_hash, stream_id, stream_version, positions, refusal "
            f"FROM {s}.commands WHERE command_id = $1",
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
            refusal=row["refusal"],
        )

    async def record_refusal(
        self, conn: Connection, command_id: str, command_hash: str, stream_id: str, reason: str
    ) -> None:
        """Record that the command under this id was refused (a process manager's decision),
        so that a replay of its cause answers from the record instead of deciding again."""
        await conn.execute(
            f"INSERT INTO {self.schema}.commands (command_id, command_hash, stream_id, "
            "stream_version, positions, refusal) VALUES ($1, $2, $3, 0, '{}', $4) "
            "ON CONFLICT (command_id) DO NOTHING",
            command_id,
            command_hash,
            stream_id,
            reason[:2000],
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
        rebuilt from the whole log, so no command slips in between the read and the write).
        Appends hold the same lock shared, so they never wait for each other."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", self._appends_lock)

    async def read_all(
        self,
        after: LogPosition = START,
        limit: int = 1000,
        *,
        conn: Connection | None = None,
        appends_held: bool = False,
    ) -> list[RecordedEvent]:
        """Events after `after` in log order, only those no running transaction can precede.

        With `appends_held` (the caller holds `hold_appends`), every committed event is final
        and the bound on running transactions is not needed.
        """
        rows = await self.read_log(_COLUMNS, after, limit, conn=conn, appends_held=appends_held)
        return [_record(r) for r in rows]

    async def read_log(
        self,
        columns: str,
        after: LogPosition,
        limit: int,
        *,
        conn: Connection | None = None,
        appends_held: bool = False,
    ) -> list[asyncpg.Record]:
        """`read_all`'s rows as the given select list (trusted SQL, e.g. the relay's record
        pieces: servicekit.relay_records)."""
        bound = "" if appends_held else _settled(self.schema)
        rows: list[asyncpg.Record] = await (conn or self.pool).fetch(
            f"SELECT {columns} FROM {self.schema}.events "
            f"WHERE (transaction_id, position) > ($1::text::xid8, $2) {bound} "
            # The table's columns, not a selected bigint of the same name: the index's order,
            # so a batch reads its rows, not a sort of everything after `after` (issue 12).
            "ORDER BY events.transaction_id, events.position LIMIT $3",
            str(after.transaction),
            after.position,
            limit,
        )
        return rows

    async def installation_id(self) -> str:
        """This store's identity (created with the schema; the same for every instance)."""
        value = await self.pool.fetchval(f"SELECT id FROM {self.schema}.store_identity")
        return str(value)

    async def head_position(self) -> int:
        value: int = await self.pool.fetchval(
            f"SELECT coalesce(max(position), 0) FROM {self.schema}.events"
        )
        return value

    async def park(
        self, conn: Connection, event: tuple[int, str, str], topic: str, reason: str
    ) -> None:
        """Set aside an event the relay cannot publish, given as (position, event id, stream id),
        with the reason (listed under /admin)."""
        await conn.execute(
            f"INSERT INTO {self.schema}.parked_events (position, event_id, stream_id, topic, "
            "reason) VALUES ($1, $2::text::uuid, $3, $4, $5) ON CONFLICT (position) DO NOTHING",
            *event,
            topic,
            reason,
        )

    async def any_after(self, after: LogPosition, *, conn: Connection | None = None) -> bool:
        """Whether a committed event lies after `after` in log order, settled or not: after a
        read of everything settled, one that is not waits behind an older transaction."""
        # The first row in the index's order, not EXISTS: PostgreSQL's generic plan of an
        # EXISTS, kept after five runs, scanned the whole table (issue 12: 5-15 ms at 30,000
        # events, half of the statements' execution time under wrk, at every short batch).
        found = await (conn or self.pool).fetchval(
            f"SELECT 1 FROM {self.schema}.events "
            "WHERE (transaction_id, position) > ($1::text::xid8, $2) "
            "ORDER BY transaction_id, position LIMIT 1",
            str(after.transaction),
            after.position,
        )
        return found is not None

    async def count_after(self, after: LogPosition) -> int:
        """How many committed events lie after `after` in log order (e.g. a relay's lag)."""
        value: int = await self.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.events "
            "WHERE (transaction_id, position) > ($1::text::xid8, $2)",
            str(after.transaction),
            after.position,
        )
        return value

    async def checkpoint(self, name: str, *, conn: Connection | None = None) -> LogPosition:
        row = await (conn or self.pool).fetchrow(
            f"SELECT transaction_id::text::bigint AS transaction_id, position "
            f"FROM {self.schema}.checkpoints WHERE name = $1",
            name,
        )
        return START if row is None else LogPosition(row["transaction_id"], row["position"])

    async def advance_checkpoint(self, conn: Connection, name: str, to: LogPosition) -> bool:
        """Move the checkpoint forward to `to`; never backwards. False if it was not behind.

        Called on the connection that holds the writer's leadership, so a deposed leader's
        write fails with its session, and a stale one cannot move the checkpoint back.
        """
        status: str = await conn.execute(
            f"INSERT INTO {self.schema}.checkpoints AS c (name, transaction_id, position) "
            "VALUES ($1, $2::text::xid8, $3) ON CONFLICT (name) DO UPDATE "
            "SET transaction_id = excluded.transaction_id, position = excluded.position, "
            "updated_at = clock_timestamp() "
            "WHERE (c.transaction_id, c.position) < (excluded.transaction_id, excluded.position)",
            name,
            str(to.transaction),
            to.position,
        )
        return status.endswith(" 1")
