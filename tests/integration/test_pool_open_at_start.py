"""A service opens its pool's connections while it starts, not under its first burst of
requests (issue 12, session 20: at 200 commands/s the load's first second still waited on
connections opened then), and a PostgreSQL that refuses some of them does not stop the start."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.registry.app import create_app as create_registry
from tests.conftest import as_role
from tests.integration.apphost import running
from tests.support import auth, registration

pytestmark = pytest.mark.infra


async def connections_to(database_url: str) -> int:
    """Backends connected to the test's database, this look's own left out."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


@pytest.fixture
async def limited_role(database_url: str, service_roles: dict[str, str]) -> AsyncIterator[str]:
    """The registry's own role, which PostgreSQL lets hold five connections (the service uses
    four while idle): the same refusal, SQLSTATE 53300, as a server at its max_connections."""
    role = service_roles["registry"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 5')
        yield role
    finally:
        await conn.close()


async def test_a_service_has_its_whole_pool_open_when_it_is_ready(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_POOL_MAX", "7")
    async with running(create_registry):
        assert await connections_to(service_env["DATABASE_URL"]) == 7


async def test_a_service_starts_and_takes_commands_when_postgresql_refuses_part_of_its_pool(
    service_env: dict[str, str],
    limited_role: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", as_role(service_env["DATABASE_URL"], limited_role))
    monkeypatch.setenv("DB_POOL_MAX", "8")
    async with running(create_registry) as client:
        answer = await client.post(
            "/commands/register-agency", json=registration(1), headers=auth()
        )
        assert answer.status_code == 201, answer.text
    # As an operator reads it: the service's JSON lines on its standard error.
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if "{" in line[:1]]
    opened = [entry for entry in lines if entry["event"] == "pool.opened_in_part"]
    assert len(opened) == 1, lines
    assert (opened[0]["opened"], opened[0]["of"]) == (5, 8)
    assert "too many connections" in opened[0]["reason"]
    assert opened[0]["level"] == "warning"
