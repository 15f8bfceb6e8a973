"""The incubation service's own tables (schema `incubation`): query views kept inline with the
events, the facts learned from other services' topics, and the last-line invariant indexes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from socialwork_contracts.incubation import (
    GroupRegistered,
    IncubationIdentityLinked,
    ProfessionalServicesRecorded,
    SupportRecorded,
    TrainingDelivered,
)

from servicekit.db import Connection
from servicekit.eventstore import RecordedEvent
from servicekit.eventstore.store import InlineProjection, InlineStatement
from servicekit.locks import LockKey, lock_for_transaction
from services.incubation.domain.group import Group
from services.incubation.domain.incubation import HOLDING, OCCUPYING, Incubation
from services.incubation.domain.incubation_base import IncubationBase
from services.incubation.domain.situation import BaseFigures, KnownAgency

SCHEMA = "incubation"

DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.agencies (
    uscc            text PRIMARY KEY,
    name            text NOT NULL,
    reporting_unit  text NOT NULL,
    status          text NOT NULL,
    version         integer NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.listings (
    listing_id      text PRIMARY KEY,
    uscc            text NOT NULL,
    list            text NOT NULL,
    ground          text NOT NULL,
    listed_on       date NOT NULL,
    removed_on      date,
    removal_reason  text
);
CREATE INDEX IF NOT EXISTS listings_open ON {SCHEMA}.listings (uscc) WHERE removed_on IS NULL;
-- Graduation reads the registry's staff counts and supervision's latest annual inspection.
ALTER TABLE {SCHEMA}.agencies ADD COLUMN IF NOT EXISTS full_time_staff integer;
ALTER TABLE {SCHEMA}.agencies ADD COLUMN IF NOT EXISTS qualified_staff integer;
CREATE TABLE IF NOT EXISTS {SCHEMA}.inspections (
    uscc            text NOT NULL,
    year            integer NOT NULL,
    conclusion      text NOT NULL,
    PRIMARY KEY (uscc, year)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.bases (
    base_id         text PRIMARY KEY,
    name            text NOT NULL,
    reporting_unit  text NOT NULL,
    level           text NOT NULL,
    closed_on       date,
    state           jsonb NOT NULL,
    version         integer NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.incubations (
    incubation_id   text PRIMARY KEY,
    base_id         text NOT NULL,
    call_id         text NOT NULL,
    uscc            text NOT NULL,
    agency_name     text NOT NULL,
    status          text NOT NULL,
    local           boolean NOT NULL,
    office_id       text,
    agreement_id    text,
    term_start      date,
    term_end        date,
    submitted_on    date NOT NULL,
    started_on      date,
    ended_on        date,
    termination_reason text,
    state           jsonb NOT NULL,
    version         integer NOT NULL
);
CREATE INDEX IF NOT EXISTS incubations_base ON {SCHEMA}.incubations (base_id, status);
CREATE INDEX IF NOT EXISTS incubations_call ON {SCHEMA}.incubations (call_id, status);
-- Last line of defence for the cross-stream invariants (a violation is a 409, nothing stored):
-- an agency holds at most one place, and an office is held by at most one agency.
CREATE UNIQUE INDEX IF NOT EXISTS one_place_per_agency ON {SCHEMA}.incubations (uscc)
    WHERE status IN ('approved', 'signed', 'incubating');
CREATE UNIQUE INDEX IF NOT EXISTS one_agency_per_office ON {SCHEMA}.incubations (base_id, office_id)
    WHERE status IN ('signed', 'incubating');
CREATE TABLE IF NOT EXISTS {SCHEMA}.support (
    event_id        uuid PRIMARY KEY,
    incubation_id   text NOT NULL,
    base_id         text NOT NULL,
    uscc            text NOT NULL,
    support_type    text NOT NULL,
    funding_type    text,
    amount_yuan     numeric(16, 2),
    description     text NOT NULL,
    given_on        date NOT NULL
);
CREATE INDEX IF NOT EXISTS support_incubation ON {SCHEMA}.support (incubation_id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.trainings (
    base_id         text NOT NULL,
    session_id      text NOT NULL,
    title           text NOT NULL,
    held_on         date NOT NULL,
    hours           numeric(8, 2) NOT NULL,
    attendees       integer NOT NULL,
    agency_usccs    text[] NOT NULL,
    PRIMARY KEY (base_id, session_id)
);
-- 注册协助 (issue 11 §2): groups in preparation, known by a provisional id until registered.
CREATE TABLE IF NOT EXISTS {SCHEMA}.groups (
    provisional_id  text PRIMARY KEY,
    base_id         text NOT NULL,
    name            text NOT NULL,
    reporting_unit  text NOT NULL,
    recorded_on     date NOT NULL,
    register_by     date NOT NULL,
    status          text NOT NULL,
    overdue_on      date,
    uscc            text,
    registered_on   date,
    version         integer NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_preparing ON {SCHEMA}.groups (register_by)
    WHERE status = 'preparing' AND overdue_on IS NULL;
-- 提供专业服务情况 (issue 11 §6): what residents delivered, as the base recorded it.
CREATE TABLE IF NOT EXISTS {SCHEMA}.services_delivered (
    record_id       text PRIMARY KEY,
    incubation_id   text NOT NULL,
    base_id         text NOT NULL,
    uscc            text NOT NULL,
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    projects        integer NOT NULL,
    service_hours   numeric(10, 2) NOT NULL,
    beneficiaries   integer NOT NULL,
    description     text NOT NULL
);
CREATE INDEX IF NOT EXISTS services_base ON {SCHEMA}.services_delivered (base_id, period_end);
-- The clock of each running stay (term end, last activity) and what the check already flagged:
-- the scheduled check reads its candidates here (期满未续驻, 长期未开展活动).
CREATE TABLE IF NOT EXISTS {SCHEMA}.stay_clocks (
    incubation_id     text PRIMARY KEY,
    term_end          date NOT NULL,
    last_activity_on  date NOT NULL,
    overrun_flagged   boolean NOT NULL,
    quiet_flagged     boolean NOT NULL
);
"""

_BASE = TypeAdapter(IncubationBase)
_INCUBATION = TypeAdapter(Incubation)
_HOLDING = sorted(HOLDING)
_HOLDING = sorted(HOLDING)
_ADMITTED = ["approved", "signed", "incubating", "graduated", "terminated"]


# --- inline projections (run in the append transaction) -------------------------------------


# The base's row and its new training sessions in one statement (a data-modifying CTE runs
# whether or not it is read), so a group's bases are projected in one round trip (issue 12).
_UPSERT_BASE = f"""
WITH base AS (
    INSERT INTO {SCHEMA}.bases (base_id, name, reporting_unit, level, closed_on, state, version)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (base_id) DO UPDATE SET
    name = excluded.name, closed_on = excluded.closed_on, state = excluded.state,
    version = excluded.version WHERE {SCHEMA}.bases.version < excluded.version
)
INSERT INTO {SCHEMA}.trainings (base_id, session_id, title, held_on, hours, attendees,
                                agency_usccs)
SELECT t.base_id, t.session_id, t.title, t.held_on, t.hours, t.attendees,
       ARRAY(SELECT jsonb_array_elements_text(t.agency_usccs))
FROM jsonb_to_recordset($8::jsonb) AS t(base_id text, session_id text, title text, held_on date,
                                       hours numeric, attendees integer, agency_usccs jsonb)
ON CONFLICT DO NOTHING
"""


def upsert_base(base: IncubationBase) -> InlineProjection:
    def arguments(events: Sequence[RecordedEvent]) -> tuple[Any, ...]:
        trainings = [
            {
                "base_id": event.base_id,
                "session_id": event.session_id,
                "title": event.title,
                "held_on": event.held_on.isoformat(),
                "hours": str(Decimal(event.hours)),
                "attendees": event.attendees,
                "agency_usccs": list(event.agency_usccs),
            }
            for event in (recorded.load() for recorded in events)
            if isinstance(event, TrainingDelivered)
        ]
        return (
            base.base_id,
            base.name,
            base.reporting_unit,
            base.level,
            base.closed_on,
            _BASE.dump_python(base, mode="json"),
            events[-1].stream_version,
            trainings,
        )

    return InlineStatement(_UPSERT_BASE, arguments)


def upsert_incubation(state: Incubation) -> InlineProjection:
    async def write(conn: Connection, events: Sequence[RecordedEvent]) -> None:
        agreement = state.agreement
        await conn.execute(
            f"INSERT INTO {SCHEMA}.incubations (incubation_id, base_id, call_id, uscc, "
            "agency_name, status, local, office_id, agreement_id, term_start, term_end, "
            "submitted_on, started_on, ended_on, termination_reason, state, version) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
            "ON CONFLICT (incubation_id) DO UPDATE SET status = excluded.status, "
            "uscc = excluded.uscc, "
            "office_id = excluded.office_id, agreement_id = excluded.agreement_id, "
            "term_start = excluded.term_start, term_end = excluded.term_end, "
            "started_on = excluded.started_on, ended_on = excluded.ended_on, "
            "termination_reason = excluded.termination_reason, state = excluded.state, "
            f"version = excluded.version WHERE {SCHEMA}.incubations.version < excluded.version",
            state.incubation_id,
            state.base_id,
            state.call_id,
            state.uscc,
            state.agency_name,
            state.status,
            state.local,
            state.office_id,
            agreement.agreement_id if agreement else None,
            agreement.term_start if agreement else None,
            agreement.term_end if agreement else None,
            state.submitted_on,
            state.started_on,
            state.ended_on,
            state.termination_reason,
            _INCUBATION.dump_python(state, mode="json"),
            events[-1].stream_version,
        )
        await _stay_clock(conn, state)
        for recorded in events:
            event = recorded.load()
            if isinstance(event, ProfessionalServicesRecorded):
                await _services(conn, event)
            if isinstance(event, IncubationIdentityLinked):  # its support follows the agency
                await conn.execute(
                    f"UPDATE {SCHEMA}.support SET uscc = $2 WHERE incubation_id = $1",
                    event.incubation_id,
                    event.uscc,
                )
                await conn.execute(
                    f"UPDATE {SCHEMA}.services_delivered SET uscc = $2 WHERE incubation_id = $1",
                    event.incubation_id,
                    event.uscc,
                )
            if isinstance(event, SupportRecorded):
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.support (event_id, incubation_id, base_id, uscc, "
                    "support_type, funding_type, amount_yuan, description, given_on) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                    recorded.event_id,
                    event.incubation_id,
                    event.base_id,
                    event.uscc,
                    event.support_type,
                    event.funding_type,
                    None if event.amount_yuan is None else Decimal(event.amount_yuan),
                    event.description,
                    event.given_on,
                )

    return write


async def _stay_clock(conn: Connection, state: Incubation) -> None:
    """A running stay's clock row; a stay that ended leaves the table."""
    if state.status != "incubating" or state.agreement is None or state.last_activity_on is None:
        await conn.execute(
            f"DELETE FROM {SCHEMA}.stay_clocks WHERE incubation_id = $1", state.incubation_id
        )
        return
    await conn.execute(
        f"INSERT INTO {SCHEMA}.stay_clocks (incubation_id, term_end, last_activity_on, "
        "overrun_flagged, quiet_flagged) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (incubation_id) DO UPDATE SET term_end = excluded.term_end, "
        "last_activity_on = excluded.last_activity_on, "
        "overrun_flagged = excluded.overrun_flagged, quiet_flagged = excluded.quiet_flagged",
        state.incubation_id,
        state.agreement.term_end,
        state.last_activity_on,
        state.agreement.term_end in state.overruns,
        state.last_activity_on in state.quiet_spells,
    )


async def _services(conn: Connection, event: ProfessionalServicesRecorded) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.services_delivered (record_id, incubation_id, base_id, uscc, "
        "period_start, period_end, projects, service_hours, beneficiaries, description) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        event.record_id,
        event.incubation_id,
        event.base_id,
        event.uscc,
        event.period_start,
        event.period_end,
        event.projects,
        Decimal(event.service_hours),
        event.beneficiaries,
        event.description,
    )


async def stays_past_term(conn: Connection, before: dt.date) -> list[dict[str, Any]]:
    """Running stays whose term ended before `before`, not yet flagged for that term."""
    rows = await conn.fetch(
        f"SELECT incubation_id, term_end FROM {SCHEMA}.stay_clocks WHERE NOT overrun_flagged "
        "AND term_end < $1 ORDER BY term_end, incubation_id",
        before,
    )
    return [dict(r) for r in rows]


async def quiet_stays(conn: Connection, active_before: dt.date) -> list[dict[str, Any]]:
    """Running stays with no activity since before `active_before`, spell not yet flagged."""
    rows = await conn.fetch(
        f"SELECT incubation_id, last_activity_on FROM {SCHEMA}.stay_clocks "
        "WHERE NOT quiet_flagged AND last_activity_on < $1 "
        "ORDER BY last_activity_on, incubation_id",
        active_before,
    )
    return [dict(r) for r in rows]


async def find_services(
    conn: Connection, *, base_id: str | None, incubation_id: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.services_delivered WHERE ($1::text IS NULL OR base_id = $1) "
        "AND ($2::text IS NULL OR incubation_id = $2) ORDER BY period_end, record_id",
        base_id,
        incubation_id,
    )
    return [{**dict(r), "service_hours": str(r["service_hours"])} for r in rows]


def upsert_group(state: Group) -> InlineProjection:
    """The group's row; on registration its training attendance follows the agency."""

    async def write(conn: Connection, events: Sequence[RecordedEvent]) -> None:
        await conn.execute(
            f"INSERT INTO {SCHEMA}.groups (provisional_id, base_id, name, reporting_unit, "
            "recorded_on, register_by, status, overdue_on, uscc, registered_on, version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "ON CONFLICT (provisional_id) DO UPDATE SET status = excluded.status, "
            "overdue_on = excluded.overdue_on, uscc = excluded.uscc, "
            "registered_on = excluded.registered_on, version = excluded.version "
            f"WHERE {SCHEMA}.groups.version < excluded.version",
            state.provisional_id,
            state.base_id,
            state.name,
            state.reporting_unit,
            state.recorded_on,
            state.register_by,
            state.status,
            state.overdue_on,
            state.uscc,
            state.registered_on,
            events[-1].stream_version,
        )
        for recorded in events:
            event = recorded.load()
            if isinstance(event, GroupRegistered):
                await conn.execute(
                    f"UPDATE {SCHEMA}.trainings SET agency_usccs = "
                    "array_replace(agency_usccs, $1, $2) WHERE $1 = ANY(agency_usccs)",
                    event.provisional_id,
                    event.uscc,
                )

    return write


# --- facts for decisions ----------------------------------------------------------------------


async def known_agency(conn: Connection, uscc: str) -> KnownAgency | None:
    row = await conn.fetchrow(f"SELECT * FROM {SCHEMA}.agencies WHERE uscc = $1", uscc)
    if row is None:
        return await _group_facts(conn, uscc)
    lists = await conn.fetch(
        f"SELECT DISTINCT list FROM {SCHEMA}.listings WHERE uscc = $1 AND removed_on IS NULL "
        "ORDER BY list",
        uscc,
    )
    inspection = await conn.fetchrow(
        f"SELECT year, conclusion FROM {SCHEMA}.inspections WHERE uscc = $1 "
        "ORDER BY year DESC LIMIT 1",
        uscc,
    )
    staff = row["full_time_staff"], row["qualified_staff"]
    return KnownAgency(
        row["uscc"],
        row["name"],
        row["reporting_unit"],
        row["status"],
        tuple(r[0] for r in lists),
        staff=None if None in staff else staff,
        inspection=(inspection["year"], inspection["conclusion"]) if inspection else None,
    )


async def base_figures(conn: Connection, base_id: str, start: dt.date, end: dt.date) -> BaseFigures:
    """The base's operation over [start, end] as this service holds it (基地运行评估)."""
    stays = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE started_on <= $3 AND (ended_on IS NULL OR ended_on >= $3)"
        "   AND office_id IS NOT NULL AND status IN ('incubating', 'graduated', 'terminated')) "
        "   AS occupied, "
        "count(*) FILTER (WHERE started_on BETWEEN $2 AND $3) AS started, "
        "count(*) FILTER (WHERE status = 'graduated' AND ended_on BETWEEN $2 AND $3) AS graduated, "
        "count(*) FILTER (WHERE status = 'terminated' AND ended_on BETWEEN $2 AND $3) AS ended "
        f"FROM {SCHEMA}.incubations WHERE base_id = $1",
        base_id,
        start,
        end,
    )
    funding = await conn.fetchval(
        f"SELECT coalesce(sum(amount_yuan), 0)::numeric(16, 2)::text FROM {SCHEMA}.support "
        "WHERE base_id = $1 AND support_type = 'funding' AND given_on BETWEEN $2 AND $3",
        base_id,
        start,
        end,
    )
    training = await conn.fetchrow(
        "SELECT count(*) AS sessions, coalesce(sum(hours), 0)::numeric(10, 2)::text AS hours, "
        f"coalesce(sum(attendees), 0) AS attendees FROM {SCHEMA}.trainings "
        "WHERE base_id = $1 AND held_on BETWEEN $2 AND $3",
        base_id,
        start,
        end,
    )
    services = await conn.fetchrow(
        "SELECT coalesce(sum(projects), 0) AS projects, "
        "coalesce(sum(service_hours), 0)::numeric(10, 2)::text AS hours, "
        f"coalesce(sum(beneficiaries), 0) AS beneficiaries FROM {SCHEMA}.services_delivered "
        "WHERE base_id = $1 AND period_end BETWEEN $2 AND $3",
        base_id,
        start,
        end,
    )
    assert stays is not None  # an aggregate always returns one row
    assert training is not None
    assert services is not None
    return BaseFigures(
        offices_occupied=stays["occupied"],
        incubations_started=stays["started"],
        graduations=stays["graduated"],
        terminations=stays["ended"],
        funding_yuan=funding,
        training_sessions=training["sessions"],
        training_hours=training["hours"],
        training_attendees=training["attendees"],
        service_projects=services["projects"],
        service_hours=services["hours"],
        service_beneficiaries=services["beneficiaries"],
    )


async def _group_facts(conn: Connection, provisional_id: str) -> KnownAgency | None:
    """A group in preparation stands where an agency would (注册协助), until it is registered."""
    row = await conn.fetchrow(
        f"SELECT name, reporting_unit FROM {SCHEMA}.groups "
        "WHERE provisional_id = $1 AND status = 'preparing'",
        provisional_id,
    )
    if row is None:
        return None
    return KnownAgency(provisional_id, row["name"], row["reporting_unit"], "preparing")


async def group_base(conn: Connection, provisional_id: str) -> str | None:
    """The base assisting a group (for authorisation), None when unknown."""
    found: str | None = await conn.fetchval(
        f"SELECT base_id FROM {SCHEMA}.groups WHERE provisional_id = $1", provisional_id
    )
    return found


async def group_incubations(conn: Connection, provisional_id: str) -> list[str]:
    """Every incubation still under the group's provisional id, whatever its status."""
    rows = await conn.fetch(
        f"SELECT incubation_id FROM {SCHEMA}.incubations WHERE uscc = $1 ORDER BY incubation_id",
        provisional_id,
    )
    return [r[0] for r in rows]


async def groups_past_deadline(conn: Connection, before: dt.date) -> list[dict[str, Any]]:
    """Groups still in preparation, not yet flagged, whose deadline is before `before`."""
    rows = await conn.fetch(
        f"SELECT provisional_id, register_by FROM {SCHEMA}.groups WHERE status = 'preparing' "
        "AND overdue_on IS NULL AND register_by < $1 ORDER BY register_by, provisional_id",
        before,
    )
    return [dict(r) for r in rows]


async def find_groups(
    conn: Connection, *, base_id: str | None, unit: str | None, status: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT g.*, b.reporting_unit AS base_unit FROM {SCHEMA}.groups g "
        f"LEFT JOIN {SCHEMA}.bases b USING (base_id) "
        "WHERE ($1::text IS NULL OR g.base_id = $1) "
        "AND ($2::text IS NULL OR b.reporting_unit = $2) "
        "AND ($3::text IS NULL OR g.status = $3) ORDER BY g.recorded_on, g.provisional_id",
        base_id,
        unit,
        status,
    )
    return [_row(r) for r in rows]


async def agency_holding(conn: Connection, uscc: str, other_than: str) -> tuple[str, ...]:
    rows = await conn.fetch(
        f"SELECT incubation_id FROM {SCHEMA}.incubations WHERE uscc = $1 "
        "AND status = ANY($2::text[]) AND incubation_id <> $3 ORDER BY incubation_id",
        uscc,
        _HOLDING,
        other_than,
    )
    return tuple(r[0] for r in rows)


async def base_occupancy(
    conn: Connection, base_id: str, other_than: str
) -> tuple[int, frozenset[str]]:
    """(places held at the base, offices held) by incubations other than `other_than`."""
    rows = await conn.fetch(
        f"SELECT status, office_id FROM {SCHEMA}.incubations WHERE base_id = $1 "
        "AND status = ANY($2::text[]) AND incubation_id <> $3",
        base_id,
        _HOLDING,
        other_than,
    )
    offices = frozenset(r["office_id"] for r in rows if r["status"] in OCCUPYING)
    return len(rows), offices


async def call_approved(conn: Connection, call_id: str, other_than: str) -> int:
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM {SCHEMA}.incubations WHERE call_id = $1 "
        "AND status = ANY($2::text[]) AND incubation_id <> $3",
        call_id,
        _ADMITTED,
        other_than,
    )
    return count


def lock_of(key: str) -> LockKey:
    """The service's advisory lock on `key` (`base:<id>`, `agency:<uscc>`), as `lock` takes it."""
    return "incubation", key


async def lock(conn: Connection, key: str) -> None:
    """A transaction-scoped advisory lock: serialises admissions to one base / of one agency."""
    await lock_for_transaction(conn, *lock_of(key))


# --- what the consumers write -----------------------------------------------------------------


async def upsert_agency(
    conn: Connection,
    uscc: str,
    name: str,
    unit: str,
    status: str,
    version: int,
    staff: tuple[int, int],
) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.agencies (uscc, name, reporting_unit, status, version, "
        "full_time_staff, qualified_staff) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, "
        "reporting_unit = excluded.reporting_unit, status = excluded.status, "
        "full_time_staff = excluded.full_time_staff, qualified_staff = excluded.qualified_staff, "
        f"version = excluded.version WHERE {SCHEMA}.agencies.version < excluded.version",
        uscc,
        name,
        unit,
        status,
        version,
        *staff,
    )


async def upsert_agencies(
    conn: Connection, agencies: Sequence[tuple[str, str, str, str, int, int, int]]
) -> None:
    """`upsert_agency` for many (uscc, name, unit, status, version, full-time and qualified
    staff), in one statement; no uscc twice."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.agencies (uscc, name, reporting_unit, status, version, "
        "full_time_staff, qualified_staff) SELECT * FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::text[], $5::int[], $6::int[], $7::int[]) "
        "ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, "
        "reporting_unit = excluded.reporting_unit, status = excluded.status, "
        "full_time_staff = excluded.full_time_staff, qualified_staff = excluded.qualified_staff, "
        f"version = excluded.version WHERE {SCHEMA}.agencies.version < excluded.version",
        *(list(column) for column in zip(*agencies, strict=True)),
    )


async def update_agency(
    conn: Connection,
    uscc: str,
    version: int,
    *,
    status: str | None = None,
    name: str | None = None,
    unit: str | None = None,
    staff: tuple[int, int] | None = None,
) -> bool:
    """Change a known agency; False (nothing written) for one never registered here."""
    full_time, qualified = staff if staff is not None else (None, None)
    result: str = await conn.execute(
        f"UPDATE {SCHEMA}.agencies SET status = coalesce($3, status), name = coalesce($4, name), "
        "reporting_unit = coalesce($5, reporting_unit), "
        "full_time_staff = coalesce($6, full_time_staff), "
        "qualified_staff = coalesce($7, qualified_staff), version = $2 "
        "WHERE uscc = $1 AND version < $2",
        uscc,
        version,
        status,
        name,
        unit,
        full_time,
        qualified,
    )
    return result != "UPDATE 0"


async def open_listing(
    conn: Connection, listing_id: str, uscc: str, list_name: str, ground: str, on: dt.date
) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.listings (listing_id, uscc, list, ground, listed_on) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        listing_id,
        uscc,
        list_name,
        ground,
        on,
    )


async def close_listing(conn: Connection, listing_id: str, reason: str, on: dt.date) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.listings SET removed_on = $2, removal_reason = $3 "
        "WHERE listing_id = $1 AND removed_on IS NULL",
        listing_id,
        on,
        reason,
    )


async def holding_incubations(conn: Connection, uscc: str) -> list[str]:
    """The agency's incubations that hold a place: approved, signed or incubating."""
    rows = await conn.fetch(
        f"SELECT incubation_id FROM {SCHEMA}.incubations WHERE uscc = $1 "
        "AND status = ANY($2::text[]) ORDER BY incubation_id",
        uscc,
        _HOLDING,
    )
    return [r[0] for r in rows]


async def reset_agencies(conn: Connection) -> None:
    await conn.execute(f"DELETE FROM {SCHEMA}.agencies")


async def reset_listings(conn: Connection) -> None:
    await conn.execute(f"DELETE FROM {SCHEMA}.listings; DELETE FROM {SCHEMA}.inspections")


async def record_inspection(conn: Connection, uscc: str, year: int, conclusion: str) -> None:
    """The conclusion of a year (a later conclusion of the same year replaces it)."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.inspections (uscc, year, conclusion) VALUES ($1, $2, $3) "
        "ON CONFLICT (uscc, year) DO UPDATE SET conclusion = excluded.conclusion",
        uscc,
        year,
        conclusion,
    )


# --- queries ----------------------------------------------------------------------------------


def _row(record: Any) -> dict[str, Any]:
    return dict(record)


async def list_bases(
    conn: Connection,
    reporting_unit: str | None,
    *,
    in_unit: str | None = None,
    at_base: str | None = None,
) -> list[dict[str, Any]]:
    """Bases, optionally of one unit; `in_unit`/`at_base` narrow to the reader's scope."""
    rows = await conn.fetch(
        f"SELECT state, version FROM {SCHEMA}.bases WHERE ($1::text IS NULL OR "
        "reporting_unit = $1) AND ($2::text IS NULL OR reporting_unit = $2) "
        "AND ($3::text IS NULL OR base_id = $3) ORDER BY name, base_id",
        reporting_unit,
        in_unit,
        at_base,
    )
    return [{**r["state"], "version": r["version"]} for r in rows]


async def get_base(conn: Connection, base_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT state, version FROM {SCHEMA}.bases WHERE base_id = $1", base_id
    )
    return None if row is None else {**row["state"], "version": row["version"]}


async def base_unit(conn: Connection, base_id: str) -> str | None:
    """The base's reporting unit; None for an unknown base."""
    unit: str | None = await conn.fetchval(
        f"SELECT reporting_unit FROM {SCHEMA}.bases WHERE base_id = $1", base_id
    )
    return unit


# Narrows a query on a table with `base_id` to bases of one unit ($n) and to one base ($n + 1).
def _in_scope(n: int) -> str:
    return (
        f"(${n}::text IS NULL OR base_id IN (SELECT base_id FROM {SCHEMA}.bases "
        f"WHERE reporting_unit = ${n})) AND (${n + 1}::text IS NULL OR base_id = ${n + 1})"
    )


async def find_incubations(
    conn: Connection,
    *,
    base_id: str | None = None,
    call_id: str | None = None,
    uscc: str | None = None,
    statuses: Sequence[str] | None = None,
    with_agreement: bool = False,
    in_unit: str | None = None,
    at_base: str | None = None,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT incubation_id, base_id, call_id, uscc, agency_name, status, local, office_id, "
        "agreement_id, term_start, term_end, submitted_on, started_on, ended_on, "
        f"termination_reason, version FROM {SCHEMA}.incubations WHERE "
        "($1::text IS NULL OR base_id = $1) AND ($2::text IS NULL OR call_id = $2) "
        "AND ($3::text IS NULL OR uscc = $3) AND ($4::text[] IS NULL OR status = ANY($4)) "
        f"AND (NOT $5 OR agreement_id IS NOT NULL) AND {_in_scope(6)} "
        "ORDER BY submitted_on, incubation_id",
        base_id,
        call_id,
        uscc,
        list(statuses) if statuses is not None else None,
        with_agreement,
        in_unit,
        at_base,
    )
    return [_row(r) for r in rows]


async def get_incubation(conn: Connection, incubation_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT state, version FROM {SCHEMA}.incubations WHERE incubation_id = $1", incubation_id
    )
    return None if row is None else {**row["state"], "version": row["version"]}


async def find_support(
    conn: Connection,
    *,
    base_id: str | None,
    incubation_id: str | None,
    uscc: str | None,
    in_unit: str | None = None,
    at_base: str | None = None,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT incubation_id, base_id, uscc, support_type, funding_type, "
        f"amount_yuan::text AS amount_yuan, description, given_on FROM {SCHEMA}.support WHERE "
        "($1::text IS NULL OR base_id = $1) AND ($2::text IS NULL OR incubation_id = $2) "
        f"AND ($3::text IS NULL OR uscc = $3) AND {_in_scope(4)} ORDER BY given_on, event_id",
        base_id,
        incubation_id,
        uscc,
        in_unit,
        at_base,
    )
    return [_row(r) for r in rows]


async def find_trainings(conn: Connection, base_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT session_id, title, held_on, hours::text AS hours, attendees, agency_usccs "
        f"FROM {SCHEMA}.trainings WHERE base_id = $1 ORDER BY held_on, session_id",
        base_id,
    )
    return [_row(r) for r in rows]


async def local_agency(conn: Connection, uscc: str) -> dict[str, Any] | None:
    agency = await known_agency(conn, uscc)
    if agency is None:
        return None
    return {
        "uscc": agency.uscc,
        "name": agency.name,
        "reporting_unit": agency.reporting_unit,
        "status": agency.status,
        "credit_lists": list(agency.lists),
        # What graduation judges against (None: not known here yet).
        "staff": dict(zip(("full_time", "qualified"), agency.staff, strict=True))
        if agency.staff
        else None,
        "latest_inspection": dict(zip(("year", "conclusion"), agency.inspection, strict=True))
        if agency.inspection
        else None,
    }
