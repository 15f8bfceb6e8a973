"""Listing versions (issue 12): each credit listing's record (`state.listings`) as bitemporal
versions (domain/versions.py), kept with the facts, and the credit lists of any cut-off read
from them and the agency versions without a fold.

Maintained where the agency versions are: the live consumer's batch (`refresh_listings`), a
replay's catch-up batches (the same) and, after a bulk load, every listing at once
(`build_all`). A listing's facts are found by the partial index `facts_listing` (the listing
id of listing facts only: 3.6k of 1M facts at 1M; readmodel.generation_tables_ddl, with the
table), so a batch reads only its listings' facts; by listing id, the fold's own key, rather
than by credit code, which would hold only while every fact of a listing names one agency.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

import asyncpg

from servicekit.db import Connection
from services.reporting import readmodel
from services.reporting.domain.facts import Fact, FactRow
from services.reporting.domain.state import AgencyView, Listing
from services.reporting.domain.versions import LISTING_TYPES, ListingVersion, listing_versions

KIND = "listing"  # its name in readmodel.VERSION_KINDS and cache.FROM_VERSIONS


def listing_ids(facts: Iterable[Fact]) -> list[str]:
    """The listings these facts (the live consumer's batch) change."""
    return [f.data["listing_id"] for f in facts if f.event_type in LISTING_TYPES]


def listing_ids_of_rows(rows: Iterable[FactRow]) -> list[str]:
    """The listings these fact rows (a replay's batch; the payload as JSON text) change."""
    return [json.loads(r[10])["listing_id"] for r in rows if r[2] in LISTING_TYPES]


async def refresh_listings(conn: Connection, generation: str, ids: Iterable[str]) -> None:
    """These listings' versions folded again from all of their facts, in the caller's
    transaction (with the facts that changed them)."""
    keys = sorted(set(ids))
    if not keys:
        return
    g = readmodel.checked_generation(generation)
    rows = await conn.fetch(
        f"SELECT {readmodel._FOLD_COLUMNS} FROM {g}.facts "
        f"WHERE {readmodel.LISTING} AND data->>'listing_id' = ANY($1)",
        keys,
    )
    await _store(conn, g, keys, versions_of(rows))


async def build_all(pool: asyncpg.Pool, generation: str) -> None:
    """Every listing's versions from the facts, after a bulk load (a resumed one's too: what an
    earlier attempt stored is replaced)."""
    g = readmodel.checked_generation(generation)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT {readmodel._FOLD_COLUMNS} FROM {g}.facts WHERE {readmodel.LISTING}"
        )
        await conn.execute(f"DELETE FROM {g}.listing_versions")
        await _store(conn, g, [], versions_of(rows))
    async with pool.acquire() as conn:
        await conn.execute(f"ANALYZE {g}.listing_versions")


def versions_of(rows: Iterable[asyncpg.Record | readmodel.FoldRow]) -> list[ListingVersion]:
    """Every listing's versions from its facts, rows of readmodel._FOLD_COLUMNS."""
    by_listing = readmodel.entity_facts(rows, "listing_id")
    return [v for facts in by_listing.values() for v in listing_versions(facts)]


async def _store(
    conn: Connection, g: str, keys: Sequence[str], versions: Sequence[ListingVersion]
) -> None:
    """These listings' versions replaced by `versions` (all of theirs)."""
    rows = [
        (
            v.view.listing_id,
            *readmodel.version_times(v),
            v.view.uscc,
            v.view.list,
            v.view.ground,
            v.view.listed_on,
            v.view.removed_on,
            v.view.removal_reason,
            v.view.clock_from,
        )
        for v in versions
    ]
    await readmodel.replace_versions(
        conn, g, "listing_versions", keys, readmodel.LISTING_COLUMNS, rows
    )


async def listings_at(
    conn: Connection, generation: str, day: dt.date, recorded_until: dt.datetime | None
) -> tuple[list[Listing], dict[str, AgencyView]]:
    """`state.listings` of a fold as of the cut-off and the listed agencies' views there
    (`state.agencies` of theirs), from the listing and agency versions (no fold): the inputs
    of the credit lists (views.credit_listings)."""
    g = readmodel.checked_generation(generation)
    rows = await conn.fetch(
        "SELECT listing_id, uscc, list, ground, listed_on, removed_on, removal_reason, "
        f"clock_from FROM {g}.listing_versions WHERE {readmodel._VERSIONS_AT}",
        day,
        recorded_until,
    )
    listings = [Listing(*r) for r in rows]
    usccs = sorted({x.uscc for x in listings})
    return listings, await readmodel.agency_views_at(conn, generation, day, recorded_until, usccs)
