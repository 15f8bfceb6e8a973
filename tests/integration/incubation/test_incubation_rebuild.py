"""`python -m services.incubation rebuild-read-model`: the read model again, from the log alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.rebuild import rebuild_read_model
from services.incubation.rebuild import READ_MODEL
from tests.integration.incubation.world import World, world

pytestmark = pytest.mark.infra

TABLES = {
    "bases": "base_id",
    "incubations": "incubation_id",
    "support": "event_id",
    "trainings": "base_id, session_id",
    "agencies": "uscc",
    "listings": "listing_id",
}


@pytest.fixture
async def w(service_env: dict[str, str]) -> AsyncIterator[World]:
    async with world() as both:
        yield both


async def snapshot(pool: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [
            dict(r) for r in await pool.fetch(f"SELECT * FROM incubation.{table} ORDER BY {key}")
        ]
        for table, key in TABLES.items()
    }


async def test_read_model_rebuilt_from_the_log_is_identical(w: World, database_url: str) -> None:
    await w.base()
    resident, refused = [await w.register() for _ in range(2)]
    resident_id = await w.admit(resident, "301")
    refused_id = await w.apply(refused)
    await w.ok(
        "reject-application",
        {"incubation_id": refused_id, "reasons": ["名额已满"], "rejected_on": "2023-05-20"},
    )
    await w.ok(
        "record-support",
        {
            "incubation_id": resident_id,
            "support_type": "funding",
            "funding_type": "venture_philanthropy",
            "amount_yuan": "50000.00",
            "description": "公益创投项目资助",
            "given_on": "2023-09-15",
        },
    )
    await w.ok(
        "record-training",
        {
            "base_id": w.base_id,
            "session_id": "00000000-0000-0000-0000-000000000001",
            "title": "项目设计与评估",
            "held_on": "2023-10-20",
            "hours": "3.5",
            "attendees": 46,
            "agency_usccs": [resident],
        },
    )
    pool = await create_pool(database_url)
    try:
        before = await snapshot(pool)
        assert all(before[t] for t in ("bases", "incubations", "support", "trainings", "agencies"))
        await pool.execute("UPDATE incubation.incubations SET status = 'corrupted', version = 99")
        await pool.execute("UPDATE incubation.bases SET name = 'corrupted'")
        await pool.execute("DELETE FROM incubation.support")
        await pool.execute("DELETE FROM incubation.trainings")
        rebuilt = await rebuild_read_model(EventStore(pool, "incubation"), READ_MODEL)
        after = await snapshot(pool)
    finally:
        await pool.close()
    assert (rebuilt["bases"], rebuilt["incubations"]) == (1, 2)
    assert after == before
