"""The registry's query table, kept in step with the events inside the append transaction."""

from __future__ import annotations

from typing import Any

from servicekit.db import Connection
from servicekit.eventstore.store import InlineProjection, InlineRow
from services.registry.domain.agency import Agency

SCHEMA = "registry"

DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.agencies (
    uscc                 text PRIMARY KEY,
    name                 text NOT NULL,
    kind                 text NOT NULL,
    reporting_unit       text NOT NULL,
    county_code          text,
    address              text NOT NULL,
    legal_representative text NOT NULL,
    sponsor              text,
    charter_purpose      text NOT NULL,
    charter_scope        text NOT NULL,
    charter_method       text NOT NULL,
    full_time_staff      integer NOT NULL,
    qualified_staff      integer NOT NULL,
    service_fields       text[] NOT NULL,
    target_groups        text[] NOT NULL,
    priority             boolean NOT NULL,
    registered_on        date NOT NULL,
    status               text NOT NULL,
    suspended_until      date,
    version              integer NOT NULL,
    updated_position     bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS agencies_unit ON {SCHEMA}.agencies (reporting_unit, status);
"""

_FIELDS = tuple(Agency.__dataclass_fields__)
_UPDATED = [c for c in (*_FIELDS, "version", "updated_position") if c != "uscc"]
# The agencies' new states from `$rows`, each at its stream's last appended version and position.
_UPSERT = (
    f"INSERT INTO {SCHEMA}.agencies AS a ({', '.join(_FIELDS)}, version, updated_position) "
    f"SELECT {', '.join(f'r.{f}' for f in _FIELDS)}, e.version, e.position "
    f"FROM jsonb_populate_recordset(NULL::{SCHEMA}.agencies, $rows::jsonb) AS r "
    "CROSS JOIN LATERAL (SELECT max(ins.stream_version) AS version, max(ins.position) AS position "
    "FROM ins WHERE ins.stream_id = r.uscc) AS e "
    f"ON CONFLICT (uscc) DO UPDATE SET "
    f"{', '.join(f'{c} = excluded.{c}' for c in _UPDATED)} "
    "WHERE a.version < excluded.version"
)


def upsert_agency(agency: Agency) -> InlineProjection:
    """An inline projection writing the agency's new state with the events that produced it
    (in a group's batch, inside the events' insert: one statement for all its agencies)."""
    # Field by field, not `asdict`: its deep copy was 5% of the registry's busy loop under
    # load (issue 12); the fields are plain values (dates, tuples) pydantic-core writes as JSON.
    return InlineRow(_UPSERT, {f: getattr(agency, f) for f in _FIELDS})


async def find_agencies(
    conn: Connection,
    *,
    reporting_unit: str | None,
    kind: str | None,
    status: str | None,
    service_field: str | None,
    target_group: str | None,
    priority: bool | None,
    name_contains: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where = """
        ($1::text IS NULL OR reporting_unit = $1) AND ($2::text IS NULL OR kind = $2)
        AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR $4 = ANY(service_fields))
        AND ($5::text IS NULL OR $5 = ANY(target_groups)) AND ($6::bool IS NULL OR priority = $6)
        AND ($7::text IS NULL OR strpos(name, $7) > 0)
    """
    args = (reporting_unit, kind, status, service_field, target_group, priority, name_contains)
    total: int = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.agencies WHERE {where}", *args)
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.agencies WHERE {where} ORDER BY registered_on, uscc "
        "LIMIT $8 OFFSET $9",
        *args,
        limit,
        offset,
    )
    return total, [dict(r) for r in rows]


async def get_agency(conn: Connection, uscc: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT * FROM {SCHEMA}.agencies WHERE uscc = $1", uscc)
    return dict(row) if row is not None else None
