"""The entity versions a batch of facts changes, refreshed in the batch's transaction: one place
for every kind (readmodel.VERSION_KINDS), used by the live consumer's batch (facts) and by a
replay's batch (fact rows, the payload as JSON text), so that a kind added is kept by both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from servicekit.db import Connection
from services.reporting import readmodel, readmodel_listings, readmodel_places
from services.reporting.domain.facts import Fact, FactRow


@dataclass(frozen=True)
class Changed:
    """The agencies, places (bases and stays) and listings some facts are about."""

    usccs: list[str]
    places: readmodel_places.Places
    listings: list[str]


def changed_by_facts(facts: Sequence[Fact]) -> Changed:
    """What a live batch changes."""
    return Changed(
        [f.uscc for f in facts if f.service == "registry" and f.uscc is not None],
        readmodel_places.places_of_facts(facts),
        readmodel_listings.listing_ids(facts),
    )


def changed_by_rows(rows: Sequence[FactRow]) -> Changed:
    """What a replay's batch changes (rows of readmodel._FACT_COLUMNS)."""
    return Changed(
        [r[5] for r in rows if r[1] == "registry" and r[5]],
        readmodel_places.places_of_rows(rows),
        readmodel_listings.listing_ids_of_rows(rows),
    )


async def refresh_versions(conn: Connection, generation: str, changed: Changed) -> None:
    """Every changed entity's versions folded again from all of its facts, in the caller's
    transaction (committed with the facts that changed them)."""
    await readmodel.refresh_agencies(conn, generation, changed.usccs)
    await readmodel_places.refresh(conn, generation, changed.places)
    await readmodel_listings.refresh_listings(conn, generation, changed.listings)
