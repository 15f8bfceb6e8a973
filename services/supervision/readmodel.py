"""The supervision service's query tables, in its own schema.

`agencies` and `residencies` are fed by the registry's and incubation's topics (consumers.py);
`credit_files`, `rectifications` and `listings` are written inline with each append, so the
scheduled check and the list queries read committed, current state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from servicekit.db import Connection
from servicekit.eventstore import RecordedEvent
from servicekit.eventstore.store import InlineProjection, InlineStatement
from services.supervision.authz import AgencyScope
from services.supervision.domain import rules
from services.supervision.domain.commands import KnownAgency
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.policy import credit_policy

SCHEMA = "supervision"

DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.agencies (
    uscc           text PRIMARY KEY,
    name           text NOT NULL,
    reporting_unit text NOT NULL,
    registered_on  date NOT NULL,
    status         text NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.residencies (
    incubation_id text PRIMARY KEY,
    uscc          text NOT NULL,
    base_id       text NOT NULL,
    started_on    date NOT NULL,
    ended_on      date,
    graduated     boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS residencies_uscc ON {SCHEMA}.residencies (uscc);
-- The agreement's last day (compliance calendar); null for stays recorded before it was kept.
ALTER TABLE {SCHEMA}.residencies ADD COLUMN IF NOT EXISTS term_end date;
CREATE TABLE IF NOT EXISTS {SCHEMA}.credit_files (
    uscc             text PRIMARY KEY,
    version          integer NOT NULL,
    updated_position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.rectifications (
    rectification_id text PRIMARY KEY,
    uscc             text NOT NULL,
    violation_id     text NOT NULL,
    requirements     text NOT NULL,
    deadline         date NOT NULL,
    ordered_on       date NOT NULL,
    status           text NOT NULL,
    overdue_on       date,
    confirmed_on     date
);
CREATE INDEX IF NOT EXISTS rectifications_due ON {SCHEMA}.rectifications (status, deadline);
-- Working years with a conclusion or an overdue report: the clock looks for the others.
CREATE TABLE IF NOT EXISTS {SCHEMA}.annual_reports (
    uscc             text NOT NULL,
    year             integer NOT NULL,
    PRIMARY KEY (uscc, year)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.listings (
    listing_id        text PRIMARY KEY,
    uscc              text NOT NULL,
    list              text NOT NULL,
    ground            text NOT NULL,
    legal_basis       text NOT NULL,
    listed_on         date NOT NULL,
    clock_from        date NOT NULL,
    removed_on        date,
    removal_reason    text,
    auto_exit_on      date,
    escalation_on     date,
    serious_exit_from date
);
CREATE INDEX IF NOT EXISTS listings_open ON {SCHEMA}.listings (list, removed_on);
"""


def _rewrite(table: str, key: str, columns: dict[str, str], source: str) -> str:
    """CTEs that make `table`'s rows of the file (the `file` CTE's uscc) those of `source`, a
    JSON array of rows: the file's others deleted, its kept ones updated, new ones inserted (an
    id another agency's row holds trips the key, as an insert after a delete would)."""
    fields = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    names = ", ".join(columns)
    updates = ", ".join(f"{name} = n.{name}" for name in columns if name != key)
    return f"""
    {table}_rows AS (
        SELECT n.*, file.uscc FROM file, jsonb_to_recordset({source}::jsonb) AS n({fields})
    ), {table}_gone AS (
        DELETE FROM {SCHEMA}.{table} x USING file WHERE x.uscc = file.uscc
        AND x.{key} NOT IN (SELECT {key} FROM {table}_rows)
    ), {table}_kept AS (
        UPDATE {SCHEMA}.{table} x SET {updates} FROM {table}_rows n
        WHERE x.{key} = n.{key} AND x.uscc = n.uscc
    ), {table}_new AS (
        INSERT INTO {SCHEMA}.{table} (uscc, {names}) SELECT n.uscc, {names} FROM {table}_rows n
        WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.{table} x
                          WHERE x.{key} = n.{key} AND x.uscc = n.uscc)
    )"""


_RECTIFICATION = {
    "rectification_id": "text",
    "violation_id": "text",
    "requirements": "text",
    "deadline": "date",
    "ordered_on": "date",
    "status": "text",
    "overdue_on": "date",
    "confirmed_on": "date",
}
_LISTING = {
    "listing_id": "text",
    "list": "text",
    "ground": "text",
    "legal_basis": "text",
    "listed_on": "date",
    "clock_from": "date",
    "removed_on": "date",
    "removal_reason": "text",
    "auto_exit_on": "date",
    "escalation_on": "date",
    "serious_exit_from": "date",
}
# One statement (issue 12: a group's files are projected in one round trip): the file's version
# moves forward, or nothing is written (a replay of an older event).
_PROJECT_FILE = f"""
WITH file AS (
    INSERT INTO {SCHEMA}.credit_files (uscc, version, updated_position) VALUES ($1, $2, $3)
    ON CONFLICT (uscc) DO UPDATE SET version = excluded.version,
        updated_position = excluded.updated_position
    WHERE {SCHEMA}.credit_files.version < excluded.version
    RETURNING uscc
), {_rewrite("rectifications", "rectification_id", _RECTIFICATION, "$4")},
{_rewrite("listings", "listing_id", _LISTING, "$5")}
INSERT INTO {SCHEMA}.annual_reports (uscc, year)
SELECT file.uscc, year FROM file, unnest($6::int[]) AS year
ON CONFLICT DO NOTHING
"""


def project_credit_file(file: CreditFile) -> InlineProjection:
    """Rewrite the file's rectification and listing rows with the events that changed them."""

    def arguments(events: Sequence[RecordedEvent]) -> tuple[Any, ...]:
        last = events[-1]
        rectifications = [
            {
                "rectification_id": r.rectification_id,
                "violation_id": r.violation_id,
                "requirements": r.requirements,
                "deadline": r.deadline,
                "ordered_on": r.ordered_on,
                "status": r.status,
                "overdue_on": r.overdue_on,
                "confirmed_on": r.confirmed_on,
            }
            for r in file.rectifications
        ]
        listings = []
        for x in file.listings:
            policy = credit_policy(x.clock_from)
            listings.append(
                {
                    "listing_id": x.listing_id,
                    "list": x.list,
                    "ground": x.ground,
                    "legal_basis": x.legal_basis,
                    "listed_on": x.listed_on,
                    "clock_from": x.clock_from,
                    "removed_on": x.removed_on,
                    "removal_reason": x.removal_reason,
                    "auto_exit_on": rules.auto_exit_on(x, policy),
                    "escalation_on": rules.escalation_on(x, policy),
                    "serious_exit_from": rules.serious_exit_from(x, policy),
                }
            )
        years = {
            *(i.year for i in file.inspections),
            *file.overdue_reports,
            *(y for y, _day, late in file.filed_reports if not late),
        }
        return (
            file.uscc,
            last.stream_version,
            last.position,
            rectifications,
            listings,
            sorted(years),
        )

    return InlineStatement(_PROJECT_FILE, arguments)


async def known_agency(conn: Connection, uscc: str, on: dt.date | None) -> KnownAgency | None:
    """The agency as the registry told us, with the base it was resident in on `on`."""
    return (await known_agencies(conn, [(uscc, on)]))[0]


async def known_agencies(
    conn: Connection, wanted: Sequence[tuple[str, dt.date | None]]
) -> list[KnownAgency | None]:
    """`known_agency` of each (uscc, day) in one round trip (a group's commands: issue 12)."""
    rows = await conn.fetch(
        f"""
        SELECT w.n, a.uscc, a.name, a.reporting_unit, a.registered_on, a.status,
               (SELECT r.base_id FROM {SCHEMA}.residencies r
                 WHERE w.day IS NOT NULL AND r.uscc = w.uscc AND r.started_on <= w.day
                   AND (r.ended_on IS NULL OR r.ended_on >= w.day)
                 ORDER BY r.started_on DESC LIMIT 1) AS base_id,
               g.base_id AS graduated_from, g.ended_on AS graduated_on
        FROM unnest($1::text[], $2::date[]) WITH ORDINALITY AS w(uscc, day, n)
        JOIN {SCHEMA}.agencies a ON a.uscc = w.uscc
        LEFT JOIN LATERAL (
            SELECT r.base_id, r.ended_on FROM {SCHEMA}.residencies r
            WHERE r.uscc = w.uscc AND r.graduated ORDER BY r.ended_on DESC LIMIT 1
        ) g ON true
        """,
        [uscc for uscc, _ in wanted],
        [day for _, day in wanted],
    )
    found: list[KnownAgency | None] = [None] * len(wanted)
    for row in rows:
        found[row["n"] - 1] = KnownAgency(
            row["uscc"],
            row["name"],
            row["reporting_unit"],
            row["registered_on"],
            row["status"],
            row["base_id"],
            row["graduated_from"],
            row["graduated_on"],
        )
    return found


async def agency_scope(conn: Connection, uscc: str) -> AgencyScope | None:
    """The agency's unit and the bases that incubated it; None when the registry's row is
    missing (never registered, or the table is being rebuilt)."""
    row = await conn.fetchrow(
        f"SELECT a.reporting_unit, array_remove(array_agg(DISTINCT r.base_id), NULL) AS bases "
        f"FROM {SCHEMA}.agencies a LEFT JOIN {SCHEMA}.residencies r USING (uscc) "
        "WHERE a.uscc = $1 GROUP BY a.reporting_unit",
        uscc,
    )
    if row is None:
        return None
    return AgencyScope(row["reporting_unit"], frozenset(row["bases"]))


async def due_rectifications(conn: Connection, as_of: dt.date) -> list[dict[str, Any]]:
    """Open rectifications whose inclusive deadline is before `as_of`."""
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.rectifications WHERE status = 'open' AND deadline < $1 "
        "ORDER BY deadline, rectification_id",
        as_of,
    )
    return [dict(r) for r in rows]


async def missing_reports(
    conn: Connection, year: int, registered_by: dt.date
) -> list[dict[str, Any]]:
    """Registered agencies, not exempt for `year`, with neither a conclusion nor an overdue
    report for it."""
    rows = await conn.fetch(
        f"SELECT a.uscc FROM {SCHEMA}.agencies a WHERE a.status IN ('active', 'suspended') "
        "AND a.registered_on <= $2 AND NOT EXISTS (SELECT 1 FROM "
        f"{SCHEMA}.annual_reports r WHERE r.uscc = a.uscc AND r.year = $1) ORDER BY a.uscc",
        year,
        registered_by,
    )
    return [dict(r) for r in rows]


async def due_listings(conn: Connection, column: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Open listings whose automatic exit or escalation day has come."""
    assert column in ("auto_exit_on", "escalation_on")
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.listings WHERE removed_on IS NULL AND {column} <= $1 "
        f"ORDER BY {column}, listing_id",
        as_of,
    )
    return [dict(r) for r in rows]


async def listed_agencies(
    conn: Connection, credit_list: str, as_of: dt.date, unit: str | None
) -> list[dict[str, Any]]:
    """Agencies on a list on a day: intervals with listed_on <= day < removed_on."""
    rows = await conn.fetch(
        f"SELECT l.*, a.name, a.reporting_unit FROM {SCHEMA}.listings l "
        f"LEFT JOIN {SCHEMA}.agencies a USING (uscc) WHERE l.list = $1 AND l.listed_on <= $2 "
        "AND (l.removed_on IS NULL OR l.removed_on > $2) "
        "AND ($3::text IS NULL OR a.reporting_unit = $3) ORDER BY l.listed_on, l.uscc",
        credit_list,
        as_of,
        unit,
    )
    return [dict(r) for r in rows]


async def rectifications_by_state(
    conn: Connection, as_of: dt.date, unit: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Open rectifications still due, and those overdue, on a day."""
    rows = await conn.fetch(
        f"SELECT r.*, a.name, a.reporting_unit FROM {SCHEMA}.rectifications r "
        f"LEFT JOIN {SCHEMA}.agencies a USING (uscc) WHERE r.status <> 'confirmed' "
        "AND ($1::text IS NULL OR a.reporting_unit = $1) ORDER BY r.deadline",
        unit,
    )
    due = [dict(r) for r in rows if r["status"] == "open" and r["deadline"] >= as_of]
    overdue = [dict(r) for r in rows if r["status"] == "overdue" or r["deadline"] < as_of]
    return {"due": due, "overdue": overdue}


async def coming_clock_events(
    conn: Connection, as_of: dt.date, until: dt.date
) -> list[dict[str, Any]]:
    """Automatic removals and escalations falling due between two days (inclusive)."""
    rows = await conn.fetch(
        f"SELECT l.*, a.name, a.reporting_unit FROM {SCHEMA}.listings l "
        f"LEFT JOIN {SCHEMA}.agencies a USING (uscc) WHERE l.removed_on IS NULL AND "
        "((l.auto_exit_on BETWEEN $1 AND $2) OR (l.escalation_on BETWEEN $1 AND $2)) "
        "ORDER BY coalesce(l.auto_exit_on, l.escalation_on)",
        as_of,
        until,
    )
    return [
        {
            **dict(r),
            "kind": "automatic_removal" if r["auto_exit_on"] is not None else "escalation",
            "due_on": r["auto_exit_on"] or r["escalation_on"],
        }
        for r in rows
    ]


# -- fed by other services' topics (consumers.py) ------------------------------------------


async def add_agency(
    conn: Connection, uscc: str, name: str, unit: str, registered_on: dt.date
) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.agencies (uscc, name, reporting_unit, registered_on, status) "
        "VALUES ($1, $2, $3, $4, 'active') ON CONFLICT (uscc) DO NOTHING",
        uscc,
        name,
        unit,
        registered_on,
    )


async def add_agencies(conn: Connection, agencies: Sequence[tuple[str, str, str, dt.date]]) -> None:
    """`add_agency` for many (uscc, name, unit, registered on), in one statement."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.agencies (uscc, name, reporting_unit, registered_on, status) "
        "SELECT u, n, r, d, 'active' FROM unnest($1::text[], $2::text[], $3::text[], "
        "$4::date[]) AS x(u, n, r, d) ON CONFLICT (uscc) DO NOTHING",
        *(list(column) for column in zip(*agencies, strict=True)),
    )


async def amend_agency(conn: Connection, uscc: str, name: str | None, unit: str | None) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.agencies SET name = coalesce($2, name), "
        "reporting_unit = coalesce($3, reporting_unit) WHERE uscc = $1",
        uscc,
        name,
        unit,
    )


async def set_agency_status(conn: Connection, uscc: str, status: str) -> None:
    await conn.execute(f"UPDATE {SCHEMA}.agencies SET status = $2 WHERE uscc = $1", uscc, status)


async def start_residency(
    conn: Connection,
    incubation_id: str,
    uscc: str,
    base_id: str,
    started_on: dt.date,
    term_end: dt.date | None = None,
) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.residencies (incubation_id, uscc, base_id, started_on, term_end) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incubation_id) DO NOTHING",
        incubation_id,
        uscc,
        base_id,
        started_on,
        term_end,
    )


async def extend_residency(conn: Connection, incubation_id: str, term_end: dt.date) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.residencies SET term_end = $2 WHERE incubation_id = $1",
        incubation_id,
        term_end,
    )


async def stays_of(conn: Connection, uscc: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT incubation_id, base_id, term_end, ended_on FROM {SCHEMA}.residencies "
        "WHERE uscc = $1 ORDER BY started_on, incubation_id",
        uscc,
    )
    return [dict(r) for r in rows]


async def agencies_in_unit(conn: Connection, unit: str) -> list[dict[str, Any]]:
    """Live agencies (active or suspended) of a reporting unit, for its compliance calendar."""
    rows = await conn.fetch(
        f"SELECT uscc, name, registered_on FROM {SCHEMA}.agencies WHERE reporting_unit = $1 "
        "AND status IN ('active', 'suspended') ORDER BY uscc",
        unit,
    )
    return [dict(r) for r in rows]


async def relink_residency(conn: Connection, incubation_id: str, uscc: str) -> None:
    """注册协助: a stay begun under a group's provisional id belongs to its registered agency."""
    await conn.execute(
        f"UPDATE {SCHEMA}.residencies SET uscc = $2 WHERE incubation_id = $1", incubation_id, uscc
    )


async def end_residency(
    conn: Connection, incubation_id: str, ended_on: dt.date, *, graduated: bool
) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.residencies SET ended_on = $2, graduated = $3 WHERE incubation_id = $1",
        incubation_id,
        ended_on,
        graduated,
    )


async def forget(conn: Connection, table: str) -> None:
    """Empty a consumer-fed table (a projection rebuild from offset 0)."""
    assert table in ("agencies", "residencies")
    await conn.execute(f"DELETE FROM {SCHEMA}.{table}")
