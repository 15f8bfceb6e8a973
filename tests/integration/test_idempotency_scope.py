"""Idempotency keys over HTTP (issue 9, item 10): scoped by caller and route, the fingerprint
covers occurred_at, and a retry is recognised before authorisation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from servicekit.auth import Role
from services.registry.app import create_app
from tests.integration.apphost import running
from tests.support import auth, registration

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


def keyed(key: str, role: Role = Role.CITY_ADMIN, **scope: str) -> dict[str, str]:
    return {**auth(role, **scope), "Idempotency-Key": key}


def as_li(key: str) -> dict[str, str]:
    return keyed(key, Role.UNIT_OFFICER, unit="jinshui", sub="li")


async def test_two_callers_with_one_key_each_get_their_own_result(
    client: httpx.AsyncClient,
) -> None:
    alice = await client.post(REGISTER, json=registration(31), headers=keyed("k", sub="alice"))
    bob = await client.post(REGISTER, json=registration(32), headers=keyed("k", sub="bob"))
    assert (alice.status_code, bob.status_code) == (201, 201), bob.text
    assert bob.json()["stream_id"] == registration(32)["uscc"]
    assert bob.json()["duplicate"] is False


async def test_one_key_on_two_routes_is_two_commands(client: httpx.AsyncClient) -> None:
    body = registration(33)
    registered = await client.post(REGISTER, json=body, headers=keyed("k", sub="alice"))
    assert registered.status_code == 201, registered.text
    staff = {"uscc": body["uscc"], "full_time_staff": 9, "qualified_staff": 3}
    changed = await client.post(
        "/commands/change-agency-staff", json=staff, headers=keyed("k", sub="alice")
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["stream_version"] == 2


async def test_a_retry_with_another_occurrence_time_reuses_the_key(
    client: httpx.AsyncClient,
) -> None:
    body = registration(34)
    first = await client.post(
        REGISTER, json={**body, "occurred_at": "2019-05-01T09:00:00+08:00"}, headers=keyed("t")
    )
    assert first.status_code == 201, first.text
    same_instant = await client.post(
        REGISTER, json={**body, "occurred_at": "2019-05-01T01:00:00+00:00"}, headers=keyed("t")
    )
    assert same_instant.status_code == 200 and same_instant.json()["duplicate"] is True
    other = await client.post(
        REGISTER, json={**body, "occurred_at": "2019-05-02T09:00:00+08:00"}, headers=keyed("t")
    )
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_key_reused"


async def test_a_retry_is_answered_even_when_the_caller_lost_the_scope_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    body = registration(35)
    assert (await client.post(REGISTER, json=body, headers=auth())).status_code == 201
    staff = {"uscc": body["uscc"], "full_time_staff": 8, "qualified_staff": 3}
    first = await client.post("/commands/change-agency-staff", json=staff, headers=as_li("staff-1"))
    assert first.status_code == 201, first.text
    moved = await client.post(
        "/commands/amend-agency-profile",
        json={"uscc": body["uscc"], "amended_on": "2020-01-01", "reporting_unit": "erqi"},
        headers=auth(),
    )
    assert moved.status_code == 201, moved.text

    # The agency is now outside li's unit; li's retry still gets the original answer.
    retry = await client.post("/commands/change-agency-staff", json=staff, headers=as_li("staff-1"))
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicate"] is True
    assert retry.json()["events"] == first.json()["events"]
    fresh = await client.post("/commands/change-agency-staff", json=staff, headers=as_li("staff-2"))
    assert fresh.status_code == 403
