"""Bad input is a clear 4xx problem that stores nothing, never a 500 (found by fuzzing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.registry.app import create_app as create_registry
from services.reporting.app import create_app as create_reporting
from services.supervision.app import create_app as create_supervision
from tests.integration.apphost import running
from tests.support import auth, registration, stored_events

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"
HUGE = "99999999999999999999"  # beyond int64


@pytest.fixture
async def registry(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_registry) as client:
        yield client


@pytest.fixture
async def reporting(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_reporting) as client:
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
    return body


async def test_nul_character_in_a_command_field(
    registry: httpx.AsyncClient, database_url: str
) -> None:
    body = {**registration(1), "name": "郑州市\u0000社工服务中心"}
    response = await registry.post(REGISTER, json=body, headers=auth())
    found = problem(response, 422, "invalid_characters")
    assert found["errors"][0]["location"] == ["body", "name"]
    assert await stored_events(database_url) == 0


async def test_lone_surrogate_in_a_command_field(
    registry: httpx.AsyncClient, database_url: str
) -> None:
    content = '{"uscc": "\\ud800", "reason": "x"}'  # a JSON escape Python decodes, UTF-8 cannot
    response = await registry.post(
        "/commands/deregister-agency",
        content=content,
        headers={**auth(), "content-type": "application/json"},
    )
    problem(response, 422, "invalid_characters")
    assert await stored_events(database_url) == 0


async def test_nul_character_in_a_path_id(registry: httpx.AsyncClient) -> None:
    problem(await registry.get("/agencies/a%00b", headers=auth()), 422, "invalid_value")


async def test_nul_character_in_a_query_filter(registry: httpx.AsyncClient) -> None:
    response = await registry.get("/agencies", params={"name_contains": "\u0000"}, headers=auth())
    problem(response, 422, "invalid_value")


async def test_offset_beyond_int64(registry: httpx.AsyncClient) -> None:
    response = await registry.get("/agencies", params={"offset": HUGE}, headers=auth())
    problem(response, 422, "invalid_value")


async def test_occurred_at_before_year_one_in_utc(
    registry: httpx.AsyncClient, database_url: str
) -> None:
    body = {**registration(2), "occurred_at": "0001-01-01T00:00:00+08:00"}
    response = await registry.post(REGISTER, json=body, headers=auth())
    problem(response, 422, "time_out_of_range")
    assert await stored_events(database_url) == 0


async def test_history_recorded_until_out_of_range(registry: httpx.AsyncClient) -> None:
    response = await registry.get(
        "/agencies/X/history",
        params={"recorded_until": "0001-01-01T00:00:00+08:00"},
        headers=auth(),
    )
    problem(response, 422, "invalid_value")


async def test_redrive_dead_letter_id_beyond_int64(registry: httpx.AsyncClient) -> None:
    response = await registry.post(f"/admin/dead-letters/{HUGE}/redrive", headers=auth())
    problem(response, 422, "invalid_value")


@pytest.mark.parametrize("recorded_until", ["9999-12-31", "9999-12-31T23:59:59-08:00"])
async def test_report_recorded_until_at_the_end_of_time(
    reporting: httpx.AsyncClient, recorded_until: str
) -> None:
    response = await reporting.get(
        "/reports/targets", params={"recorded_until": recorded_until}, headers=auth()
    )
    problem(response, 422, "invalid_recorded_until")


async def test_report_recorded_until_before_year_one_in_utc(reporting: httpx.AsyncClient) -> None:
    response = await reporting.get(
        "/reports/coverage",
        params={"recorded_until": "0001-01-01T00:00:00+08:00"},
        headers=auth(),
    )
    problem(response, 422, "invalid_recorded_until")


async def test_reporting_agencies_offset_beyond_int64(reporting: httpx.AsyncClient) -> None:
    response = await reporting.get("/agencies", params={"offset": HUGE}, headers=auth())
    problem(response, 422, "invalid_value")


async def test_coming_clock_events_past_the_end_of_time(supervision: httpx.AsyncClient) -> None:
    response = await supervision.get(
        "/credit-lists-coming", params={"as_of": "9999-12-31"}, headers=auth()
    )
    problem(response, 422, "invalid_value")
