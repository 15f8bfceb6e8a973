"""A command route reads a plainly well-formed request itself (issue 12) and answers every other
one exactly as FastAPI's parameter solving does: each refusal a clear 4xx problem, never a 500,
nothing stored, the caller authenticated before the body is judged."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from servicekit.auth import Role, TokenSettings, issue_token
from services.registry.app import create_app
from tests.integration.apphost import running
from tests.support import auth, registration, stored_events

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"
JSON = {"content-type": "application/json"}
FORGED = TokenSettings("not-the-secret-" * 4, "socialwork-dev", "socialwork")


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


def body(serial: int = 1, **fields: Any) -> bytes:
    return json.dumps({**registration(serial), **fields}).encode()


def forged() -> dict[str, str]:
    signed = issue_token(
        FORGED, subject="tester", role=Role.CITY_ADMIN, now=dt.datetime.now(dt.UTC)
    )
    return {"Authorization": f"Bearer {signed}"}


async def test_a_valid_command_is_run_without_fastapi_parameter_solving(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI's parameter solving was a sixth of the registry's busy loop under wrk."""

    async def refused(**_: Any) -> Any:
        raise AssertionError("FastAPI solved a command route's parameters")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refused)
    first = await client.post(
        REGISTER,
        content=body(),
        headers={**auth(), **JSON, "Idempotency-Key": "k-1", "X-Correlation-ID": "c-1"},
    )
    assert first.status_code == 201, first.text
    assert first.headers["ETag"] == "1"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["X-Correlation-ID"] == "c-1"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    accepted = first.json()
    assert list(accepted) == ["stream_id", "stream_version", "events", "duplicate"]
    assert accepted["stream_version"] == 1 and accepted["duplicate"] is False
    assert accepted["events"][0]["type"] == "AgencyRegistered.v2"
    assert list(accepted["events"][0]) == ["event_id", "type", "position", "stream_version"]

    retry = await client.post(
        REGISTER, content=body(), headers={**auth(), **JSON, "Idempotency-Key": "k-1"}
    )
    assert retry.status_code == 200, retry.text
    assert retry.json() == {**accepted, "duplicate": True}

    uscc = accepted["stream_id"]
    changed = await client.post(
        "/commands/change-agency-staff",
        content=json.dumps({"uscc": uscc, "full_time_staff": 7, "qualified_staff": 3}),
        headers={**auth(), **JSON, "If-Match": "1"},
    )
    assert changed.status_code == 201, changed.text
    assert changed.headers["ETag"] == "2"


LONG_KEY = "k" * 201


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        # JSON is parsed before the caller is authenticated (FastAPI's order), the body's
        # fields are judged after it: 401 before 422.
        (b"{not json", {**JSON}, 400, "malformed_json"),
        (b"{not json", {**auth(), **JSON}, 400, "malformed_json"),
        (b'{"uscc": 5}', {**JSON}, 401, "unauthenticated"),
        (body(), {**JSON}, 401, "unauthenticated"),
        (body(), {**forged(), **JSON}, 401, "unauthenticated"),
        (body(), {"Authorization": "Basic dGVzdGVyOng=", **JSON}, 401, "unauthenticated"),
        (body(), {"Authorization": "Bearer not.a.token", **JSON}, 401, "unauthenticated"),
        (b'{"uscc": 5}', {**auth(), **JSON}, 422, "invalid_request"),
        (body(full_time_staff="many"), {**auth(), **JSON}, 422, "invalid_request"),
        (b"", {**auth(), **JSON}, 422, "invalid_request"),
        (b"[]", {**auth(), **JSON}, 422, "invalid_request"),
        (b"null", {**auth(), **JSON}, 422, "invalid_request"),
        (body(), {**auth(), "content-type": "text/plain"}, 422, "invalid_request"),
        (body(), {**auth()}, 422, "invalid_request"),  # no content type
        (body(), {**auth(), **JSON, "Idempotency-Key": LONG_KEY}, 422, "invalid_request"),
        (body(), {**auth(), **JSON, "If-Match": "abc"}, 422, "invalid_request"),
        (body(), {**auth(), **JSON, "If-Match": "-1"}, 422, "invalid_request"),
        (body(), {**auth(), **JSON, "If-Match": str(2**63)}, 422, "invalid_request"),
        (body(), {**auth(), **JSON, "If-Match": "3"}, 409, "concurrency_conflict"),
        (body(name="a\u0000b"), {**auth(), **JSON}, 422, "invalid_characters"),
        (
            body().replace(b'"name": "', b'"name": "\\ud800'),
            {**auth(), **JSON},
            422,
            "invalid_characters",
        ),
        (body(occurred_at="2020-01-01T00:00:00"), {**auth(), **JSON}, 422, "naive_time"),
        (body(address="x" * 300_000), {**auth(), **JSON}, 413, "payload_too_large"),
    ],
)
async def test_every_other_request_is_refused_as_before_and_stores_nothing(
    client: httpx.AsyncClient,
    database_url: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await client.post(REGISTER, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["title"] and problem["detail"], problem
    assert problem["instance"] == REGISTER
    assert await stored_events(database_url) == 0


async def test_a_refused_header_is_located(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER, content=body(), headers={**auth(), **JSON, "Idempotency-Key": LONG_KEY}
    )
    locations = [error["location"] for error in response.json()["errors"]]
    assert locations == [["header", "Idempotency-Key"]]


async def test_of_duplicated_headers_the_first_counts(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """As FastAPI reads a header parameter: the first of several, the others ignored."""
    headers = [
        *auth().items(),
        *JSON.items(),
        ("If-Match", "abc"),
        ("If-Match", "0"),
    ]
    refused = await client.post(REGISTER, content=body(), headers=headers)
    assert refused.status_code == 422, refused.text
    headers = [*auth().items(), *JSON.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    first = await client.post(REGISTER, content=body(2), headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(REGISTER, content=body(2), headers=[*headers[:-1]])
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert await stored_events(database_url) == 1


@pytest.mark.parametrize(
    "content",
    [
        "\ufeff".encode() + body(),  # a byte-order mark
        body().decode().encode("utf-16"),
        body().replace(b", ", b",\n  "),
        body(full_time_staff=" 6"),  # pydantic's lax mode, a number as text
    ],
)
async def test_a_body_read_as_before_is_accepted_as_before(
    client: httpx.AsyncClient, content: bytes
) -> None:
    """JSON that pydantic-core refuses but Python's json module reads (its encoding detected)."""
    response = await client.post(REGISTER, content=content, headers={**auth(), **JSON})
    assert response.status_code == 201, response.text
    assert response.json()["stream_version"] == 1


async def test_another_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.get(REGISTER, headers=auth())
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


async def test_json_with_a_charset_is_read_by_fastapi_as_before(client: httpx.AsyncClient) -> None:
    headers = {**auth(), "content-type": "application/json; charset=utf-8"}
    response = await client.post(REGISTER, content=body(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == "1"
