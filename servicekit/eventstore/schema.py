"""DDL of a service's store. Every service owns one PostgreSQL schema; nothing reads another's."""

from __future__ import annotations

from servicekit.db import Connection
from servicekit.ddl import apply_ddl, checked_schema

__all__ = ["apply_ddl", "checked_schema", "create_schema", "ddl"]


def ddl(schema: str) -> str:
    s = checked_schema(schema)
    return f"""
-- Made beforehand, for the service's own role, by the administrator (servicekit.db_access); that
-- role may not create schemas, and CREATE SCHEMA IF NOT EXISTS checks the privilege even when
-- the schema exists. So create it only where it is missing (tests, a single-user installation).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{s}') THEN
        CREATE SCHEMA {s};
    END IF;
END $$;
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
-- The writing transaction of each row: readers take rows below the oldest transaction still
-- running, in (transaction, position) order, so they never skip a late commit and writers take
-- no store-wide lock. Rows written before this column existed were written in commit order
-- under a lock, so they all carry 0 and keep their position order.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '{s}'
                   AND table_name = 'events' AND column_name = 'transaction_id') THEN
        ALTER TABLE {s}.events ADD COLUMN transaction_id xid8 NOT NULL DEFAULT '0';
        ALTER TABLE {s}.events ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id();
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS events_log_order ON {s}.events (transaction_id, position);
CREATE TABLE IF NOT EXISTS {s}.commands (
    command_id      text PRIMARY KEY,
    command_hash    text NOT NULL,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    positions       bigint[] NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A process manager's refusal is a decision too: recorded so a replay never decides again.
ALTER TABLE {s}.commands ADD COLUMN IF NOT EXISTS refusal text;
CREATE TABLE IF NOT EXISTS {s}.checkpoints (
    name        text PRIMARY KEY,
    position    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE {s}.checkpoints ADD COLUMN IF NOT EXISTS transaction_id xid8 NOT NULL DEFAULT '0';
CREATE TABLE IF NOT EXISTS {s}.consumer_offsets (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, topic, partition)
);
-- Replaced by consumer_streams (one row per stream, not one per event).
DROP TABLE IF EXISTS {s}.processed_events;
-- The last version of each stream a consumer applied: it expects the next one (per-key order
-- holds on Kafka), drops what it has seen and parks what comes early. `store_id` tells apart
-- histories of different stores that share a topic (a store re-created from scratch).
CREATE TABLE IF NOT EXISTS {s}.consumer_streams (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    store_id    text NOT NULL,
    stream_id   text NOT NULL,
    version     integer NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (consumer, topic, store_id, stream_id)
);
-- Records that came before the version a consumer expects: applied when the gap closes.
CREATE TABLE IF NOT EXISTS {s}.parked_records (
    id              bigserial PRIMARY KEY,
    consumer        text NOT NULL,
    topic           text NOT NULL,
    partition       integer NOT NULL,
    "offset"        bigint NOT NULL,
    store_id        text NOT NULL,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    key             bytea,
    value           bytea NOT NULL,
    reason          text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (consumer, topic, partition, "offset")
);
CREATE INDEX IF NOT EXISTS parked_records_stream
    ON {s}.parked_records (consumer, topic, store_id, stream_id, stream_version);
-- A rebuild bumps the epoch; every instance compares it before each batch (servicekit.consumer).
CREATE TABLE IF NOT EXISTS {s}.consumer_epochs (
    consumer    text PRIMARY KEY,
    epoch       integer NOT NULL
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
-- Published to the dead-letter topic after the consumer's transaction committed (no Kafka I/O
-- inside a transaction); a re-drive records its outcome here.
ALTER TABLE {s}.dead_letters ADD COLUMN IF NOT EXISTS published_at timestamptz;
ALTER TABLE {s}.dead_letters ADD COLUMN IF NOT EXISTS redrive_outcome text;
CREATE INDEX IF NOT EXISTS dead_letters_unpublished ON {s}.dead_letters (id)
    WHERE published_at IS NULL;
-- Events the relay could not publish (refused by Kafka, e.g. too large): it goes on without them.
CREATE TABLE IF NOT EXISTS {s}.parked_events (
    position        bigint PRIMARY KEY,
    event_id        uuid NOT NULL,
    stream_id       text NOT NULL,
    topic           text NOT NULL,
    reason          text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
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
    """Create the store's tables if absent, or bring them to this version's DDL."""
    await apply_ddl(conn, schema, "event store", ddl(schema))
