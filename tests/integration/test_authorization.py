"""Each role at the edge of its scope: a refused command is a 403 and stores nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from servicekit.auth import Role
from services.registry.app import create_app
from tests.integration.apphost import running
from tests.integration.test_registry_api import REGISTER
from tests.support import TOKENS, auth, registration, stored_events

pytestmark = pytest.mark.infra


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


async def test_no_token_or_bad_token_is_401(client: httpx.AsyncClient, database_url: str) -> None:
    assert (await client.post(REGISTER, json=registration(1))).status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.wrong"}
    response = await client.post(REGISTER, json=registration(1), headers=forged)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.get("/agencies")).status_code == 401
    assert await stored_events(database_url) == 0


async def test_token_signed_with_another_key_is_401(client: httpx.AsyncClient) -> None:
    import datetime as dt

    from servicekit.auth import TokenSettings, issue_token

    other = TokenSettings(
        "another-secret-0123456789abcdef-long-enough", TOKENS.issuer, TOKENS.audience
    )
    token = issue_token(other, subject="x", role=Role.CITY_ADMIN, now=dt.datetime.now(dt.UTC))
    response = await client.post(
        REGISTER, json=registration(1), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_unit_officer_registers_in_own_unit_only(
    client: httpx.AsyncClient, database_url: str
) -> None:
    own = await client.post(
        REGISTER, json=registration(1), headers=auth(Role.UNIT_OFFICER, unit="jinshui")
    )
    assert own.status_code == 201
    other = await client.post(
        REGISTER, json=registration(2), headers=auth(Role.UNIT_OFFICER, unit="erqi")
    )
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    assert await stored_events(database_url) == 1


async def test_unit_officer_acts_only_on_agencies_of_own_unit(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = registration(3)
    await client.post(REGISTER, json=body, headers=auth())
    suspend = {"uscc": body["uscc"], "reason": "检查"}
    denied = await client.post(
        "/commands/suspend-agency", json=suspend, headers=auth(Role.UNIT_OFFICER, unit="erqi")
    )
    assert denied.status_code == 403
    allowed = await client.post(
        "/commands/suspend-agency", json=suspend, headers=auth(Role.UNIT_OFFICER, unit="jinshui")
    )
    assert allowed.status_code == 201


async def test_moving_an_agency_needs_the_destination_unit(client: httpx.AsyncClient) -> None:
    body = registration(4)
    await client.post(REGISTER, json=body, headers=auth())
    move = {"uscc": body["uscc"], "amended_on": "2020-01-01", "reporting_unit": "erqi"}
    denied = await client.post(
        "/commands/amend-agency-profile", json=move, headers=auth(Role.UNIT_OFFICER, unit="jinshui")
    )
    assert denied.status_code == 403
    assert (
        await client.post("/commands/amend-agency-profile", json=move, headers=auth())
    ).status_code == 201


@pytest.mark.parametrize(
    ("role", "scope"),
    [(Role.AUDITOR, {}), (Role.INTEGRATOR, {}), (Role.BASE_OPERATOR, {"base": "base-1"})],
)
async def test_read_only_roles_cannot_write(
    client: httpx.AsyncClient, database_url: str, role: Role, scope: dict[str, str]
) -> None:
    response = await client.post(REGISTER, json=registration(5), headers=auth(role, **scope))
    assert response.status_code == 403
    assert await stored_events(database_url) == 0


async def test_integrator_reads_events_not_registry_records(client: httpx.AsyncClient) -> None:
    assert (await client.get("/agencies", headers=auth(Role.INTEGRATOR))).status_code == 403
    assert (await client.get("/agencies", headers=auth(Role.AUDITOR))).status_code == 200
