"""`python -m services.supervision rebuild-read-model`: the credit files again, from the log."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from servicekit.auth import Role
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from tests.integration.supervision.conftest import Apps
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[3]
# The tables supervision's inline projection keeps, and their keys.
OWN_TABLES = {
    "credit_files": "uscc",
    "rectifications": "rectification_id",
    "annual_reports": "uscc, year",
    "listings": "listing_id",
}


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [
            dict(r) for r in await conn.fetch(f"SELECT * FROM supervision.{table} ORDER BY {key}")
        ]
        for table, key in OWN_TABLES.items()
    }


async def rebuild_command(env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.supervision",
        "rebuild-read-model",
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_read_model_rebuilt_from_the_log_is_identical(
    apps: Apps, service_env: dict[str, str]
) -> None:
    uscc = await apps.register(4301)
    violation_id = str(uuid.uuid4())
    officer = auth(Role.UNIT_OFFICER, unit="jinshui")
    steps = [
        (
            "record-violation",
            {
                "violation_id": violation_id,
                "category": "office_subletting",
                "severity": "serious",
                "facts": "检查发现该机构将办公室转借他人",
                "evidence_ref": "JSMZ-JC-2024-0408-02",
                "found_on": "2024-04-08",
            },
        ),
        (
            "order-rectification",
            {
                "rectification_id": str(uuid.uuid4()),
                "violation_id": violation_id,
                "requirements": "收回办公室，提交书面整改报告",
                "deadline": "2024-04-30",
                "ordered_on": "2024-04-09",
            },
        ),
    ]
    for command, body in steps:
        answer = await apps.supervision.post(
            f"/commands/{command}", json={"uscc": uscc, **body}, headers=officer
        )
        assert answer.status_code == 201, answer.text
    # Time makes the rectification overdue and lists the agency (a rectification and a listing).
    checked = await apps.supervision.post(
        "/commands/run-scheduled-checks", json={"as_of": "2024-05-01"}, headers=auth()
    )
    assert checked.json()["overdue"], checked.text

    conn = await asyncpg.connect(apps.database_url)
    try:
        before = await snapshot(conn)
        assert all(before[t] for t in ("credit_files", "rectifications", "listings")), before
        await conn.execute("UPDATE supervision.rectifications SET status = 'corrupted'")
        await conn.execute("DELETE FROM supervision.listings")
        await conn.execute("INSERT INTO supervision.annual_reports VALUES ('x', 2000)")
        said = await rebuild_command(service_env)
        after = await snapshot(conn)
    finally:
        await conn.close()
    assert "supervision read model rebuilt: " in said
    assert after == before
    assert dt.date(2024, 5, 1) in {x["listed_on"] for x in after["listings"]}


async def test_a_rebuild_never_deadlocks_with_a_command_that_read_a_learned_table(
    apps: Apps, service_env: dict[str, str]
) -> None:
    """A command reads a table learned from another topic (`residencies`), then loads its stream,
    which takes the append hold shared. A rebuild that took the hold first and then ran the
    read model's DDL (whose ALTER TABLE waits for every reader of `residencies`) deadlocked
    with it: seen in the fault suite, two supervision instances under load."""
    uscc = await apps.register(4302)
    pool = await create_pool(apps.database_url)
    store = EventStore(pool, "supervision")
    try:
        async with pool.acquire() as command, command.transaction():
            await command.fetch("SELECT * FROM supervision.residencies LIMIT 1")
            rebuild = asyncio.create_task(rebuild_command(service_env))

            async def rebuild_waits_for_a_lock() -> bool:
                waiting = await pool.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                return bool(waiting) or rebuild.done()

            await wait_for(rebuild_waits_for_a_lock, timeout=30)
            loaded = await store.load(f"credit-file-{uscc}", conn=command)
            assert loaded.in_transaction
        said = await asyncio.wait_for(rebuild, timeout=30)
    finally:
        await pool.close()
    assert "supervision read model rebuilt: " in said
