"""Base and stay versions in a generation (domain/place_versions.py): their tables, kept with
the facts (the live consumer's batch, a replay's), and the targets, `GET /reports/bases` and
trends read from them and the agency versions at a cut-off, without a fold (issue 12).

A base's facts are found by the facts' `base_id` column, a stay's by its payload's
`incubation_id`, each through a partial index of its kind's facts only (236 + 63k rows at 1M):
the payload names the stay in every stay fact by contract, where the stream a producer writes
it to is that producer's choice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from servicekit.db import Connection
from services.reporting import readmodel, views
from services.reporting.domain import reports
from services.reporting.domain.facts import Fact, FactRow
from services.reporting.domain.place_versions import (
    BASE_TYPES,
    STAY_TYPES,
    BaseVersion,
    StayVersion,
    base_versions,
    stay_versions,
)
from services.reporting.domain.state import BaseView, IncubationView
from services.reporting.domain.targets import (
    CITY_LEVEL,
    COUNTY_DEADLINE,
    DISTRICT_DEADLINE,
    SERVICE_AGENCY,
    TargetInputs,
    TargetOptions,
    local_incubation,
)
from services.reporting.domain.versions import EntityFact
from services.reporting.place_tables import (
    BASE_COLUMNS,
    BASE_FACTS_WHERE,
    STAY_COLUMNS,
    STAY_FACTS_WHERE,
)
from services.reporting.views import Rendered, ReportQuery

V = TypeVar("V")
_FOLD = readmodel._FOLD_COLUMNS  # what a fold reads of a fact

# -- maintenance ------------------------------------------------------------------------------


@dataclass
class Places:
    """The bases and stays some facts are about."""

    bases: set[str] = field(default_factory=set)
    stays: set[str] = field(default_factory=set)


def places_of_facts(facts: Iterable[Fact]) -> Places:
    """A live batch's bases and stays."""
    found = Places()
    for f in facts:
        if f.event_type in BASE_TYPES and f.base_id is not None:
            found.bases.add(f.base_id)
        elif f.event_type in STAY_TYPES:
            found.stays.add(str(f.data["incubation_id"]))
    return found


def places_of_rows(rows: Iterable[FactRow]) -> Places:
    """A replay batch's bases and stays (rows of readmodel._FACT_COLUMNS; the payload parsed
    only for stay facts, a few in a hundred)."""
    found = Places()
    for row in rows:
        if row[2] in BASE_TYPES and row[6] is not None:
            found.bases.add(row[6])
        elif row[2] in STAY_TYPES:
            found.stays.add(str(json.loads(row[10])["incubation_id"]))
    return found


async def refresh(conn: Connection, generation: str, places: Places) -> None:
    """These bases' and stays' versions computed again from all of their facts, in the
    caller's transaction (committed with the facts)."""
    g = readmodel.checked_generation(generation)
    if places.bases:
        keys = sorted(places.bases)
        rows = await conn.fetch(
            f"SELECT {_FOLD} FROM {g}.facts WHERE {BASE_FACTS_WHERE} AND base_id = ANY($1)",
            keys,
        )
        await _store_bases(conn, g, keys, _versions(rows, "base_id", base_versions))
    if places.stays:
        keys = sorted(places.stays)
        rows = await conn.fetch(
            f"SELECT {_FOLD} FROM {g}.facts "
            f"WHERE {STAY_FACTS_WHERE} AND data->>'incubation_id' = ANY($1)",
            keys,
        )
        await _store_stays(conn, g, keys, _versions(rows, "incubation_id", stay_versions))


PLACE_TYPES = frozenset(BASE_TYPES + STAY_TYPES)


def place_versions(
    rows: Sequence[asyncpg.Record],
) -> tuple[list[BaseVersion], list[StayVersion]]:
    """Every base's and stay's versions from their facts read from the table, rows of
    readmodel._FOLD_COLUMNS (a fresh replay's kept facts: `kept_versions`)."""
    return (
        _versions([r for r in rows if r[0] in BASE_TYPES], "base_id", base_versions),
        _versions([r for r in rows if r[0] in STAY_TYPES], "incubation_id", stay_versions),
    )


def kept_versions(
    bases: Mapping[str | None, Sequence[readmodel.KeptRow]],
    stays: Mapping[str | None, Sequence[readmodel.KeptRow]],
) -> tuple[list[BaseVersion], list[StayVersion]]:
    """The versions of the bases and stays whose facts a fresh load kept, by their ids
    (replay.PlaceFacts): one entity's facts validated at a time."""
    return (
        readmodel.versions_by_entity(bases, "base_id", base_versions),
        readmodel.versions_by_entity(stays, "incubation_id", stay_versions),
    )


async def store_kept(
    pool: asyncpg.Pool, generation: str, bases: Sequence[BaseVersion], stays: Sequence[StayVersion]
) -> None:
    """A fresh load's versions of its places stored (none of theirs there yet)."""
    g = readmodel.checked_generation(generation)
    async with pool.acquire() as conn, conn.transaction():
        await _store_bases(conn, g, [], bases)
        await _store_stays(conn, g, [], stays)


def shared(seen: Sequence[Places]) -> Places:
    """The places more than one of `seen` (a sharded load's shards) kept facts of: each
    computed from part of its facts."""
    found, twice = Places(), Places()
    for places in seen:
        twice.bases |= found.bases & places.bases
        twice.stays |= found.stays & places.stays
        found.bases |= places.bases
        found.stays |= places.stays
    return twice


async def build_all(pool: asyncpg.Pool, generation: str) -> None:
    """Every base's and stay's versions from the facts (a replay, once its facts are loaded):
    one scan for both kinds' facts, the versions computed in a thread (the caller's loop goes
    on with the index builds beside it)."""
    g = readmodel.checked_generation(generation)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {_FOLD} FROM {g}.facts WHERE {BASE_FACTS_WHERE} OR {STAY_FACTS_WHERE}"
        )
    bases, stays = await asyncio.to_thread(place_versions, rows)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"TRUNCATE {g}.base_versions, {g}.stay_versions")
        await _store_bases(conn, g, [], bases)
        await _store_stays(conn, g, [], stays)


def _versions(
    rows: Sequence[Any], key: str, versions: Callable[[Sequence[EntityFact]], list[V]]
) -> list[V]:
    """Each entity's versions from rows of readmodel._FOLD_COLUMNS, by the payload's `key`."""
    by_entity = readmodel.entity_facts(rows, key)
    return [v for facts in by_entity.values() for v in versions(facts)]


async def _store_bases(
    conn: Connection, g: str, keys: Sequence[str], versions: Sequence[BaseVersion]
) -> None:
    rows = [
        (
            v.view.base_id,
            *readmodel.version_times(v),
            v.view.name,
            v.view.level,
            v.view.reporting_unit,
            v.view.established_on,
            v.view.closed_on,
            v.view.meets_hardware_standard,
            v.view.offices,
        )
        for v in versions
    ]
    await readmodel.replace_versions(conn, g, "base_versions", keys, BASE_COLUMNS, rows)


async def _store_stays(
    conn: Connection, g: str, keys: Sequence[str], versions: Sequence[StayVersion]
) -> None:
    rows = [
        (
            v.view.incubation_id,
            *readmodel.version_times(v),
            v.view.base_id,
            v.view.uscc,
            v.view.started_on,
            v.view.term_end,
            v.view.local,
            v.view.graduated_on,
            v.view.terminated_on,
            v.view.termination_reason,
        )
        for v in versions
    ]
    await readmodel.replace_versions(conn, g, "stay_versions", keys, STAY_COLUMNS, rows)


# -- answers at a cut-off ---------------------------------------------------------------------

_AT = readmodel._VERSIONS_AT  # $1 the day, $2 recorded by (NULL: every fact)
_LIVE = "status IN ({})".format(", ".join(f"'{s}'" for s in reports.LIVE_STATUSES))
_ENDED = "status IN ('deregistered', 'revoked')"  # reports.trend_inputs' ended agencies


def _live_on(day: str) -> str:
    """targets._live_on on the version's columns, on the day parameter `day`."""
    return f"registered_on <= {day} AND ({_LIVE} OR status_since > {day})"


async def base_views_at(
    conn: Connection, g: str, day: dt.date, recorded_until: dt.datetime | None
) -> list[BaseView]:
    """`state.bases` of a fold as of the cut-off."""
    rows = await conn.fetch(
        "SELECT base_id, name, level, reporting_unit, established_on, closed_on, "
        f"meets_hardware_standard, offices FROM {g}.base_versions WHERE {_AT}",
        day,
        recorded_until,
    )
    return [BaseView(*r) for r in rows]


async def first_year_stays(
    conn: Connection, g: str, day: dt.date, recorded_until: dt.datetime | None
) -> list[IncubationView]:
    """The stays of a fold as of the cut-off that may count for target 2: started by `day`, at
    a base of that fold, in the base's first year (within_one_year: the day before the
    anniversary), of a local agency or at a city-level base (targets._local).
    targets.local_incubation applies these and the other predicates exactly; here they only
    leave out what it would drop (1M, as of 2020-12-31: 2,437 stays read instead of 7,076)."""
    rows = await conn.fetch(
        f"WITH b AS (SELECT base_id, established_on, level FROM {g}.base_versions WHERE {_AT}), "
        "s AS (SELECT incubation_id, base_id, uscc, started_on, term_end, local, graduated_on, "
        f"terminated_on, termination_reason FROM {g}.stay_versions WHERE {_AT} "
        "AND started_on <= $1) "
        "SELECT s.* FROM s JOIN b USING (base_id) WHERE s.started_on >= b.established_on "
        "AND s.started_on < b.established_on + interval '1 year' "
        f"AND (s.local OR b.level = '{CITY_LEVEL}')",
        day,
        recorded_until,
    )
    return [IncubationView(*r) for r in rows]


async def target_inputs(
    conn: Connection, g: str, day: dt.date, recorded_until: dt.datetime | None
) -> TargetInputs:
    """targets.target_inputs of a fold as of the cut-off, from the versions."""
    district, county = min(day, DISTRICT_DEADLINE), min(day, COUNTY_DEADLINE)
    service = f"kind = '{SERVICE_AGENCY}'"
    rows = await conn.fetch(
        f"SELECT reporting_unit, count(*) FILTER (WHERE {service} AND {_live_on('$4')}), "
        f"count(*) FILTER (WHERE {service} AND {_live_on('$3')}), "
        f"count(*) FILTER (WHERE {_live_on('$3')}) "
        f"FROM {g}.agency_versions WHERE {_AT} AND registered_on <= $4 GROUP BY reporting_unit",
        day,
        recorded_until,
        district,
        county,
    )
    return TargetInputs(
        city_live=(sum(r[2] for r in rows), sum(r[3] for r in rows)),
        unit_live={r[0]: r[1] for r in rows if r[1]},
        bases=await base_views_at(conn, g, day, recorded_until),
        stays=await first_year_stays(conn, g, day, recorded_until),
    )


async def trend_inputs(
    conn: Connection, g: str, day: dt.date, recorded_until: dt.datetime | None
) -> reports.TrendInputs:
    """reports.trend_inputs of a fold as of the cut-off, from the versions: agencies counted
    by (registration day, ending day) in one scan."""
    rows = await conn.fetch(
        "SELECT registered_on, CASE WHEN "
        f"{_ENDED} THEN greatest(registered_on, status_since) END, count(*) "
        f"FROM {g}.agency_versions WHERE {_AT} GROUP BY 1, 2",
        day,
        recorded_until,
    )
    registered: Counter[dt.date] = Counter()
    ended: Counter[dt.date] = Counter()
    for on, ended_on, n in rows:
        registered[on] += n
        if ended_on is not None:
            ended[ended_on] += n
    graduated = await conn.fetch(
        f"SELECT extract(year FROM graduated_on)::int, count(*) FROM {g}.stay_versions "
        f"WHERE {_AT} AND graduated_on IS NOT NULL GROUP BY 1",
        day,
        recorded_until,
    )
    return reports.TrendInputs(
        registered=registered,
        ended=ended,
        bases=await base_views_at(conn, g, day, recorded_until),
        graduated={r[0]: r[1] for r in graduated},
    )


async def targets(conn: Connection, g: str, query: ReportQuery, options: TargetOptions) -> Rendered:
    inputs = await target_inputs(conn, g, query.day, query.recorded_until)
    return views.targets(inputs, query, options)


async def bases(conn: Connection, g: str, query: ReportQuery, options: TargetOptions) -> Rendered:
    day, recorded = query.day, query.recorded_until
    places = await base_views_at(conn, g, day, recorded)
    stays = await first_year_stays(conn, g, day, recorded)
    return views.bases(local_incubation(places, stays, day), query)


async def trends(conn: Connection, g: str, query: ReportQuery, options: TargetOptions) -> Rendered:
    inputs = await trend_inputs(conn, g, query.day, query.recorded_until)
    return views.trends(inputs, query)
