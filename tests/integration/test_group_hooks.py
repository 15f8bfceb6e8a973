"""Commands with hooks (locks, a situation) in a group's batch (issue 12): incubation's and
supervision's commands, through the one command path (`servicekit.command_api.run_request`).

A batched command takes its locks with the group's others (one statement, one order), reads its
situation, and is read, decided and appended with them; a command sharing a lock key, a stream
or a command id with an earlier one runs alone after the batch, on what the batch wrote. Every
guarantee of a command run alone holds: capacity under concurrency, refusals failing alone,
retries answered from the first result, and a group lost at the database stores nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from devstack.postgres import PostgresProcess
from pydantic import BaseModel

from servicekit.command_table import CommandTable
from servicekit.db import Connection
from servicekit.eventstore import AppendResult, EventStore, IdempotencyKeyReused
from servicekit.eventstore.records import RecordedEvent
from servicekit.eventstore.store import create_pool
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.incubation import handlers as incubation
from services.incubation import readmodel as incubation_model
from services.incubation.domain import commands as icmd
from services.supervision import handlers as supervision
from services.supervision import readmodel as supervision_model
from services.supervision.domain import commands as scmd
from tests.faults.workload import _base, _commendation
from tests.support import logged_statements, one_lane_runtime, run_together

pytestmark = pytest.mark.infra

START = dt.date(2023, 3, 1)


async def _schemas(pool: asyncpg.Pool) -> None:
    await EventStore(pool, "incubation").create_schema()
    await EventStore(pool, "supervision").create_schema()
    async with pool.acquire() as conn:
        await conn.execute(incubation_model.DDL)
        await conn.execute(supervision_model.DDL)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # One connection, one lane: the commands of a test land in groups on the connection it watches.
    pool = await create_pool(database_url, max_size=1)
    await _schemas(pool)
    yield pool
    await pool.close()


async def _run_all(
    runtime: Runtime, table: CommandTable, commands: Sequence[tuple[BaseModel, str | None]]
) -> list[Any]:
    return await run_together(runtime, table, commands, "hooks")


def _update_facilities(base_id: str) -> icmd.UpdateFacilities:
    """One office more: the command takes the base's lock key (it runs alone after a batch)."""
    return icmd.UpdateFacilities.model_validate(
        {
            "base_id": base_id,
            "offices": [{"office_id": "301", "area_m2": "18.50"}],
            "has_desks_and_chairs": True,
            "has_projector": True,
            "fire_safety_compliant": True,
            "updated_on": "2023-06-01",
        }
    )


def _accepted(results: Sequence[Any]) -> list[AppendResult]:
    assert all(not isinstance(r, BaseException) for r in results), results
    return list(results)


async def _stored(pool: asyncpg.Pool, schema: str) -> dict[str, int]:
    rows = await pool.fetch(
        f"SELECT stream_id, count(*) AS n FROM {schema}.events GROUP BY stream_id"
    )
    return {r["stream_id"]: r["n"] for r in rows}


def _establish(base_id: str) -> icmd.EstablishBase:
    return icmd.EstablishBase.model_validate(_base(base_id))


async def test_new_bases_of_a_group_are_decided_together(pool: asyncpg.Pool) -> None:
    """Ten bases established in one group: their locks in one statement, one read, one insert,
    their read-model rows together — not a lock, a savepoint, a read, an insert and an upsert
    each (five statements a command before)."""
    runtime = one_lane_runtime(pool, "incubation")
    warm = [(_establish(f"warm-{n}"), None) for n in range(2)]  # the statements' types known
    _accepted(await _run_all(runtime, incubation.COMMANDS, warm))
    seen = await logged_statements(pool)
    results = _accepted(
        await _run_all(
            runtime, incubation.COMMANDS, [(_establish(f"base-{n}"), f"b{n}") for n in range(10)]
        )
    )
    await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: let them run

    assert [r.stream_version for r in results] == [1] * 10
    # BEGIN, a savepoint, the locks, the read, the insert, the upserts, COMMIT
    assert len([q for q in seen if "advisory_unlock_all" not in q]) <= 7, seen
    bases = await pool.fetchval("SELECT count(*) FROM incubation.bases")
    assert bases == 12
    assert await _stored(pool, "incubation") == {
        "warm-0": 1,
        "warm-1": 1,
        **{f"base-{n}": 1 for n in range(10)},
    }


async def _agencies(pool: asyncpg.Pool, count: int) -> list[str]:
    usccs = [f"5241010{n:03d}MJ0A1B2C" for n in range(count)]
    async with pool.acquire() as conn:
        for uscc in usccs:
            await supervision_model.add_agency(conn, uscc, f"机构{uscc}", "jinshui", START)
            await incubation_model.upsert_agency(
                conn, uscc, f"机构{uscc}", "jinshui", "active", 1, (5, 2)
            )
    return usccs


def _commend(uscc: str, n: int) -> scmd.RecordCommendation:
    return scmd.RecordCommendation.model_validate(_commendation(uscc, n))


async def test_supervision_commands_of_a_group_are_decided_together(pool: asyncpg.Pool) -> None:
    """Ten commendations of ten agencies: their situations (what the registry told of each
    agency) in one read, their streams in one read and one insert, their credit files' rows in
    one statement sent once for all (it was a read, a savepoint, a read, an insert and six
    statements of the read model each)."""
    usccs = await _agencies(pool, 10)
    runtime = one_lane_runtime(pool, "supervision")
    seen = await logged_statements(pool)
    commands = [(_commend(uscc, n), f"c{n}") for n, uscc in enumerate(usccs)]
    results = _accepted(await _run_all(runtime, supervision.COMMANDS, commands))
    await asyncio.sleep(0)

    assert [r.stream_version for r in results] == [1] * 10
    situations = [q for q in seen if "supervision.agencies" in q]
    assert len(situations) == 1, situations
    assert len([q for q in seen if "supervision.events" in q]) == 2, seen  # read, insert
    assert len([q for q in seen if "supervision.credit_files" in q]) == 1, seen
    assert await _stored(pool, "supervision") == dict.fromkeys(usccs, 1)


async def test_a_refusal_and_a_lock_shared_in_a_group(pool: asyncpg.Pool) -> None:
    """In one group: a base established and its facilities updated (one lock key: the update
    runs alone after the batch and sees the base), a base established twice under two keys (one
    stream: the second runs alone and is refused), a retry in flight (same key), a key reused
    for another command, and a refused command — each answered as if run alone."""
    runtime = one_lane_runtime(pool, "incubation")
    update = _update_facilities("x-1")
    bad = _establish("x-bad").model_copy(update={"name": " "})
    results = await _run_all(
        runtime,
        incubation.COMMANDS,
        [
            (_establish("x-1"), "k1"),
            (update, "k2"),
            (_establish("x-2"), "k3"),
            (_establish("x-2"), "k4"),
            (_establish("x-3"), "k5"),
            (_establish("x-3"), "k5"),
            (_establish("x-4"), "k5"),
            (bad, "k6"),
        ],
    )
    assert results[0].stream_version == 1 and results[1].stream_version == 2
    assert results[2].stream_version == 1
    assert isinstance(results[3], Problem) and results[3].status == 409
    assert not results[4].duplicate and results[5].duplicate
    assert [e.event_id for e in results[5].events] == [e.event_id for e in results[4].events]
    assert isinstance(results[6], IdempotencyKeyReused)
    assert isinstance(results[7], Problem) and results[7].status == 422
    assert await _stored(pool, "incubation") == {"x-1": 2, "x-2": 1, "x-3": 1}
    # Retried in a later group, every accepted one answers from its first result.
    again = await _run_all(
        runtime, incubation.COMMANDS, [(_establish("x-1"), "k1"), (_establish("x-3"), "k5")]
    )
    assert [r.duplicate for r in again] == [True, True]
    assert await _stored(pool, "incubation") == {"x-1": 2, "x-2": 1, "x-3": 1}


async def _ready_applications(runtime: Runtime, usccs: Sequence[str]) -> list[str]:
    """A base of two allottable offices, a call of two places, an application of each agency
    through every review stage: each waits for its approval."""
    steps: list[BaseModel] = [
        _establish("cap"),
        icmd.AdoptAdmissionStandard(
            base_id="cap",
            version=1,
            requirements=("金水区登记的初创社工机构",),
            agreement_template="JSMZ-FHXY-2023-v1",
            effective_from=dt.date(2023, 3, 15),
        ),
        icmd.PublishCall(
            base_id="cap",
            call_id="call-cap",
            title="2023年入孵申请通知",
            opens_on=dt.date(2023, 4, 1),
            closes_on=dt.date(2023, 4, 30),
            places=2,
            published_on=dt.date(2023, 3, 25),
        ),
    ]
    ids = [str(uuid.uuid4()) for _ in usccs]
    for incubation_id, uscc in zip(ids, usccs, strict=True):
        steps.append(
            icmd.SubmitApplication(
                incubation_id=incubation_id,
                base_id="cap",
                call_id="call-cap",
                uscc=uscc,
                submitted_on=dt.date(2023, 4, 10),
            )
        )
    for day, stage in enumerate(("intake", "first_review", "panel_review", "public_notice")):
        for incubation_id in ids:
            steps.append(
                icmd.ReviewApplication.model_validate(
                    {
                        "incubation_id": incubation_id,
                        "stage": stage,
                        "opinion": "通过",
                        "reviewed_on": f"2023-05-{day + 10}",
                    }
                )
            )
    for step in steps:
        _accepted(await _run_all(runtime, incubation.COMMANDS, [(step, None)]))
    return ids


async def test_concurrent_approvals_at_one_base_take_exactly_its_offices(
    pool: asyncpg.Pool,
) -> None:
    """Five approvals at a base of two allottable offices, in one group (with other bases'
    commands batched beside them): exactly two accepted, three refused for want of an office,
    none stored twice."""
    usccs = await _agencies(pool, 5)
    runtime = one_lane_runtime(pool, "incubation")
    ids = await _ready_applications(runtime, usccs)
    approvals: list[tuple[BaseModel, str | None]] = [
        (
            icmd.ApproveApplication(
                incubation_id=i, opinion="准予入孵", approved_on=dt.date(2023, 6, 1)
            ),
            f"a{n}",
        )
        for n, i in enumerate(ids)
    ]
    others: list[tuple[BaseModel, str | None]] = [(_establish(f"o-{n}"), f"o{n}") for n in range(3)]
    results = await _run_all(runtime, incubation.COMMANDS, [*others, *approvals])
    approved = [r for r in results[3:] if not isinstance(r, BaseException)]
    refused = [r for r in results[3:] if isinstance(r, Problem)]
    assert len(approved) == 2 and len(refused) == 3, results
    assert all("no_office_available" in [e["code"] for e in r.errors] for r in refused), refused
    _accepted(results[:3])
    held = await pool.fetchval(
        "SELECT count(*) FROM incubation.incubations WHERE base_id = 'cap' AND status = 'approved'"
    )
    assert held == 2
    twice = await pool.fetchval(
        "SELECT count(*) FROM (SELECT stream_id, stream_version FROM incubation.events "
        "GROUP BY 1, 2 HAVING count(*) > 1) t"
    )
    assert twice == 0


async def test_postgres_stopped_after_a_mixed_groups_batch_stores_none_of_it(
    crashing_postgres: PostgresProcess,
) -> None:
    """A group of bases decided together and a facilities update of one of them (its lock key
    taken: it runs alone after the batch): the database stops (immediate: a crash) once the
    batch inserted and while the update projects, before the commit. Every command of that
    group gets an error and none of it is stored; what an earlier group answered is all there
    after recovery; a retry with the same keys then stores each command once."""
    server = crashing_postgres

    def crash(_state: Any) -> Any:
        async def stop(conn: Connection, events: Sequence[RecordedEvent]) -> None:
            await asyncio.to_thread(server.crash)  # pg_ctl stop -m immediate

        return stop

    crashing: CommandTable = {
        **incubation.COMMANDS,
        icmd.UpdateFacilities: replace(incubation.BASE, inline=crash),
    }
    update = _update_facilities("d-0")
    accepted: list[tuple[BaseModel, str | None]] = [
        (_establish(f"c-{n}"), f"c{n}") for n in range(3)
    ]
    lost: list[tuple[BaseModel, str | None]] = [
        *((_establish(f"d-{n}"), f"d{n}") for n in range(3)),
        (update, "u"),
    ]
    pool = await create_pool(server.url, max_size=1)
    try:
        await _schemas(pool)
        runtime = one_lane_runtime(pool, "incubation")
        first = _accepted(await _run_all(runtime, incubation.COMMANDS, accepted))
        assert [r.stream_version for r in first] == [1] * 3
        second = await _run_all(one_lane_runtime(pool, "incubation"), crashing, lost)
        assert all(isinstance(r, Exception) for r in second), second
    finally:
        pool.terminate()
    await asyncio.to_thread(server.start_again)
    pool = await create_pool(server.url, max_size=1)
    try:
        assert await _stored(pool, "incubation") == {f"c-{n}": 1 for n in range(3)}
        assert await pool.fetchval("SELECT count(*) FROM incubation.commands") == 3
        assert await pool.fetchval("SELECT count(*) FROM incubation.bases") == 3
        again = _accepted(
            await _run_all(one_lane_runtime(pool, "incubation"), incubation.COMMANDS, lost)
        )
        assert [r.duplicate for r in again] == [False] * 4
        assert await _stored(pool, "incubation") == {
            **{f"c-{n}": 1 for n in range(3)},
            **{f"d-{n}": 2 if n == 0 else 1 for n in range(3)},
        }
    finally:
        await pool.close()


async def _open_base(runtime: Runtime, base_id: str) -> None:
    """A base with an admission standard and an open call (`call-<base>`)."""
    steps: list[BaseModel] = [
        _establish(base_id),
        icmd.AdoptAdmissionStandard(
            base_id=base_id,
            version=1,
            requirements=("金水区登记的初创社工机构",),
            agreement_template="JSMZ-FHXY-2023-v1",
            effective_from=dt.date(2023, 3, 15),
        ),
        icmd.PublishCall(
            base_id=base_id,
            call_id=f"call-{base_id}",
            title="2023年入孵申请通知",
            opens_on=dt.date(2023, 4, 1),
            closes_on=dt.date(2023, 4, 30),
            places=2,
            published_on=dt.date(2023, 3, 25),
        ),
    ]
    for step in steps:
        _accepted(await _run_all(runtime, incubation.COMMANDS, [(step, None)]))


def _application(base_id: str, uscc: str, incubation_id: str) -> icmd.SubmitApplication:
    return icmd.SubmitApplication(
        incubation_id=incubation_id,
        base_id=base_id,
        call_id=f"call-{base_id}",
        uscc=uscc,
        submitted_on=dt.date(2023, 4, 10),
    )


async def test_applications_of_a_group_are_decided_together_bar_those_sharing_a_lock(
    pool: asyncpg.Pool,
) -> None:
    """Applications to four bases by four agencies in one group are read and appended together;
    a second application to a base, or of an agency, already in the batch (a lock key shared)
    runs alone after it; an unknown agency's is refused alone. Each is stored once."""
    usccs = await _agencies(pool, 6)
    runtime = one_lane_runtime(pool, "incubation")
    for n in range(4):
        await _open_base(runtime, f"ap-{n}")
    seen = await logged_statements(pool)
    together = [(_application(f"ap-{n}", usccs[n], f"inc-{n}"), f"a{n}") for n in range(4)]
    results = _accepted(await _run_all(runtime, incubation.COMMANDS, together))
    await asyncio.sleep(0)
    assert [r.stream_version for r in results] == [1] * 4
    assert len([q for q in seen if "INSERT INTO incubation.events" in q]) == 1, seen

    mixed: list[tuple[BaseModel, str | None]] = [
        (_application("ap-0", usccs[4], "inc-4"), "m0"),
        (_application("ap-0", usccs[5], "inc-5"), "m1"),  # the base's lock: alone
        (_application("ap-1", usccs[4], "inc-6"), "m2"),  # the agency's lock: alone
        (_application("ap-2", "5241019999MJ0A1B2C", "inc-7"), "m3"),  # unknown agency
        (_application("ap-0", usccs[4], "inc-4"), "m0"),  # a retry in flight
    ]
    results = await _run_all(runtime, incubation.COMMANDS, mixed)
    assert [r.stream_version for r in results[:3]] == [1, 1, 1], results
    assert isinstance(results[3], Problem) and results[3].status == 422
    assert results[4].duplicate and results[4].events == results[0].events
    stored = await _stored(pool, "incubation")
    assert {k: v for k, v in stored.items() if k.startswith("inc-")} == {
        f"inc-{n}": 1 for n in range(7)
    }
    rows = await pool.fetchval(
        "SELECT count(*) FROM incubation.incubations WHERE status = 'submitted'"
    )
    assert rows == 7
