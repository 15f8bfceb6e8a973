"""Once routing has brought a command's POST to its route, later POSTs to that path go to the
route straight from the edge (issue 12: four middleware layers and two nested routers were a
tenth of the registry's CPU). Every answer stays what the routed request gave: the same
refusals through the same exception handlers, the same edge headers; whatever the route
declines still takes the full path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from servicekit.auth import Role
from services.registry.app import create_app
from tests.integration.apphost import running
from tests.integration.test_command_request import JSON, REGISTER, body, forged
from tests.support import auth, stored_events

pytestmark = pytest.mark.infra


@pytest.fixture
async def learned(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A registry whose register-agency route was reached once through routing."""
    async with running(create_app) as client:
        first = await client.post(REGISTER, content=body(90), headers={**auth(), **JSON})
        assert first.status_code == 201, first.text
        yield client


@pytest.fixture
def unrouted(learned: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing refuses to run from now on: what is answered was answered from the edge."""

    async def refused(*_: Any) -> None:
        raise AssertionError("the request went through routing")

    monkeypatch.setattr(fastapi.routing.APIRouter, "__call__", refused)


@pytest.mark.usefixtures("unrouted")
@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (body(), {**forged(), **JSON}, 401, "unauthenticated"),
        (body(), {**auth(Role.AUDITOR), **JSON}, 403, "forbidden"),
        (body(), {**auth(), **JSON, "If-Match": "3"}, 409, "concurrency_conflict"),
        (body(name="a\u0000b"), {**auth(), **JSON}, 422, "invalid_characters"),
        (body(occurred_at="2020-01-01T00:00:00"), {**auth(), **JSON}, 422, "naive_time"),
        (body(full_time_staff=0, qualified_staff=0), {**auth(), **JSON}, 422, "rules_violated"),
    ],
)
async def test_a_refusal_after_the_route_is_known_is_answered_as_before(
    learned: httpx.AsyncClient,
    database_url: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await learned.post(
        REGISTER, content=content, headers={**headers, "X-Correlation-ID": "c-9"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Correlation-ID"] == "c-9"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    problem = response.json()
    assert problem["code"] == code and problem["instance"] == REGISTER, problem
    assert await stored_events(database_url) == 1  # the first registration alone


@pytest.mark.usefixtures("unrouted")
async def test_a_command_after_the_route_is_known_is_accepted_and_retried_as_before(
    learned: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**auth(), **JSON, "Idempotency-Key": "k-9"}
    first = await learned.post(REGISTER, content=body(91), headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["ETag"] == "1" and first.headers["X-Frame-Options"] == "DENY"
    retry = await learned.post(REGISTER, content=body(91), headers=headers)
    assert retry.status_code == 200 and retry.json() == {**first.json(), "duplicate": True}
    assert await stored_events(database_url) == 2


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {**auth(), **JSON}, 400, "malformed_json"),
        (body(), {**auth(), **JSON, "If-Match": "abc"}, 422, "invalid_request"),
        (body(), {**auth()}, 422, "invalid_request"),
    ],
)
async def test_what_the_route_declines_still_takes_the_full_path(
    learned: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = await learned.post(REGISTER, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_another_path_is_routed(learned: httpx.AsyncClient) -> None:
    uscc = json.loads(body(90))["uscc"]
    changed = await learned.post(
        "/commands/change-agency-staff",
        content=json.dumps({"uscc": uscc, "full_time_staff": 7, "qualified_staff": 3}),
        headers={**auth(), **JSON, "If-Match": "1"},
    )
    assert changed.status_code == 201, changed.text
    missing = await learned.post("/commands/no-such-command", content=b"{}", headers=auth())
    assert missing.status_code == 404
