"""DDL of a service's store. Every service owns one PostgreSQL schema; nothing reads another's."""

from __future__ import annotations

import re

from servicekit.db import Connection

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def checked_schema(name: str) -> str:
    """Schema names are interpolated into DDL, so only plain identifiers are accepted."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    return name


def ddl(schema: str) -> str:
    s = checked_schema(schema)
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE SEQUENCE IF NOT EXISTS {s}.event_position;
CREATE TABLE IF NOT EXISTS {s}.events (
    position        bigint PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL CHECK (stream_version > 0),
    event_type      text NOT NULL,
    event_version   integer NOT NULL,
    data            jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text NOT NULL,
    actor_role      text NOT NULL,
    correlation_id  text NOT NULL,
    causation_id    text NOT NULL,
    command_id      text,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_recorded_at ON {s}.events (recorded_at);
CREATE TABLE IF NOT EXISTS {s}.commands (
    command_id      text PRIMARY KEY,
    command_hash    text NOT NULL,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    positions       bigint[] NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {s}.checkpoints (
    name        text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {s}.consumer_offsets (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, topic, partition)
);
CREATE TABLE IF NOT EXISTS {s}.processed_events (
    consumer    text NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS {s}.dead_letters (
    id          bigserial PRIMARY KEY,
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    key         text,
    value       bytea,
    reason      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE {s}.dead_letters ADD COLUMN IF NOT EXISTS redriven_at timestamptz;
CREATE TABLE IF NOT EXISTS {s}.skipped_events (
    consumer    text NOT NULL,
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    reason      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, event_id)
);
-- One row: this store's identity. Consumer groups carry it, so only instances that share these
-- checkpoints share a Kafka group (another database on the same cluster gets its own group).
CREATE TABLE IF NOT EXISTS {s}.store_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO {s}.store_identity DEFAULT VALUES ON CONFLICT DO NOTHING;
-- Events are permanent: a correction is a new event, never an edit (guide: standards).
CREATE OR REPLACE FUNCTION {s}.events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: append a correcting event instead';
END $$;
DROP TRIGGER IF EXISTS events_immutable ON {s}.events;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON {s}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.events_are_immutable();
"""


async def create_schema(conn: Connection, schema: str) -> None:
    """Create the store's tables if absent; serialised so concurrent replicas do not race."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl'))")
        await conn.execute(ddl(schema))
