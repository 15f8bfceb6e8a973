"""What a caller sends is bounded at the edge, and a database outage is a 503, never a 500.

Issue 9, items 6 and 12: a 1.1 MB field was stored and then refused by Kafka, stopping the topic;
while PostgreSQL was down the services answered 500 with a traceback, once for a stored command.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from devstack.postgres import PostgresProcess, start_postgres

from servicekit.http import connection_lost
from servicekit.settings import ServiceSettings
from services.registry.app import create_app as create_registry
from services.supervision.app import create_app as create_supervision
from tests.conftest import TEST_SECRET, Infra
from tests.integration.apphost import running
from tests.support import auth, registration, stored_events, wait_for

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"
LIMIT = 256 * 1024  # the documented default of HTTP_MAX_BODY_BYTES
CHUNK = 16 * 1024


@pytest.fixture
async def registry(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_registry) as client:
        yield client


@pytest.fixture
async def supervision(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_supervision) as client:
        yield client


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


def test_the_documented_default_limit() -> None:
    assert ServiceSettings.model_fields["http_max_body_bytes"].default == LIMIT


# --------------------------------------------------------------------------- body size


@pytest.mark.parametrize("size", [1_100_000, 300 * 1024], ids=["1.1MB", "300KiB"])
async def test_an_oversized_body_is_refused_and_nothing_is_stored(
    registry: httpx.AsyncClient, database_url: str, size: int
) -> None:
    body = {**registration(1), "charter_scope": "社区服务" * (size // 12)}
    response = await registry.post(REGISTER, json=body, headers=auth())
    found = problem(response, 413, "payload_too_large")
    assert found["max_bytes"] == LIMIT
    assert await stored_events(database_url) == 0


async def test_a_chunked_oversized_body_is_refused_without_reading_it_all(
    registry: httpx.AsyncClient, database_url: str
) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"charter_scope": "'
        for _ in range(4 * LIMIT // CHUNK):  # 1 MiB in all, with no Content-Length
            sent.append(CHUNK)
            yield b"x" * CHUNK

    response = await registry.post(
        REGISTER, content=chunks(), headers={**auth(), "content-type": "application/json"}
    )
    problem(response, 413, "payload_too_large")
    assert sum(sent) <= LIMIT + CHUNK, "read on past the limit"
    assert await stored_events(database_url) == 0


async def test_a_body_at_the_limit_is_read(registry: httpx.AsyncClient) -> None:
    # Under the limit the body reaches validation (here: a field too long, 422), not a 413.
    body = {**registration(2), "charter_scope": "x" * (LIMIT - 2048)}
    response = await registry.post(REGISTER, json=body, headers=auth())
    problem(response, 422, "invalid_request")


# --------------------------------------------------------------------------- field lengths


async def test_an_over_long_name_is_refused(registry: httpx.AsyncClient, database_url: str) -> None:
    body = {**registration(3), "name": "郑" * 201}
    response = await registry.post(REGISTER, json=body, headers=auth())
    found = problem(response, 422, "invalid_request")
    assert ["body", "name"] in [e["location"] for e in found["errors"]]
    assert await stored_events(database_url) == 0


async def test_a_name_at_its_bound_is_accepted(registry: httpx.AsyncClient) -> None:
    body = {**registration(4), "name": "郑" * 200}
    response = await registry.post(REGISTER, json=body, headers=auth())
    assert response.status_code == 201, response.text


async def test_an_over_long_reason_is_refused(registry: httpx.AsyncClient) -> None:
    response = await registry.post(
        "/commands/deregister-agency",
        json={"uscc": registration(5)["uscc"], "reason": "因" * 4001},
        headers=auth(),
    )
    found = problem(response, 422, "invalid_request")
    assert ["body", "reason"] in [e["location"] for e in found["errors"]]


async def test_over_long_supervision_facts_are_refused(supervision: httpx.AsyncClient) -> None:
    body = {
        "uscc": registration(6)["uscc"],
        "violation_id": str(uuid.uuid4()),
        "category": "subletting",
        "severity": "serious",
        "facts": "违" * 4001,
        "evidence_ref": "检查记录 2024-01",
        "found_on": "2024-01-05",
    }
    response = await supervision.post("/commands/record-violation", json=body, headers=auth())
    found = problem(response, 422, "invalid_request")
    assert ["body", "facts"] in [e["location"] for e in found["errors"]]


# --------------------------------------------------------------------------- database outage


class Collected(logging.Handler):
    """Collects the structlog event names that reach the root logger."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        event = record.msg.get("event") if isinstance(record.msg, dict) else record.getMessage()
        self.events.append(str(event))

    def count(self, event: str) -> int:
        return self.events.count(event)


def chained(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


def test_what_counts_as_a_lost_database_connection() -> None:
    closed = "cannot call Transaction.__aexit__(): the underlying connection is closed"
    assert connection_lost(asyncpg.InterfaceError(closed))
    assert connection_lost(asyncpg.ConnectionDoesNotExistError("connection was closed"))
    assert connection_lost(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert connection_lost(asyncpg.TooManyConnectionsError("too many clients"))
    assert connection_lost(ConnectionRefusedError(111, "Connect call failed"))
    assert connection_lost(TimeoutError())
    misuse = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert not connection_lost(misuse)  # a bug in the code: stays a 500 with its trace
    assert connection_lost(chained(misuse, asyncpg.ConnectionDoesNotExistError("gone")))
    assert not connection_lost(asyncpg.UniqueViolationError("duplicate key"))
    assert not connection_lost(ValueError("no"))


@pytest.fixture
async def private_postgres(tmp_path: Path) -> AsyncIterator[PostgresProcess]:
    """A PostgreSQL server of this test's own: the test stops it (never the shared one)."""
    server = await asyncio.to_thread(start_postgres, tmp_path / "postgres")
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
def private_env(
    infra: Infra, private_postgres: PostgresProcess, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "DATABASE_URL": private_postgres.url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "RELAY_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def collected() -> Iterator[Collected]:
    handler = Collected()
    yield handler
    logging.getLogger().removeHandler(handler)


async def test_a_database_outage_is_a_503_logged_once_and_a_retry_is_safe(
    private_env: dict[str, str], private_postgres: PostgresProcess, collected: Collected
) -> None:
    key = {"Idempotency-Key": f"edge-{uuid.uuid4()}"}
    async with running(create_registry) as client:
        logging.getLogger().addHandler(collected)  # after the lifespan configured logging
        first = await client.post(REGISTER, json=registration(10), headers=auth())
        assert first.status_code == 201, first.text

        await asyncio.to_thread(private_postgres.crash)  # pg_ctl stop -m immediate
        command = registration(11)
        for _ in range(3):
            response = await client.post(REGISTER, json=command, headers={**auth(), **key})
            found = problem(response, 503, "database_unavailable")
            assert response.headers["Retry-After"] == "5"
            assert "Idempotency-Key" in found["detail"]
        problem(await client.get("/agencies", headers=auth()), 503, "database_unavailable")
        assert (await client.get("/health/ready")).status_code == 503
        assert collected.count("database.unavailable") == 1, collected.events
        assert collected.count("database.available") == 0

        await asyncio.to_thread(private_postgres.start_again)
        statuses: list[int] = []

        async def retried() -> httpx.Response | None:
            response = await client.post(REGISTER, json=command, headers={**auth(), **key})
            statuses.append(response.status_code)
            return response if response.status_code != 503 else None

        answer = await wait_for(retried, timeout=30, interval=0.5)
        assert answer is not None
        assert answer.status_code in (200, 201), answer.text
        assert 500 not in statuses
        assert collected.count("database.unavailable") == 1, collected.events
        assert collected.count("database.available") == 1, collected.events
        again = await client.post(REGISTER, json=command, headers={**auth(), **key})
        assert again.status_code == 200 and again.json()["duplicate"] is True
    assert "http.unexpected_error" not in collected.events
