"""The operator's rebuild of reporting builds a new generation; reports never go empty meanwhile.

The rebuild used to empty the live view and re-read it in place while readiness said `ready`:
reports answered with zero targets until it had caught up.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from servicekit.settings import ServiceSettings
from services.reporting import readmodel
from services.reporting.rebuild import run_replay
from services.reporting.replay import next_generation
from tests.integration.reporting.dataset import (
    EXPECTED_ZHONGYUAN,
    envelope,
    known_history,
    publish,
)
from tests.integration.reporting.test_reporting import zhongyuan
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra


async def test_a_rebuild_over_http_switches_generations_without_an_empty_moment(
    reporting: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    await publish(producer, known_history())

    async def caught_up() -> bool:
        row = await zhongyuan(reporting)
        return all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items())

    await wait_for(caught_up, timeout=60)
    status = (await reporting.get("/projection/status", headers=auth())).json()
    before = status["generation"]
    consumer = await _live_consumer_name(reporting)
    answer = await reporting.post(f"/admin/consumers/{consumer}/rebuild", headers=auth())
    assert answer.status_code == 202, answer.text

    seen: list[bool] = []

    async def switched() -> bool:
        row = await zhongyuan(reporting)
        seen.append(all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items()))
        now = (await reporting.get("/projection/status", headers=auth())).json()
        return bool(now["generation"] != before)

    await wait_for(switched, timeout=120, interval=0.02)
    assert all(seen), "a report answered from a half-built view during the rebuild"
    assert await caught_up()


async def _live_consumer_name(reporting: httpx.AsyncClient) -> str:
    # Asked of the service itself: the process's metrics also hold earlier tests' consumers.
    status = (await reporting.get("/projection/status", headers=auth())).json()
    name: str = status["consumer"]
    return name


async def test_a_rebuild_killed_before_its_switch_costs_the_service_nothing(
    reporting: httpx.AsyncClient, producer: AIOKafkaProducer, database_url: str
) -> None:
    """The operator's rebuild replays in a process of its own. An out-of-memory kill takes the
    largest process of the container: that process, not the service (at a million events the
    replay peaked at 489 MiB against the pod's 512 MiB limit, in the service's own process,
    which kept that memory after). Killed between its load and its switch, the service answers
    from the generation it had, the half-built one is dropped, and the next rebuild switches
    with every event once."""
    history = known_history()
    await publish(producer, history)

    async def caught_up() -> bool:
        row = await zhongyuan(reporting)
        return all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items())

    await wait_for(caught_up, timeout=60)
    before = (await _status(reporting))["generation"]
    consumer = await _live_consumer_name(reporting)
    holder = await asyncpg.connect(database_url)
    try:
        # The switch's lock on the generation pointer, held: the rebuild stops there, loaded.
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT current FROM reporting.generation FOR UPDATE")
        answer = await reporting.post(f"/admin/consumers/{consumer}/rebuild", headers=auth())
        assert answer.status_code == 202, answer.text
        again = await reporting.post(f"/admin/consumers/{consumer}/rebuild", headers=auth())
        assert again.status_code == 409, again.text  # one rebuild at a time per instance

        rebuild = await _rebuild_when(reporting, lambda r: bool(r.get("process")), 60)
        assert rebuild["state"] == "running" and rebuild["process"] != os.getpid()
        await wait_for(lambda: _switch_waiting(holder), timeout=120)
        os.kill(rebuild["process"], signal.SIGKILL)

        failed = await _rebuild_when(reporting, lambda r: r.get("state") == "failed", 30)
        assert "ended" in failed["error"]
        await held.rollback()
        assert (await _status(reporting))["generation"] == before
        assert await caught_up()
        # The half-built generation is dropped: nothing reads it, and a later rebuild's kept
        # generations are the ones readers used.
        assert await wait_for(lambda: _generations_are(holder, [before]), timeout=30)

        answer = await reporting.post(f"/admin/consumers/{consumer}/rebuild", headers=auth())
        assert answer.status_code == 202, answer.text

        done = await _rebuild_when(reporting, lambda r: r.get("state") != "running", 120)
        assert done["state"] == "switched", done
        status = await _status(reporting)
        assert status["generation"] == done["generation"] != before
        ids = [envelope(item, n).id for n, item in enumerate(history, start=1)]
        counted = await holder.fetchrow(
            f"SELECT count(*) AS n, count(DISTINCT event_id) AS d "
            f"FROM {done['generation']}.facts WHERE event_id = ANY($1::text[])",
            ids,
        )
        assert counted is not None and (counted["n"], counted["d"]) == (len(ids), len(ids))
        assert await caught_up()
    finally:
        await holder.close()


async def _status(reporting: httpx.AsyncClient) -> dict[str, Any]:
    answer = await reporting.get("/projection/status", headers=auth())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _rebuild_when(
    reporting: httpx.AsyncClient, wanted: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The instance's operator rebuild as /projection/status shows it, once `wanted`."""

    async def shown() -> dict[str, Any]:
        rebuild: dict[str, Any] = (await _status(reporting)).get("rebuild") or {}
        return rebuild if rebuild and wanted(rebuild) else {}

    return await wait_for(shown, timeout=timeout)


async def _switch_waiting(conn: asyncpg.Connection) -> bool:
    """The rebuild reached its switch: a session waits at the switch's lock on the pointer, or
    at its locks on the live consumer's partitions (while a live batch holds them, itself
    waiting for the pointer this test holds), or the live consumer waits at those (the switch
    took them first, then waits for the pointer)."""
    await conn.execute("SELECT pg_stat_clear_snapshot()")  # else read once a transaction
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND (query LIKE '%FROM reporting.generation FOR UPDATE%' "
            "OR query LIKE '%pg_advisory_xact_lock%') AND pid <> pg_backend_pid()"
        )
    )


async def _generations_are(conn: asyncpg.Connection, expected: list[str]) -> bool:
    rows = await conn.fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname ~ '^reporting_g[0-9]+$' ORDER BY 1"
    )
    return [r["nspname"] for r in rows] == expected


async def test_a_generation_named_meanwhile_by_another_rebuild_is_not_taken(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rebuilds at once (two instances, or the command beside one) each read the newest
    generation and name the next: the second to create it takes the one after."""
    pool = await create_pool(database_url, max_size=2)
    try:
        await EventStore(pool, "reporting").create_schema()  # the service's own schema
        first = await next_generation(pool)
        listed = readmodel.generations
        calls = 0

        async def as_read_before_the_other_created_it(conn: asyncpg.Connection) -> list[str]:
            nonlocal calls
            calls += 1
            found = await listed(conn)
            return [g for g in found if g != first] if calls == 1 else found

        monkeypatch.setattr(readmodel, "generations", as_read_before_the_other_created_it)
        second = await next_generation(pool)
        assert first != second and calls == 2
    finally:
        await pool.close()


async def test_a_replay_keeps_the_generation_readers_had_not_a_half_built_one(
    reporting: httpx.AsyncClient, producer: AIOKafkaProducer, database_url: str
) -> None:
    """A replay stopped before its switch (Ctrl-C on the command, the service stopped during
    an operator's rebuild) leaves its generation half-built. The next replay's switch keeps the
    generation readers were on (they may be mid-query) and drops that one."""
    await publish(producer, known_history())  # beside the service, whose schema is made
    readers_had = (await _status(reporting))["generation"]
    pool = await create_pool(database_url, max_size=2)
    try:
        half_built = await next_generation(pool)  # named, never loaded nor switched to
        outcome = await run_replay(ServiceSettings(), switch=True, keep=2, shown=False)
        assert outcome["switched"], outcome
        async with pool.acquire() as conn:
            assert await readmodel.generations(conn) == [readers_had, outcome["generation"]]
            assert half_built != outcome["generation"]
    finally:
        await pool.close()
