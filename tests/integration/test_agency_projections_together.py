"""Incubation's and supervision's agencies from the registry's topic, a batch at a time.

A consumer batch's first write gives its transaction an id, and every relay in the database
takes only events below the oldest transaction holding one: a batch of registrations written
one insert at a time held every service's relay back for as many round trips (issue 12,
bench_visible --xact-sample). A run of registrations is one statement, applied in the batch's
order with the events around it; the rows are what one `apply` per event gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from socialwork_contracts import registry as reg
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.eventstore import EventStore
from services.incubation import readmodel as incubation_readmodel
from services.incubation.consumers import RegistryAgencies
from services.supervision import readmodel as supervision_readmodel
from services.supervision.consumers import KnownAgencies
from tests.integration.reporting.dataset import registered
from tests.integration.test_consumer import logged_pool
from tests.support import envelope, uscc_for

pytestmark = pytest.mark.infra

PROJECTIONS: dict[str, Any] = {
    "supervision": (supervision_readmodel, KnownAgencies),
    "incubation": (incubation_readmodel, RegistryAgencies),
}


def envelope_of(event: DomainEvent, uscc: str, version: int) -> CloudEvent:
    type_ = f"{event.event_type}.v{event.event_version}"
    return envelope(type_, event.model_dump(mode="json"), uscc, version)


def history(serial: int) -> tuple[list[str], list[tuple[CloudEvent, DomainEvent]]]:
    """Five registrations, an amendment of the second, two more registrations."""
    usccs = [uscc_for(serial + i, unit_code="410102") for i in range(7)]
    events: list[tuple[CloudEvent, DomainEvent]] = []
    for i, uscc in enumerate(usccs[:5]):
        event = registered(i, uscc, "zhongyuan", "410102", "2011-03-01").event
        events.append((envelope_of(event, uscc, 1), event))
    amended = reg.AgencyProfileAmended(
        uscc=usccs[1], name="改名后的社会工作服务中心", priority=True, changed_fields=["name"]
    )
    events.append((envelope_of(amended, usccs[1], 2), amended))
    for i, uscc in enumerate(usccs[5:], start=5):
        event = registered(i, uscc, "zhongyuan", "410102", "2011-03-02").event
        events.append((envelope_of(event, uscc, 1), event))
    return usccs, events


async def agencies(pool: Any, schema: str, usccs: Sequence[str]) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        f"SELECT uscc, name, reporting_unit FROM {schema}.agencies WHERE uscc = ANY($1) "
        "ORDER BY uscc",
        list(usccs),
    )
    return [(r["uscc"], r["name"], r["reporting_unit"]) for r in rows]


@pytest.mark.parametrize("schema", sorted(PROJECTIONS))
async def test_a_run_of_registrations_is_one_insert_with_the_rows_of_one_by_one(
    database_url: str, schema: str
) -> None:
    readmodel, projection_type = PROJECTIONS[schema]
    together_usccs, together = history(9_100_000 + 1000 * len(schema))
    alone_usccs, alone = history(9_200_000 + 1000 * len(schema))
    async with logged_pool(database_url) as (pool, statements):
        store = EventStore(pool, schema)
        await store.create_schema()
        await pool.execute(readmodel.DDL)
        projection = projection_type(store)
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply_together(conn, together)
        inserts = [s for s in statements if f"INSERT INTO {schema}.agencies" in s]
        async with pool.acquire() as conn, conn.transaction():
            for applied in alone:
                await projection.apply(conn, *applied)
        by_together = await agencies(pool, schema, together_usccs)
        by_one = await agencies(pool, schema, alone_usccs)
    assert len(inserts) == 2, inserts  # five, then (after the amendment) two
    assert [row[1:] for row in by_together] == [row[1:] for row in by_one]
    assert len(by_together) == 7
    assert sum(name == "改名后的社会工作服务中心" for _, name, _ in by_together) == 1
