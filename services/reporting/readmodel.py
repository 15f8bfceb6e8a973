"""The reporting service's tables: a generation pointer and, per generation, facts and agencies.

Every applied event is kept as an append-only fact (both times, payload in its current version),
so any report can be recomputed as of any occurred date and any recorded instant. A generation is
one schema (`reporting_g<N>`); a replay builds the next one and the pointer switches in one
transaction, so readers never see a half-built projection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import asyncpg
from socialwork_contracts.catalog import UnknownEventType

from servicekit.db import Connection, binary_json
from servicekit.ddl import apply_ddl
from services.reporting import place_tables
from services.reporting.domain.facts import Fact, FactRow, event_of_json, pg_instant
from services.reporting.domain.reports import LIVE_STATUSES
from services.reporting.domain.state import AGENCY_TYPES, AgencyView, codes, folded_types
from services.reporting.domain.versions import (
    LISTING_TYPES,
    AgencyFact,
    AgencyVersion,
    EntityFact,
    Version,
    agency_versions,
    current,
)

VersionT = TypeVar("VersionT")
CONTROL = "reporting"  # the service's own schema (event store tables, checkpoints, pointer)
_GENERATION = re.compile(r"^reporting_g[0-9]{1,9}$")

CONTROL_DDL = f"""
CREATE TABLE IF NOT EXISTS {CONTROL}.generation (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current     text NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO {CONTROL}.generation (current) VALUES ('reporting_g1') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {CONTROL}.installation (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    live_consumer text NOT NULL
);
INSERT INTO {CONTROL}.installation (live_consumer)
VALUES ('reporting.projection.' || substr(md5(random()::text || clock_timestamp()::text), 1, 10))
ON CONFLICT DO NOTHING;
"""

_FACT_COLUMNS = (
    "event_id, service, event_type, event_version, stream_id, uscc, base_id, effective_on, "
    "occurred_at, recorded_at, data"
)
_AGENCY_COLUMNS = "uscc, name, kind, reporting_unit, status, status_since, registered_on, priority"
# Agency facts (state.AGENCY_FACTS) as literals: a partial index's predicate is matched only by
# the same condition written out in a query, not by a parameter.
_AGENCY = "event_type IN ({})".format(", ".join(f"'{t}'" for t in AGENCY_TYPES))
LISTING = "event_type IN ({})".format(", ".join(f"'{t}'" for t in LISTING_TYPES))  # the same
LISTING_COLUMNS = (
    "listing_id",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "uscc",
    "list",
    "ground",
    "listed_on",
    "removed_on",
    "removal_reason",
    "clock_from",
)


def generation_name(number: int) -> str:
    return f"reporting_g{number}"


def checked_generation(name: str) -> str:
    if not _GENERATION.match(name):
        raise ValueError(f"not a generation schema: {name!r}")
    return name


def generation_ddl(generation: str) -> str:
    """Tables, the facts' key and every index (a live generation)."""
    return (
        generation_tables_ddl(generation)
        + generation_key_ddl(generation)
        + generation_index_ddl(generation)
        + generation_checkpoint_index_ddl(generation)
    )


def generation_key_ddl(generation: str) -> str:
    """The facts' primary key (event id), which a live generation's inserts rely on (ON
    CONFLICT). A bulk replay builds it once after loading (`key_facts`): cheaper than
    maintaining it row by row. Idempotent; a generation made with the key inline keeps it."""
    g = checked_generation(generation)
    return f"""
CREATE UNIQUE INDEX IF NOT EXISTS facts_pkey ON {g}.facts (event_id);
DO $$ BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_constraint WHERE conrelid = '{g}.facts'::regclass AND contype = 'p'
    ) THEN
        ALTER TABLE {g}.facts ADD CONSTRAINT facts_pkey PRIMARY KEY USING INDEX facts_pkey;
    END IF;
END $$;
"""


def generation_index_ddl(generation: str) -> str:
    """Secondary indexes; a bulk replay creates them once, after loading (cheaper than per row)."""
    g = checked_generation(generation)
    # No index of effective_on alone: facts_fold leads with it and serves those scans (a
    # generation made before keeps its facts_effective; a bulk load skips a CPU second at 1M).
    return f"""
-- The fold's order (_FOLD_ORDER): a report's facts stream from it without a sort of them all,
-- and by its first column the facts taking effect by a day.
CREATE INDEX IF NOT EXISTS facts_fold ON {g}.facts
    (effective_on, occurred_at, recorded_at, event_id COLLATE "C");
CREATE INDEX IF NOT EXISTS facts_uscc ON {g}.facts (uscc) WHERE service = 'registry';
"""


async def ensure_checkpoint_index(conn: Connection, generation: str) -> None:
    """`generation_checkpoint_index_ddl` on a generation that has facts already (a bulk
    replay's, after its switch-over): as any DDL here, once, giving way to live writers."""
    await apply_ddl(
        conn, generation, "checkpoint_index", generation_checkpoint_index_ddl(generation)
    )


def generation_checkpoint_index_ddl(generation: str) -> str:
    """Agency facts by recording: the agencies a by-recording cut-off folds again from a kept
    state (`late_agencies`), found without a scan of every fact up to its day. Of use
    only once states are kept, so a bulk replay leaves it to the fold that keeps them after the
    switch (rebuild.keep_checkpoints): its build (0.16 s at 1M) stays out of the replay's."""
    g = checked_generation(generation)
    return f"""
CREATE INDEX IF NOT EXISTS facts_agency_recorded ON {g}.facts (recorded_at) WHERE {_AGENCY};
"""


def generation_tables_ddl(generation: str) -> str:
    """The tables, the facts without their key (`generation_key_ddl`)."""
    g = checked_generation(generation)
    return f"""
CREATE SCHEMA IF NOT EXISTS {g};
-- event_id compared bytewise (COLLATE "C"): the same equality, and the key's build after a
-- bulk load sorts a million ids in a third of the time it takes in a libc locale's order.
CREATE TABLE IF NOT EXISTS {g}.facts (
    event_id      text COLLATE "C" NOT NULL,
    service       text NOT NULL,
    event_type    text NOT NULL,
    event_version integer NOT NULL,
    stream_id     text NOT NULL,
    uscc          text,
    base_id       text,
    effective_on  date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    -- The payload's JSON text as its fact was serialised (json, not jsonb: no query reads into
    -- it beyond the ids of the partial indexes, and jsonb parsed it into a tree on the way in
    -- and printed it back at every fold's read). A generation made before keeps its jsonb.
    data          json NOT NULL,
    tx            xid8 DEFAULT pg_current_xact_id()
);
-- The writing transaction of each fact (not hashed by `checksum`): a cached report stays valid
-- while no fact committed after its snapshot falls within its cut-off (cache.py). Added without
-- a rewrite to a generation made before it; its older facts (NULL) count as old.
ALTER TABLE {g}.facts ADD COLUMN IF NOT EXISTS tx xid8;
ALTER TABLE {g}.facts ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
-- Only facts with a writing transaction: a replay stores its facts without one (they are all
-- committed before readers switch to its generation, `copy_fact_rows`), so this index, made
-- with the table, stays empty through a bulk load instead of a sort of every fact after it.
-- A reader's `tx >= ...` implies tx IS NOT NULL, so its scans use it.
CREATE INDEX IF NOT EXISTS facts_tx ON {g}.facts (tx) WHERE tx IS NOT NULL;
-- Folded states at quarter ends (foldworker.py, domain/checkpoint.py): a report as of a new
-- date starts from the last one before it. Valid in a later snapshot while no fact within its
-- day was committed after `snapshot` (as a cached answer); a reset (TRUNCATE: new file node)
-- or another build's layout leaves a row unread. The blob is compressed already.
CREATE TABLE IF NOT EXISTS {g}.checkpoints (
    filenode      oid NOT NULL,
    layout        text NOT NULL,
    day           date NOT NULL,
    snapshot      text NOT NULL,
    last_recorded timestamptz,
    state         bytea NOT NULL,
    PRIMARY KEY (filenode, layout, day)
);
-- The latest recording among its facts that are not agency facts (state.AGENCY_FACTS): a
-- by-recording cut-off after it is served by folding again only the agencies with facts
-- recorded after the cut-off (`checkpoint_before`). NULL in rows kept before it was added.
-- Read only while `other_in` is the row's snapshot: a build before it replaces a row's
-- state and snapshot (a late fact) and leaves it as it was.
ALTER TABLE {g}.checkpoints ADD COLUMN IF NOT EXISTS last_recorded_other timestamptz;
ALTER TABLE {g}.checkpoints ADD COLUMN IF NOT EXISTS other_in text;
ALTER TABLE {g}.checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
-- At a half-year end, that half-year's figures by unit of the state (JSON text, in the render's
-- key order): a past half-year report is read with no fold (`kept_half_year`). Read only while
-- `half_year_in` is the figures' layout and the row's snapshot: a re-keep by a build before
-- it replaces the state and leaves them unread.
ALTER TABLE {g}.checkpoints ADD COLUMN IF NOT EXISTS half_year text;
ALTER TABLE {g}.checkpoints ADD COLUMN IF NOT EXISTS half_year_in text;
-- Beside them, the agencies with agency facts of the period recorded after the latest recording
-- of its other facts, each with its latest and what its records add (JSON, kept_figures.late_at): a
-- recording cut-off between the two is read from the figures too (`reports.late_shift`).
ALTER TABLE {g}.checkpoints ADD COLUMN IF NOT EXISTS half_year_late text;
-- The half-year figures by a recording cut-off at the end of a local day before the period's
-- end (readmodel_recorded.py): one row a day and period holding it, made by one fold pass in
-- recording order (recorded_days.py). Valid while no fact within that day's cut-off was
-- committed after `snapshot`; a reset (new file node) or other figures' code leaves it unread.
CREATE TABLE IF NOT EXISTS {g}.recorded_figures (
    filenode   oid NOT NULL,
    layout     text NOT NULL,
    day        date NOT NULL,
    period_end date NOT NULL,
    snapshot   text NOT NULL,
    figures    text NOT NULL,
    PRIMARY KEY (filenode, layout, day, period_end)
);
-- A replay's stream versions, appended a batch at a time with its facts and checkpoint (a
-- stream's highest version in that batch, at the first offset it was read at); the switch
-- hands each stream's highest to the live consumer (`switch_generation`). Empty elsewhere.
CREATE TABLE IF NOT EXISTS {g}.replay_streams (
    topic     text NOT NULL,
    store_id  text NOT NULL,
    stream_id text NOT NULL,
    version   integer NOT NULL,
    event_id  text NOT NULL,
    "offset"  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {g}.agencies (
    uscc           text PRIMARY KEY,
    name           text NOT NULL,
    kind           text NOT NULL,
    reporting_unit text NOT NULL,
    status         text NOT NULL,
    status_since   date NOT NULL,
    registered_on  date NOT NULL,
    priority       boolean NOT NULL
);
-- Each agency's registry record as bitemporal versions (domain/versions.py): the view a fold
-- as of a day (by occurrence) and a recording instant holds, valid [valid_from, valid_to) and
-- known [recorded_from, recorded_to) (NULL: open). Recomputed per agency with `agencies`.
CREATE TABLE IF NOT EXISTS {g}.agency_versions (
    uscc           text NOT NULL,
    valid_from     date NOT NULL,
    valid_to       date,
    recorded_from  timestamptz NOT NULL,
    recorded_to    timestamptz,
    name           text NOT NULL,
    kind           text NOT NULL,
    reporting_unit text NOT NULL,
    registered_on  date NOT NULL,
    status         text NOT NULL,
    status_since   date NOT NULL,
    priority       boolean NOT NULL,
    service_fields text[] NOT NULL,
    target_groups  text[] NOT NULL,
    PRIMARY KEY (uscc, recorded_from, valid_from)
);
-- What the targets count of the versions at a cut-off (readmodel_places.target_inputs), read
-- from the index alone and, for a past day, only the versions valid from before it (1M, as of
-- 2020-12-31: 9 ms instead of a 15 ms scan of every version's row with its names and lists).
CREATE INDEX IF NOT EXISTS agency_versions_live ON {g}.agency_versions (valid_from)
    INCLUDE (valid_to, recorded_from, recorded_to, registered_on, reporting_unit, kind, status,
    status_since);
-- A row once every entity's versions of each of `kinds` are there: the generation was folded
-- live from its first fact, or a replay of a build that keeps them switched to it. A
-- generation made before a kind's versions is answered by folding for it (cache.FROM_VERSIONS).
CREATE TABLE IF NOT EXISTS {g}.versions_built (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    built_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A row marked by the first build, which kept agency versions only, reads as that.
ALTER TABLE {g}.versions_built ADD COLUMN IF NOT EXISTS kinds text[] NOT NULL DEFAULT '{{agency}}';
-- Each credit listing's record as bitemporal versions, as agency_versions (readmodel_listings).
CREATE TABLE IF NOT EXISTS {g}.listing_versions (
    listing_id     text NOT NULL,
    valid_from     date NOT NULL,
    valid_to       date,
    recorded_from  timestamptz NOT NULL,
    recorded_to    timestamptz,
    uscc           text NOT NULL,
    list           text NOT NULL,
    ground         text NOT NULL,
    listed_on      date NOT NULL,
    removed_on     date,
    removal_reason text,
    clock_from     date,
    PRIMARY KEY (listing_id, recorded_from, valid_from)
);
-- A listing's facts by its id (readmodel_listings.refresh_listings). Made with the table, not
-- after a bulk load: it holds one fact in ~300, so kept through the load it costs a predicate
-- check per row instead of a scan of every fact after it.
CREATE INDEX IF NOT EXISTS facts_listing ON {g}.facts ((data->>'listing_id')) WHERE {LISTING};
""" + place_tables.tables_ddl(g)


async def live_consumer(conn: Connection) -> str:
    """The live consumer's name and Kafka group, one per database (see docs/reporting.md).

    A database that starts empty (new, restored or reset) gets a new group, so it folds from
    offset 0 instead of inheriting offsets another database's consumer committed to Kafka.
    Instances sharing one database share the group and split the partitions.
    """
    name: str = await conn.fetchval(f"SELECT live_consumer FROM {CONTROL}.installation")
    return name


async def current_generation(conn: Connection, *, lock: bool = False) -> str:
    suffix = " FOR UPDATE" if lock else ""
    value: str = await conn.fetchval(f"SELECT current FROM {CONTROL}.generation{suffix}")
    return checked_generation(value)


async def ensure(conn: Connection) -> str:
    """Create the pointer and the current generation's tables; return the current generation."""
    await apply_ddl(conn, CONTROL, "control", CONTROL_DDL)
    generation = await current_generation(conn)
    await apply_ddl(conn, generation, "generation", generation_ddl(generation))
    # Folded live from the first fact on: every entity's versions will be kept with its facts.
    g = checked_generation(generation)
    await conn.execute(
        f"INSERT INTO {g}.versions_built (kinds) SELECT $1 WHERE NOT EXISTS "
        f"(SELECT FROM {g}.facts) ON CONFLICT DO NOTHING",
        list(VERSION_KINDS),
    )
    return generation


# The kinds of entity whose versions this build keeps with their facts (domain/versions.py).
VERSION_KINDS = ("agency", "base", "stay", "listing")


async def mark_versions_built(conn: Connection, generation: str) -> None:
    """Every entity's versions of VERSION_KINDS are kept here (a replay's, at its switch). A
    mark is never widened: a generation this build did not make whole stays as marked."""
    g = checked_generation(generation)
    await conn.execute(
        f"INSERT INTO {g}.versions_built (kinds) VALUES ($1) ON CONFLICT DO NOTHING",
        list(VERSION_KINDS),
    )


async def versions_built(conn: Connection, generation: str, kind: str = "agency") -> bool:
    """Whether every entity's versions of `kind` are kept in this generation."""
    g = checked_generation(generation)
    built: bool = await conn.fetchval(
        f"SELECT EXISTS (SELECT FROM {g}.versions_built WHERE $1 = ANY(kinds))", kind
    )
    return built


async def insert_facts(conn: Connection, generation: str, facts: Sequence[Fact]) -> None:
    """Store facts, once per event id (a redelivered or republished event changes nothing)."""
    if not facts:
        return
    g = checked_generation(generation)
    await conn.execute(
        f"INSERT INTO {g}.facts ({_FACT_COLUMNS}) SELECT * FROM unnest("
        "$1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], "
        "$8::date[], $9::timestamptz[], $10::timestamptz[], $11::json[]) "
        "ON CONFLICT (event_id) DO NOTHING",
        [f.event_id for f in facts],
        [f.service for f in facts],
        [f.event_type for f in facts],
        [f.event_version for f in facts],
        [f.stream_id for f in facts],
        [f.uscc for f in facts],
        [f.base_id for f in facts],
        [f.effective_on for f in facts],
        [f.occurred_at for f in facts],
        [f.recorded_at for f in facts],
        [f.data for f in facts],
    )


_STAGE = "reporting_fact_stage"  # per session, emptied at each commit
_STAGE_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (
    event_id text, service text, event_type text, event_version integer, stream_id text,
    uscc text, base_id text, effective_on date, occurred_at timestamptz,
    recorded_at timestamptz, data json, tx xid8 DEFAULT pg_current_xact_id()
) ON COMMIT DELETE ROWS
"""


_FACT_COLUMN_NAMES = tuple(c.strip() for c in _FACT_COLUMNS.split(","))


async def copy_fact_rows(
    conn: Connection, generation: str, rows: Sequence[FactRow], *, unread: bool = False
) -> None:
    """Bulk form of insert_facts (the replay), a fact still stored once per event id: COPY
    straight into the facts table; if an event id is already there (a republished event), the
    batch again through a session staging table and INSERT ... ON CONFLICT (event_id) DO NOTHING.
    A bulk load's table has no key yet: there a repeat is stored and removed by `key_facts`.

    Must run inside the caller's transaction (the staging rows go at its commit). Sets the
    connection's `binary_json` (a pool's have it; a plain connection's may not). The payload's
    JSON text is stored as it is (json, or parsed into a generation's jsonb made before): no
    dict or json.dumps in Python. The two instants go as PostgreSQL's microseconds
    (`pg_instant`) through a codec set for the copy only: asyncpg's own encoder of a pydantic
    datetime was most of the rows' encoding (5.5 -> 1.5 µs a row, plus 2.9 to convert).

    With `unread` (a replay's generation, which no reader has yet: the switch comes after its
    last batch), the facts' writing transaction is left NULL, which readers count as committed
    before any snapshot of theirs: true of every fact there once they can read it.
    """
    if not rows:
        return
    g = checked_generation(generation)
    # Unpacked, not sliced: a tuple less per row; two displays, as a starred one costs 6 %.
    records: list[tuple[Any, ...]] = (
        [
            (e, s, t, v, st, u, b, on, pg_instant(occurred), pg_instant(recorded), d, None)
            for e, s, t, v, st, u, b, on, occurred, recorded, d in rows
        ]
        if unread
        else [
            (e, s, t, v, st, u, b, on, pg_instant(occurred), pg_instant(recorded), d)
            for e, s, t, v, st, u, b, on, occurred, recorded, d in rows
        ]
    )
    await binary_json(conn)
    await conn.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=_micros, decoder=_micros, format="tuple"
    )
    try:
        await _copy_once(conn, g, records, _FACT_COLUMN_NAMES + ("tx",) * unread)
    finally:
        # The pool's other users read timestamptz as datetimes.
        await conn.reset_type_codec("timestamptz", schema="pg_catalog")


def _micros(value: Any) -> Any:
    # timestamptz in asyncpg's tuple form: (microseconds since 2000-01-01 UTC,) both ways.
    return (value,) if isinstance(value, int) else value[0]


async def _copy_once(
    conn: Connection, g: str, records: list[tuple[Any, ...]], columns: Sequence[str]
) -> None:
    try:
        async with conn.transaction():  # a savepoint: a conflict undoes this attempt only
            await conn.copy_records_to_table(
                "facts", schema_name=g, columns=columns, records=records
            )
        return
    except asyncpg.UniqueViolationError:
        pass
    await conn.execute(_STAGE_DDL)
    await conn.copy_records_to_table(_STAGE, records=records, columns=columns)
    await conn.execute(
        f"INSERT INTO {g}.facts ({_FACT_COLUMNS}, tx) SELECT event_id, service, event_type, "
        "event_version, stream_id, uscc, base_id, effective_on, occurred_at, recorded_at, "
        f"data, tx FROM {_STAGE} ON CONFLICT (event_id) DO NOTHING"
    )


async def key_facts(conn: Connection, generation: str) -> None:
    """The facts' primary key, built once after a bulk load; an event stored twice by it (the
    relay publishes at least once, so an event id can recur on the topics) is kept once."""
    try:
        await conn.execute(generation_key_ddl(generation))
    except asyncpg.UniqueViolationError:
        # Rare (a relay's retry): the build is only repeated then, not paid for on every load.
        g = checked_generation(generation)
        await conn.execute(
            f"DELETE FROM {g}.facts a USING {g}.facts b "
            "WHERE a.event_id = b.event_id AND a.ctid > b.ctid"
        )
        await conn.execute(generation_key_ddl(generation))


def _fact(row: Any) -> Fact:
    return Fact(
        event_id=row["event_id"],
        service=row["service"],
        event_type=row["event_type"],
        event_version=row["event_version"],
        stream_id=row["stream_id"],
        uscc=row["uscc"],
        base_id=row["base_id"],
        effective_on=row["effective_on"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        data=row["data"],
    )


# A fold row as a replay keeps it while loading: the payload as the UTF-8 bytes it stores (a
# str of text with Chinese in it takes two bytes a character, ASCII included).
KeptRow = tuple[str, int, dt.date, dt.datetime, dt.datetime, str, bytes]


def agency_facts(rows: Iterable[asyncpg.Record | FoldRow | KeptRow]) -> dict[str, list[AgencyFact]]:
    """Agency facts of rows of _FOLD_COLUMNS, by credit code, each in fold order."""
    return entity_facts(rows, "uscc")  # every agency fact names its agency


def entity_facts(
    rows: Iterable[asyncpg.Record | FoldRow | KeptRow], key: str
) -> dict[str, list[EntityFact]]:
    """Facts of rows of _FOLD_COLUMNS, by their entity's id (the events' field `key`), each in
    fold order: each payload validated from its JSON text, each event id once (a replay folds
    while its load's extra copies of a republished event may not be deleted yet, `key_facts`;
    copies sort together)."""
    by_entity: dict[str, list[EntityFact]] = {}
    last = None
    for row in sorted(rows, key=lambda r: (r[2], r[3], r[4], r[5])):  # state.sort_key's order
        if row[5] == last:
            continue
        last = row[5]
        try:
            event = event_of_json(row[0], row[1], row[6])
        except UnknownEventType:
            continue  # as state.apply: a type this build does not fold
        by_entity.setdefault(getattr(event, key), []).append((event, row[2], row[4]))
    return by_entity


def versions_by_entity(
    groups: Mapping[str | None, Sequence[KeptRow]],
    key: str,
    versions: Callable[[Sequence[EntityFact]], Sequence[VersionT]],
) -> list[VersionT]:
    """Each entity's versions from its rows (`groups`: rows of _FOLD_COLUMNS under the id of the
    entity they are about), one entity's payloads validated at a time: at a million facts the
    replay's finish validated all 137k kept agency, base and stay facts at once, +140 MiB.
    If a group's rows name another entity once validated (the id a group was keyed by is not
    the event's), every group is folded together instead, as `entity_facts` does."""
    found: list[VersionT] = []
    for entity, rows in groups.items():
        facts = entity_facts(rows, key)
        if facts.keys() - {entity}:
            together = entity_facts([r for rows in groups.values() for r in rows], key)
            return [v for facts in together.values() for v in versions(facts)]
        found += [v for facts in facts.values() for v in versions(facts)]
    return found


def versions_of(by_agency: dict[str, list[AgencyFact]]) -> list[AgencyVersion]:
    """Every given agency's bitemporal versions (domain/versions.py)."""
    return [v for facts in by_agency.values() for v in agency_versions(facts)]


async def refresh_agencies(conn: Connection, generation: str, usccs: Iterable[str]) -> None:
    """Re-fold the registry facts of these agencies into the live summary table and their
    versions.

    Folding all of an agency's facts in effective order (not arrival order) makes the row the
    same whatever order the facts arrived in, live or in a replay.
    """
    keys = sorted(set(usccs))
    if not keys:
        return
    g = checked_generation(generation)
    # Only the types the fold applies (staff changes, two thirds of an agency's registry facts,
    # change no summary): the same state, read and validated in a third of the time.
    rows = await conn.fetch(
        f"SELECT {_FOLD_COLUMNS} FROM {g}.facts WHERE service = 'registry' AND uscc = ANY($1) "
        "AND event_type = ANY($2)",
        keys,
        sorted(folded_types()),
    )
    versions = versions_of(agency_facts(rows))
    await store_agencies(conn, generation, keys, current(versions))
    await store_versions(conn, generation, keys, versions)


async def store_agencies(
    conn: Connection, generation: str, keys: Sequence[str], views: Mapping[str, AgencyView]
) -> None:
    """These agencies' summaries as `views` has them (upserted; versions.current)."""
    g = checked_generation(generation)
    agencies = [views[k] for k in keys if k in views]
    if not agencies:
        return
    await conn.execute(
        f"INSERT INTO {g}.agencies ({_AGENCY_COLUMNS}) SELECT * FROM unnest("
        "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[], "
        "$8::bool[]) ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
        "reporting_unit = excluded.reporting_unit, status = excluded.status, "
        "status_since = excluded.status_since, registered_on = excluded.registered_on, "
        "priority = excluded.priority",
        [a.uscc for a in agencies],
        [a.name for a in agencies],
        [a.kind for a in agencies],
        [a.reporting_unit for a in agencies],
        [a.status for a in agencies],
        [a.status_since for a in agencies],
        [a.registered_on for a in agencies],
        [a.priority for a in agencies],
    )


async def store_versions(
    conn: Connection, generation: str, keys: Sequence[str], versions: Sequence[AgencyVersion]
) -> None:
    """These agencies' versions replaced by `versions` (all of theirs)."""
    rows = [
        (
            v.view.uscc,
            *version_times(v),
            v.view.name,
            v.view.kind,
            v.view.reporting_unit,
            v.view.registered_on,
            v.view.status,
            v.view.status_since,
            v.view.priority,
            list(v.view.service_fields),
            list(v.view.target_groups),
        )
        for v in versions
    ]
    await replace_versions(conn, generation, "agency_versions", keys, _VERSION_COLUMNS, rows)


async def replace_versions(
    conn: Connection,
    generation: str,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """These entities' versions in one kind's `table` replaced by `rows` (all of theirs: each
    its key, `version_times`, then its view's columns, as `columns` names them; the first is
    the key). Runs inside the caller's transaction, as every projection write: the versions
    and the facts they come from are committed together."""
    g = checked_generation(generation)
    if keys:
        await conn.execute(f"DELETE FROM {g}.{table} WHERE {columns[0]} = ANY($1)", list(keys))
    await conn.copy_records_to_table(table, schema_name=g, columns=columns, records=rows)


def version_times(v: Version[Any]) -> tuple[Any, ...]:
    """A version's valid from / to and recorded from / to, as each kind's table stores them."""
    return (v.valid_from, v.valid_to, v.recorded_from, v.recorded_to)


_VERSION_COLUMNS = (
    "uscc",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "name",
    "kind",
    "reporting_unit",
    "registered_on",
    "status",
    "status_since",
    "priority",
    "service_fields",
    "target_groups",
)
# The versions a fold as of $1 (recorded by $2, NULL: every fact) holds: one per agency at most.
_VERSIONS_AT = (
    "valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) AND CASE WHEN $2::timestamptz "
    "IS NULL THEN recorded_to IS NULL ELSE recorded_from <= $2 AND (recorded_to IS NULL OR "
    "recorded_to > $2) END"
)


async def coverage_counts(
    conn: Connection, generation: str, day: dt.date, recorded_until: dt.datetime | None
) -> dict[tuple[str, str, str], int]:
    """`reports.coverage_counts` of the state a fold as of the cut-off holds, from the agency
    versions (no fold): live agencies by (unit, dimension, item), an item counted once an
    agency. PostgreSQL counts the live agencies by (unit, list of codes), both lists in one
    scan; each list's codes are added up here (an unnest of every agency's codes in SQL took
    four times as long at 1M facts)."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        "SELECT reporting_unit, target_groups, service_fields, GROUPING(target_groups), "
        f"count(*) FROM {g}.agency_versions WHERE status IN {_LIVE} AND {_VERSIONS_AT} "
        "GROUP BY GROUPING SETS ((reporting_unit, target_groups), "
        "(reporting_unit, service_fields))",
        day,
        recorded_until,
    )
    counts: dict[tuple[str, str, str], int] = {}
    for unit, groups, fields, by_field, agencies in rows:
        dimension, listed = ("service_field", fields) if by_field else ("target_group", groups)
        for code in set(listed):
            key = (unit, dimension, code)
            counts[key] = counts.get(key, 0) + agencies
    return counts


async def agency_views_at(
    conn: Connection,
    generation: str,
    day: dt.date,
    recorded_until: dt.datetime | None,
    usccs: Sequence[str] | None = None,
) -> dict[str, AgencyView]:
    """`state.agencies` of a fold as of the cut-off, from the agency versions (no fold); with
    `usccs`, only these agencies' (by the versions' key)."""
    g = checked_generation(generation)
    every = f"SELECT {_VIEW_COLUMNS} FROM {g}.agency_versions WHERE {_VERSIONS_AT}"
    if usccs is None:
        rows = await conn.fetch(every, day, recorded_until)
    else:
        # One key lookup an agency (OFFSET 0 keeps the subquery apart): the planner's hash join
        # read all 57k versions at 1M for a half-year's 1.3k late agencies (6-16 ms against
        # 50-150 at load 9).
        rows = await conn.fetch(
            f"SELECT v.* FROM unnest($3::text[]) AS asked(uscc) CROSS JOIN LATERAL ({every} "
            "AND uscc = asked.uscc OFFSET 0) v",
            day,
            recorded_until,
            list(usccs),
        )
    return {
        r[0]: AgencyView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], codes(r[8]), codes(r[9]))
        for r in rows
    }


# AgencyView's fields in its order.
_VIEW_COLUMNS = (
    "uscc, name, kind, reporting_unit, registered_on, status, status_since, priority, "
    "service_fields, target_groups"
)
_LIVE = "({})".format(", ".join(f"'{s}'" for s in LIVE_STATUSES))


async def load_facts(
    conn: Connection,
    generation: str,
    *,
    effective_until: dt.date | None,
    recorded_until: dt.datetime | None,
) -> list[Fact]:
    """The facts a report sees: happened by a date and/or recorded by an instant."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT {_FACT_COLUMNS} FROM {g}.facts "
        "WHERE ($1::date IS NULL OR effective_on <= $1) "
        "AND ($2::timestamptz IS NULL OR recorded_at <= $2)",
        effective_until,
        recorded_until,
    )
    return [_fact(r) for r in rows]


# The fold's order (state.sort_key) in SQL: "C" collation compares event ids by code point, as
# Python compares str.
_FOLD_ORDER = 'ORDER BY effective_on, occurred_at, recorded_at, event_id COLLATE "C"'
_AS_OF = "effective_on <= $1 AND ($2::timestamptz IS NULL OR recorded_at <= $2)"
# Facts committed after a snapshot ($3): from the tx index, only the recent rows are read.
_SINCE = (
    "tx >= pg_snapshot_xmin($3::text::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(tx, $3::text::pg_snapshot)"
)


# What a fold reads of a fact: its type, its effective date, its sort key and the payload as
# JSON text (validated by pydantic-core straight from the text; no dict in between).
FoldRow = tuple[str, int, dt.date, dt.datetime, dt.datetime, str, str]
_FOLD_COLUMNS = (
    "event_type, event_version, effective_on, occurred_at, recorded_at, event_id, data::text"
)


async def fold_rows_in_order(
    conn: Connection,
    generation: str,
    cutoff: dt.date,
    recorded_until: dt.datetime | None,
    types: Sequence[str],
    after: dt.date | None = None,
) -> FoldBatches:
    """The facts of these types a report sees, streamed in fold order in batches (never all in
    memory; a row at a time, the cursor's checks and the generator's steps were a tenth of a
    fold's time, issue 12); with `after`, only those taking effect after that day (a state as
    of it is extended). The first batch is asked for before this returns: PostgreSQL reads and
    sorts the facts (0.25 s for a quarter's at 1M) while the caller restores the kept state
    they extend.

    Runs inside the caller's transaction (a cursor needs one); the caller closes the batches.
    """
    g = checked_generation(generation)
    query = (
        f"SELECT {_FOLD_COLUMNS} FROM {g}.facts WHERE {_AS_OF} "
        "AND ($4::date IS NULL OR effective_on > $4) "
        f"AND event_type = ANY($3::text[]) {_FOLD_ORDER}"
    )
    arguments = (cutoff, recorded_until, list(types), after)
    return await FoldBatches.opened(await conn.cursor(query, *arguments))


class FoldBatches:
    """A fold's facts in batches, each next one asked for before the caller folds the last
    (PostgreSQL sends it meanwhile): `async for` them, then `aclose`."""

    def __init__(self, cursor: asyncpg.cursor.Cursor[asyncpg.Record]) -> None:
        self._cursor = cursor
        self._next: asyncio.Future[list[asyncpg.Record]] | None = None

    @classmethod
    async def opened(cls, cursor: asyncpg.cursor.Cursor[asyncpg.Record]) -> FoldBatches:
        batches = cls(cursor)
        await batches._ask()
        return batches

    async def _ask(self) -> None:
        """The next batch's fetch started and its request sent: one pass of the event loop
        lets the new task run to its first wait (no timed wait), so PostgreSQL works while the
        caller does CPU work without awaiting (a restore's decode, the fold of a batch)."""
        self._next = asyncio.ensure_future(self._cursor.fetch(FOLD_BATCH))
        await asyncio.sleep(0)

    def __aiter__(self) -> FoldBatches:
        return self

    async def __anext__(self) -> list[FoldRow]:
        assert self._next is not None  # asked for when opened
        rows = await self._next
        if not rows:
            raise StopAsyncIteration
        await self._ask()
        return list(map(tuple, rows))  # Records of exactly the FoldRow columns

    async def aclose(self) -> None:
        """Wait for the fetch in flight: the connection runs one statement at a time. Its
        error, if any, was the caller's already (or the caller is leaving with its own)."""
        if self._next is not None:
            with contextlib.suppress(Exception):
                await self._next


FOLD_BATCH = 2_000  # rows: a batch's payloads are a fold's transient memory (~3 MB)


async def fold_rows_since(
    conn: Connection,
    generation: str,
    snapshot: str,
    cutoff: dt.date,
    recorded_until: dt.datetime | None,
    types: Sequence[str],
) -> list[FoldRow]:
    """Facts within a cut-off committed after `snapshot` (pg_current_snapshot() text), in order."""
    where = f"{_AS_OF} AND {_SINCE} AND event_type = ANY($4::text[])"
    return await _fold_rows(conn, generation, where, cutoff, recorded_until, snapshot, list(types))


async def _fold_rows(conn: Connection, generation: str, where: str, *args: Any) -> list[FoldRow]:
    """The facts matching `where`, as fold rows in fold order (all at once: few of them)."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT {_FOLD_COLUMNS} FROM {g}.facts WHERE {where} {_FOLD_ORDER}", *args
    )
    return [tuple(r) for r in rows]  # Records of exactly the FoldRow columns


async def any_fact_between(
    conn: Connection,
    generation: str,
    after: dt.date,
    until: dt.date,
    recorded_until: dt.datetime | None,
    types: Sequence[str],
) -> bool:
    """Whether a fact within the recording cut-off takes effect after `after` and by `until`:
    if none does, the folds as of either day are the same (one index range of facts_fold)."""
    g = checked_generation(generation)
    found: bool = await conn.fetchval(
        f"SELECT EXISTS (SELECT FROM {g}.facts WHERE effective_on > $1 AND effective_on <= $2 "
        "AND ($3::timestamptz IS NULL OR recorded_at <= $3) AND event_type = ANY($4::text[]))",
        after,
        until,
        recorded_until,
        list(types),
    )
    return found


class Checkpoint(NamedTuple):
    day: dt.date
    snapshot: str
    last_recorded: dt.datetime | None  # the latest recording among its facts
    state: bytes
    # The latest among its facts that are not agency facts (None: unknown, or none of them).
    last_recorded_other: dt.datetime | None = None


# A kept row's `last_recorded_other` if this build wrote it with the row's state, else NULL.
_OTHER = "(CASE WHEN other_in = snapshot THEN last_recorded_other END)"


# A fact committed after the kept row `c`'s snapshot (from the tx index, recent rows alone).
_SINCE_KEPT = (
    "tx >= pg_snapshot_xmin(c.snapshot::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(tx, c.snapshot::pg_snapshot)"
)


async def checkpoint_before(
    conn: Connection,
    generation: str,
    layout: str,
    cutoff: dt.date,
    recorded_until: dt.datetime | None,
    types: Sequence[str],
) -> Checkpoint | None:
    """The latest stored state as of a day on or before `cutoff` that is, or can be made by
    folding some agencies again, the fold of the facts this snapshot sees within its day and
    `recorded_until`: every fact it folded that is not an agency fact was recorded by then (a
    row without that instant: every fact), and no fact of these types within that cut-off was
    committed after it. The caller folds again the agencies `late_agencies` names
    when `last_recorded` is after `recorded_until`."""
    g = checked_generation(generation)
    row = await conn.fetchrow(
        f"SELECT day, snapshot, last_recorded, state, {_OTHER} FROM {g}.checkpoints c "
        "WHERE day <= $2 AND ($3::timestamptz IS NULL "
        f"OR coalesce(coalesce({_OTHER}, last_recorded) <= $3, true)) AND {_still_exact(g)} "
        "ORDER BY day DESC LIMIT 1",
        layout,
        cutoff,
        recorded_until,
        list(types),
    )
    return None if row is None else Checkpoint(*row)


async def checkpoint_with_late_agencies(
    conn: Connection, generation: str, layout: str, cutoff: dt.date, types: Sequence[str]
) -> tuple[Checkpoint, list[str]] | None:
    """The latest stored state as of a day on or before `cutoff` whose facts committed since
    (of these types, within its day) are agency facts alone, with their credit codes: folded
    again with all their agency facts within its day, those agencies make it the fold of every
    fact this snapshot sees (the premise of `checkpoint_before`'s by-recording route: an agency
    fact changes its agency's view alone). A backdated registration made every state after its
    day inexact, and the next answer as of today folded from before it (1M: 7 s)."""
    g = checked_generation(generation)
    row = await conn.fetchrow(
        f"SELECT day, snapshot, last_recorded, state, {_OTHER}, ARRAY(SELECT DISTINCT uscc "
        f"FROM {g}.facts WHERE effective_on <= c.day AND event_type = ANY($3::text[]) "
        f"AND {_SINCE_KEPT} AND uscc IS NOT NULL) FROM {g}.checkpoints c "
        f"WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        f"AND day <= $2 AND NOT EXISTS (SELECT 1 FROM {g}.facts WHERE effective_on <= c.day "
        f"AND event_type = ANY($3::text[]) AND NOT ({_AGENCY} AND uscc IS NOT NULL) "
        f"AND {_SINCE_KEPT}) "
        "ORDER BY day DESC LIMIT 1",
        layout,
        cutoff,
        list(types),
    )
    return None if row is None else (Checkpoint(*row[:5]), list(row[5]))


def _still_exact(g: str, recorded: str = "$3") -> str:
    """A kept row ($1: the layout) of this table whose state is the fold of every fact of
    these types ($4) this snapshot sees within its day and the recording cut-off (`recorded`,
    NULL: none): none of them was committed after the row's snapshot."""
    return (
        f"filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        f"AND NOT EXISTS (SELECT 1 FROM {g}.facts WHERE effective_on <= c.day "
        f"AND ({recorded}::timestamptz IS NULL OR recorded_at <= {recorded}) "
        f"AND event_type = ANY($4::text[]) AND {_SINCE_KEPT})"
    )


class KeptFigures(NamedTuple):
    """The half-year figures kept with a state (`kept_half_year`)."""

    figures: str  # JSON: kept_figures.kept_half_year
    late: str | None  # JSON: kept_figures.late_at
    last_recorded: dt.datetime | None  # the latest recording among the state's facts


async def kept_half_year(
    conn: Connection,
    generation: str,
    layout: str,
    day: dt.date,
    recorded_until: dt.datetime | None,
    types: Sequence[str],
    figures_layout: str,
) -> KeptFigures | None:
    """The half-year figures kept with the state as of `day` (its period's end), if that state
    is the fold this snapshot sees within the cut-off: no fact within it committed since. With
    a recording cut-off before the state's last recording, no fact of its day committed since
    at all: the agencies' views in this snapshot are then the state's (`reports.late_shift`).
    None otherwise (the report is folded)."""
    g = checked_generation(generation)
    within = "(CASE WHEN c.last_recorded <= $3 THEN $3 END)"  # NULL: every recording
    row = await conn.fetchrow(
        f"SELECT half_year, half_year_late, last_recorded FROM {g}.checkpoints c "
        f"WHERE day = $2 AND half_year_in = $5 || ' ' || snapshot AND {_still_exact(g, within)}",
        layout,
        day,
        recorded_until,
        list(types),
        figures_layout,
    )
    return None if row is None else KeptFigures(*row)


async def store_checkpoint(
    conn: Connection,
    generation: str,
    layout: str,
    filenode: int,
    checkpoint: Checkpoint,
    half_year: HalfYearKept | None = None,
) -> None:
    """Keep a folded state; another of the same day is replaced (either was exact when read,
    and the next fold past that day writes it again if a late fact has changed it since).
    With `half_year`, its half-year figures beside it."""
    g = checked_generation(generation)
    figures_layout, figures, late = half_year or (None, None, None)
    await conn.execute(
        f"INSERT INTO {g}.checkpoints (filenode, layout, day, snapshot, last_recorded, state, "
        "last_recorded_other, other_in, half_year, half_year_in, half_year_late) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $4, $9, $8 || ' ' || $4, $10) "
        "ON CONFLICT (filenode, layout, day) DO UPDATE "
        "SET snapshot = excluded.snapshot, last_recorded = excluded.last_recorded, "
        "state = excluded.state, last_recorded_other = excluded.last_recorded_other, "
        "other_in = excluded.other_in, half_year = excluded.half_year, "
        "half_year_in = excluded.half_year_in, half_year_late = excluded.half_year_late",
        filenode,
        layout,
        *checkpoint,
        figures_layout,
        figures,
        late,
    )


async def prune_kept(
    conn: Connection, generation: str, states_layout: str, figures_layout: str
) -> dict[str, int]:
    """Delete the kept rows this build never reads: the states (`checkpoints`) and the day
    figures (`recorded_figures`) of another build's code (a layout other than this build's) and
    those kept before a reset (another file node of the facts); how many, a table. For an
    operator once every instance runs this build: an older instance still running keeps its own
    again, a fold at a time."""
    g = checked_generation(generation)
    deleted: dict[str, int] = {}
    for table, layout in (("checkpoints", states_layout), ("recorded_figures", figures_layout)):
        status: str = await conn.execute(
            f"DELETE FROM {g}.{table} WHERE layout <> $1 "
            f"OR filenode <> pg_relation_filenode('{g}.facts'::regclass)",
            layout,
        )
        deleted[table] = int(status.rpartition(" ")[2])
    return deleted


class HalfYearKept(NamedTuple):
    """What is kept beside a state at a half-year end (kept_figures.kept_half_year)."""

    layout: str  # the figures' code: kept_figures.half_year_layout
    figures: str
    late: str


class LateAgencies(NamedTuple):
    """The agencies with agency facts taking effect by a day recorded `after` an instant."""

    after: dt.datetime | None  # None: any agency fact
    recorded: dict[str, dt.datetime]  # credit code -> the latest recording of them


async def late_agencies(
    conn: Connection, generation: str, day: dt.date, after: dt.datetime | None
) -> LateAgencies:
    """The agencies with agency facts taking effect by `day` recorded `after` an instant: after
    a by-recording cut-off, those a state as of `day` holding them folds again for it
    (`agency_fold_rows`); after the latest recording of its other facts, those its half-year
    figures are shifted by for such a cut-off (kept_figures.kept_half_year)."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT uscc, max(recorded_at) FROM {g}.facts WHERE {_AGENCY} AND effective_on <= $1 "
        "AND ($2::timestamptz IS NULL OR recorded_at > $2) AND uscc IS NOT NULL GROUP BY uscc",
        day,
        after,
    )
    return LateAgencies(after, {r[0]: r[1] for r in rows})


async def kept_days(conn: Connection, generation: str, layout: str) -> list[KeptDay]:
    """The days of this table's kept states, with each row's snapshot and whether its half-year
    figures are those of `figures_layout`'s code: the figures a re-keep's look gives."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT day, snapshot, half_year_in, coalesce({_OTHER}, last_recorded) "
        f"FROM {g}.checkpoints "
        f"WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        "ORDER BY day",
        layout,
    )
    return [KeptDay(*r) for r in rows]


class KeptDay(NamedTuple):
    day: dt.date
    snapshot: str
    half_year_in: str | None  # the figures' layout and the snapshot they were computed in
    other: dt.datetime | None  # the latest recording of its facts that are not agency facts

    def figured_by(self, figures_layout: str) -> bool:
        return self.half_year_in == f"{figures_layout} {self.snapshot}"


async def kept_state(conn: Connection, generation: str, layout: str, kept: KeptDay) -> bytes | None:
    """The state kept as of `kept.day`, while its row is still that snapshot's."""
    g = checked_generation(generation)
    state: bytes | None = await conn.fetchval(
        f"SELECT state FROM {g}.checkpoints "
        f"WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        "AND day = $2 AND snapshot = $3",
        layout,
        kept.day,
        kept.snapshot,
    )
    return state


async def store_half_year(
    conn: Connection, generation: str, layout: str, kept: KeptDay, half_year: HalfYearKept
) -> bool:
    """The half-year figures of the state kept as of `kept.day`, stored beside it while its
    row is still that snapshot's (else a re-keep has replaced it, with figures of its own):
    whether they were."""
    g = checked_generation(generation)
    done = await conn.execute(
        f"UPDATE {g}.checkpoints SET half_year = $5, half_year_in = $4 || ' ' || snapshot, "
        "half_year_late = $6 "
        f"WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        "AND day = $2 AND snapshot = $3",
        layout,
        kept.day,
        kept.snapshot,
        *half_year,
    )
    return bool(done == "UPDATE 1")


async def late_since(
    conn: Connection, generation: str, layout: str, snapshot: str | None, types: Sequence[str]
) -> tuple[str, bool]:
    """The current snapshot, and whether a fact of these types committed after `snapshot` (None:
    any fact) takes effect on or before the last kept day: one index lookup of the facts
    committed since, the cheap test before `inexact_checkpoints` (rekeep.py)."""
    g = checked_generation(generation)
    since = "true" if snapshot is None else _SINCE
    row = await conn.fetchrow(
        f"SELECT pg_current_snapshot()::text, EXISTS (SELECT 1 FROM {g}.facts "
        f"WHERE {since} AND event_type = ANY($2::text[]) AND effective_on <= (SELECT max(day) "
        f"FROM {g}.checkpoints WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) "
        "AND layout = $1))",
        layout,
        list(types),
        *([] if snapshot is None else [snapshot]),
    )
    assert row is not None  # a SELECT without FROM gives one row
    return row[0], row[1]


async def inexact_checkpoints(
    conn: Connection, generation: str, layout: str, types: Sequence[str]
) -> list[dt.date]:
    """The days of the kept states that a fact of these types within their day, committed
    after they were kept, has made inexact (`checkpoint_before`'s test, by occurrence): the
    states a re-keep folds again (foldworker.keep_again)."""
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT day FROM {g}.checkpoints c "
        f"WHERE filenode = pg_relation_filenode('{g}.facts'::regclass) AND layout = $1 "
        f"AND EXISTS (SELECT 1 FROM {g}.facts WHERE effective_on <= c.day "
        f"AND event_type = ANY($2::text[]) AND {_SINCE_KEPT}) ORDER BY day",
        layout,
        list(types),
    )
    return [r["day"] for r in rows]


async def agency_fold_rows(
    conn: Connection,
    generation: str,
    usccs: Sequence[str],
    day: dt.date,
    recorded_until: dt.datetime | None,
) -> list[FoldRow]:
    """These agencies' agency facts within the cut-off (`day`, `recorded_until`), in fold order."""
    where = f"service = 'registry' AND uscc = ANY($3) AND {_AGENCY} AND {_AS_OF}"
    return await _fold_rows(conn, generation, where, day, recorded_until, list(usccs))


class Check(NamedTuple):
    """A held answer checked against the database (`still_exact`)."""

    generation: str  # the current generation
    filenode: int  # the file node of the checked generation's facts table
    snapshot: str | None  # the current snapshot if the answer is still exact in it, else None
    at: dt.datetime  # the database's clock when the check ran


async def still_exact(
    conn: Connection,
    generation: str,
    snapshot: str,
    cutoff: dt.date,
    recorded_until: dt.datetime | None,
) -> Check:
    """A held answer's check in one round trip, all from one statement (hence one snapshot):
    an answer read in `snapshot` is still exact if no fact within its cut-off was committed
    after it (facts are never updated or deleted, see `facts_filenode`); the caller then keeps
    the newer snapshot, so the next check reads only the facts committed after it. The answer
    holds only if `generation` is still the current one with the same file node."""
    g = checked_generation(generation)
    row = await conn.fetchrow(
        f"SELECT (SELECT current FROM {CONTROL}.generation), "
        f"pg_relation_filenode('{g}.facts'::regclass), "
        f"CASE WHEN EXISTS (SELECT 1 FROM {g}.facts WHERE {_AS_OF} AND {_SINCE}) "
        "THEN NULL ELSE pg_current_snapshot()::text END, statement_timestamp()",
        cutoff,
        recorded_until,
        snapshot,
    )
    assert row is not None  # a SELECT without FROM gives one row
    return Check(row[0], row[1], row[2], row[3])


async def facts_filenode(conn: Connection, generation: str) -> int:
    """The facts table's storage file: a TRUNCATE (a reset) gives it a new one, so a cached
    answer keyed by it is not served from before a reset."""
    g = checked_generation(generation)
    node: int = await conn.fetchval("SELECT pg_relation_filenode($1::regclass)", f"{g}.facts")
    return node


async def facts_estimate(conn: Connection, generation: str) -> int:
    """The planner's row estimate of the facts table (kept by autovacuum; no scan)."""
    g = checked_generation(generation)
    estimate: float = await conn.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", f"{g}.facts"
    )
    return max(int(estimate), 0)


async def registry_usccs(conn: Connection, generation: str) -> list[str]:
    g = checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT DISTINCT uscc FROM {g}.facts WHERE service = 'registry' AND uscc IS NOT NULL"
    )
    return [r["uscc"] for r in rows]


async def get_agency(conn: Connection, generation: str, uscc: str) -> dict[str, Any] | None:
    g = checked_generation(generation)
    row = await conn.fetchrow(f"SELECT {_AGENCY_COLUMNS} FROM {g}.agencies WHERE uscc = $1", uscc)
    return dict(row) if row is not None else None


async def list_agencies(
    conn: Connection, generation: str, unit: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    g = checked_generation(generation)
    where = "($1::text IS NULL OR reporting_unit = $1)"
    total: int = await conn.fetchval(f"SELECT count(*) FROM {g}.agencies WHERE {where}", unit)
    rows = await conn.fetch(
        f"SELECT {_AGENCY_COLUMNS} FROM {g}.agencies WHERE {where} "
        "ORDER BY registered_on, uscc LIMIT $2 OFFSET $3",
        unit,
        limit,
        offset,
    )
    return total, [dict(r) for r in rows]


# What `checksum` hashes: each table, its columns, its order (bytewise: the same whatever
# collation a generation's key column has). The versions are a function of the facts, as the
# summaries: a generation made before them has none, and differs there until its next replay.
_HASHED = (
    ("facts", _FACT_COLUMNS, 'event_id COLLATE "C"'),
    ("agencies", _AGENCY_COLUMNS, 'uscc COLLATE "C"'),
    (
        "agency_versions",
        ", ".join(_VERSION_COLUMNS),
        'uscc COLLATE "C", recorded_from, valid_from',
    ),
    *place_tables.HASHED,
    (
        "listing_versions",
        ", ".join(LISTING_COLUMNS),
        'listing_id COLLATE "C", recorded_from, valid_from',
    ),
)


async def checksum(conn: Connection, generation: str) -> dict[str, Any]:
    """A deterministic hash of every projection row, in key order (live vs rebuilt).

    Runs inside the caller's transaction (a cursor needs one; a repeatable-read one lets the
    caller hash two generations and read the checkpoints in one snapshot).
    """
    g = checked_generation(generation)
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    tables: dict[str, str] = {}
    for table, columns, key in _HASHED:
        n = 0
        own = hashlib.sha256()
        cursor = conn.cursor(f"SELECT {columns} FROM {g}.{table} ORDER BY {key}")
        async for row in cursor:
            values = [json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row]
            line = repr(values).encode() + b"\n"
            digest.update(line)
            own.update(line)
            n += 1
        counts[table] = n
        tables[table] = own.hexdigest()
        digest.update(f"--{table}:{n}--".encode())
    return {"generation": g, "sha256": digest.hexdigest(), "rows": counts, "tables": tables}


# -- replay bookkeeping: checkpoints of the bulk replay and the switch-over ---------------------


async def replay_offsets(conn: Connection, consumer: str) -> dict[tuple[str, int], int]:
    rows = await conn.fetch(
        f"SELECT topic, partition, next_offset FROM {CONTROL}.consumer_offsets WHERE consumer = $1",
        consumer,
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def offsets_total(conn: Connection, consumer: str) -> int:
    """Sum of a consumer's checkpoints: grows with every applied batch (a cache key)."""
    total: int = await conn.fetchval(
        f"SELECT coalesce(sum(next_offset), 0) FROM {CONTROL}.consumer_offsets WHERE consumer = $1",
        consumer,
    )
    return total


async def save_offsets(
    conn: Connection, consumer: str, offsets: dict[tuple[str, int], int]
) -> None:
    await conn.executemany(
        f"INSERT INTO {CONTROL}.consumer_offsets (consumer, topic, partition, next_offset) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, topic, partition) DO UPDATE "
        "SET next_offset = excluded.next_offset, updated_at = clock_timestamp()",
        [(consumer, t, p, o) for (t, p), o in offsets.items()],
    )


StreamVersions = dict[tuple[str, str, str], tuple[int, str, int]]
_STREAM_COLUMNS = ("topic", "store_id", "stream_id", "version", "event_id", "offset")


async def append_stream_versions(
    conn: Connection, generation: str, streams: StreamVersions
) -> None:
    """A replay batch's stream versions ((topic, store id, stream id) -> (version, event id,
    offset)), appended: no key to look up and update per stream while loading (an upsert per
    stream and batch cost PostgreSQL ≈14 µs a row, ≈1.9 CPU s at 1M events); the switch takes
    each stream's highest."""
    if streams:
        await conn.copy_records_to_table(
            "replay_streams",
            schema_name=checked_generation(generation),
            columns=_STREAM_COLUMNS,
            records=[(*key, *seen) for key, seen in streams.items()],
        )


def replay_streams_index_ddl(generation: str) -> str:
    """Built after a bulk load: the switch reads each stream's highest version in the order of
    the consumer's key, so that its insert of them goes along that key's index."""
    g = checked_generation(generation)
    return (
        f"CREATE INDEX IF NOT EXISTS replay_streams_last ON {g}.replay_streams "
        '(topic, store_id, stream_id, version DESC, "offset")'
    )


async def record_skipped(conn: Connection, consumer: str, rows: list[tuple[str, str, str]]) -> None:
    await conn.executemany(
        f"INSERT INTO {CONTROL}.skipped_events (consumer, event_id, event_type, reason) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(consumer, *r) for r in rows],
    )


async def record_dead_letters(
    conn: Connection, consumer: str, rows: list[tuple[str, int, int, str | None, bytes, str]]
) -> None:
    await conn.executemany(
        f'INSERT INTO {CONTROL}.dead_letters (consumer, topic, partition, "offset", key, value, '
        "reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(consumer, *r) for r in rows],
    )


def replay_consumer(generation: str) -> str:
    """The checkpoint name of a replay into `generation`."""
    return f"reporting.replay.{generation}"


async def drop_generation(conn: Connection, generation: str) -> None:
    """The generation's tables and its replay's checkpoints. Left behind, a later generation of
    the same name (the next after a dropped newest one: a failed rebuild's, a checksum's
    scratch) took them for its own, read nothing and was switched to empty
    (test_rebuild_over_http.py)."""
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {checked_generation(generation)} CASCADE")
        await conn.execute(
            f"DELETE FROM {CONTROL}.consumer_offsets WHERE consumer = $1",
            replay_consumer(generation),
        )


async def switch_generation(
    conn: Connection,
    *,
    new: str,
    live_consumer: str,
    offsets: dict[tuple[str, int], int],
) -> bool:
    """In one transaction: point readers and the live consumer at `new` from its offsets.

    Refused (False) while the live consumer is ahead of the rebuilt one on any partition: the
    caller catches up once more and retries, so no event falls between the two.
    """
    async with conn.transaction():
        # The live consumer's order: its partitions' locks, then the generation. The other
        # order deadlocks with a live batch, which then dead-letters a valid event.
        known = (
            f"SELECT topic, partition, next_offset FROM {CONTROL}.consumer_offsets "
            "WHERE consumer = $1"
        )
        partitions = {(r["topic"], r["partition"]) for r in await conn.fetch(known, live_consumer)}
        # Imported here: the fold workers import this module, and the consumer's Kafka client
        # and FastStream were 20 MB of each worker's RSS (issue 12).
        from servicekit.consumer import hold_partitions

        await hold_partitions(conn, CONTROL, live_consumer, partitions | set(offsets))
        live = await conn.fetch(known, live_consumer)  # after the locks: what batches committed
        await current_generation(conn, lock=True)
        if any(r["next_offset"] > offsets.get((r["topic"], r["partition"]), 0) for r in live):
            return False
        await conn.execute(
            f"UPDATE {CONTROL}.generation SET current = $1, switched_at = clock_timestamp()",
            checked_generation(new),
        )
        # The replay that built `new` kept every agency's versions with its summaries.
        await mark_versions_built(conn, new)
        await save_offsets(conn, live_consumer, offsets)
        # The live consumer continues where the rebuild stopped: it expects, per stream, the
        # version after the rebuild's highest, held by the first event read with it.
        await conn.execute(
            f"DELETE FROM {CONTROL}.consumer_streams WHERE consumer = $1", live_consumer
        )
        await conn.execute(
            f"INSERT INTO {CONTROL}.consumer_streams (consumer, topic, store_id, stream_id, "
            "version, event_id) SELECT DISTINCT ON (topic, store_id, stream_id) $1, topic, "
            f"store_id, stream_id, version, event_id FROM {checked_generation(new)}.replay_streams "
            'ORDER BY topic, store_id, stream_id, version DESC, "offset"',
            live_consumer,
        )
    return True


async def generations(conn: Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname ~ '^reporting_g[0-9]+$'"
    )
    return sorted((r["nspname"] for r in rows), key=lambda n: int(n.removeprefix("reporting_g")))
