"""A fact's payload is kept as the JSON text its fact was serialised to, in a `json` column.

jsonb parsed every payload into its binary tree on the way in (1.4 µs a fact: 1.1 of the 1M
replay's 10 CPU seconds in PostgreSQL) and printed it back on every fold's read (`data::text`),
while no query reads into a payload beyond the two ids its partial indexes hold. A generation
made before keeps its jsonb column, and both writing paths still store into it.
"""

from __future__ import annotations

import asyncpg
import pytest

from benchmarks.history_generator import fact_rows
from services.reporting import readmodel
from services.reporting.domain.facts import Fact, FactRow, event_of_json, fact_of
from tests.integration.reporting.fold_oracle import G
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture

pytestmark = pytest.mark.infra


def live_facts(rows: list[FactRow]) -> list[Fact]:
    """The live consumer's form of the same facts (`fact_of`, a payload dict)."""
    return [
        fact_of(e, event_of_json(t, v, data), st, occurred, recorded)
        for e, _, t, v, st, _, _, _, occurred, recorded, data in rows
    ]


async def stored(pool: asyncpg.Pool, ids: list[str]) -> dict[str, tuple[str, object]]:
    """Each fact's payload as PostgreSQL prints it, and as the pool decodes it."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT event_id, data::text AS text, data FROM {G}.facts WHERE event_id = ANY($1)",
            ids,
        )
    return {r["event_id"]: (r["text"], r["data"]) for r in rows}


async def test_a_payload_is_stored_as_the_json_text_its_fact_was_serialised_to(
    pool: asyncpg.Pool,
) -> None:
    rows = list(fact_rows(400, seed=21))
    replayed, live = rows[:200], rows[200:]
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, replayed)  # the replay's path
        await readmodel.insert_facts(conn, G, live_facts(live))  # the live consumer's
    found = await stored(pool, [r[0] for r in rows])
    assert len(found) == len(rows)
    for row in rows:
        text, data = found[row[0]]
        assert text == row[10].decode()  # as serialised: not reprinted (jsonb adds spaces)
        assert isinstance(data, dict)  # the pools still decode a payload to a dict


async def test_a_generation_made_with_a_jsonb_payload_still_takes_facts_from_both_paths(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {G}.facts")
        await conn.execute(f"ALTER TABLE {G}.facts ALTER COLUMN data TYPE jsonb")
    rows = list(fact_rows(300, seed=22))
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.copy_fact_rows(conn, G, rows[:150])
        await readmodel.insert_facts(conn, G, live_facts(rows[150:]))
    found = await stored(pool, [r[0] for r in rows])
    assert {f.event_id: f.data for f in live_facts(rows)} == {
        k: data for k, (_, data) in found.items()
    }
