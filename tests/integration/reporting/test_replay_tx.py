"""A replay's facts have no writing transaction; the live consumer's facts after the switch do.

The facts' `tx` tells a held report whether a fact was committed after the snapshot it was read
in (readmodel.still_exact). Every fact a replay stores is committed before its generation is
switched to, so before any snapshot a reader of it takes: NULL (counted as old) is exact, and
the tx index, partial on a transaction being there, stays empty through the bulk load instead of
a sort of every fact after it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from benchmarks.history_generator import history, occurred_recorded, publish, topic_names
from servicekit.eventstore.store import create_pool
from services.reporting import readmodel
from services.reporting.domain.facts import fact_of
from services.reporting.replay import replay
from tests.conftest import Infra
from tests.integration.reporting.prepared import reporting_schema

pytestmark = pytest.mark.infra

G = "reporting_g2"
FAR = dt.date(2100, 1, 1)


async def test_a_live_fact_after_the_switch_is_seen_by_a_held_answer(
    infra: Infra, database_url: str
) -> None:
    prefix = f"test.replay-tx.{uuid.uuid4().hex[:8]}"
    await publish(infra.kafka, prefix, 2000)
    pool = await create_pool(database_url, max_size=4)
    try:
        await reporting_schema(pool)
        result = await replay(
            pool, infra.kafka, list(topic_names(prefix).values()), generation=G, switch=True
        )
        assert result.switched
        async with pool.acquire() as conn:
            with_tx = await conn.fetchval(f"SELECT count(*) FROM {G}.facts WHERE tx IS NOT NULL")
            held = await conn.fetchval("SELECT pg_current_snapshot()::text")
            replayed_only = await readmodel.still_exact(conn, G, held, FAR, None)
            item = next(iter(history(5)))
            occurred, recorded = occurred_recorded(item)
            live = fact_of(str(uuid.uuid4()), item.event, "live", occurred, recorded)
            await readmodel.insert_facts(conn, G, [live])  # the live consumer's insert
            after_live = await readmodel.still_exact(conn, G, held, FAR, None)
            await conn.execute("SET enable_seqscan = off")
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    f"EXPLAIN SELECT 1 FROM {G}.facts "
                    f"WHERE tx >= pg_snapshot_xmin('{held}'::pg_snapshot) "
                    f"AND NOT pg_visible_in_snapshot(tx, '{held}'::pg_snapshot)"
                )
            )
    finally:
        await pool.close()
    assert with_tx == 0
    assert replayed_only.snapshot is not None  # nothing replayed counts as after a reader
    assert after_live.snapshot is None  # the live fact committed after `held` does
    assert "facts_tx" in plan, plan
