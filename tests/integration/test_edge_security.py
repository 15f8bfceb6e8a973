"""The edge as an attacker and an auditor meet it (issue 10, item 9).

Refusals leave a structured log line and a metric; repeated failed authentication from one
address is slowed down; every response carries security headers; a caller's correlation id is
bounded; 405 names the allowed methods; reporting refuses an `as_of` that is not a date.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from servicekit.auth import Role
from servicekit.settings import ServiceSettings
from services.registry.app import create_app as create_registry
from services.reporting.app import create_app as create_reporting
from tests.integration.apphost import running
from tests.support import SCRAPER, auth, registration

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"
FORGED = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.wrong"}
STRICT_CSP = {
    "default-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Collected(logging.Handler):
    """Collects the structlog event dictionaries that reach the root logger."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.records.append(record.msg)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("event") == event]


@pytest.fixture
def collected() -> Iterator[Collected]:
    handler = Collected()
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture
async def registry(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_registry) as client:
        yield client


@pytest.fixture
async def reporting(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_reporting) as client:
        yield client


@asynccontextmanager
async def from_addresses(*hosts: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One registry app; a client for each caller address."""
    app: FastAPI = create_registry(ServiceSettings())
    async with app.router.lifespan_context(app):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(host, 40000)),
                base_url="http://registry.test",
            )
            for host in hosts
        ]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()


async def refused_count(client: httpx.AsyncClient, status: int, route: str) -> float:
    scrape = (await client.get("/metrics", headers=SCRAPER)).text
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name == "socialwork_refused_requests_total" and sample.labels == {
                "status": str(status),
                "route": route,
            }:
                return sample.value
    return 0.0


def csp_directives(response: httpx.Response) -> set[str]:
    return {d.strip() for d in response.headers["content-security-policy"].split(";") if d.strip()}


# --------------------------------------------------------------------------- refusals


async def test_a_refused_request_is_logged_as_a_security_event_and_counted(
    registry: httpx.AsyncClient, collected: Collected
) -> None:
    logging.getLogger().addHandler(collected)  # after the lifespan configured logging
    unauthenticated = await refused_count(registry, 401, REGISTER)
    forbidden = await refused_count(registry, 403, REGISTER)

    assert (await registry.post(REGISTER, json=registration(1), headers=FORGED)).status_code == 401
    outside = auth(Role.UNIT_OFFICER, unit="erqi", sub="officer-7")
    assert (await registry.post(REGISTER, json=registration(2), headers=outside)).status_code == 403

    logged = collected.named("security.refused")
    assert len(logged) == 2, collected.records
    first, second = logged
    assert first["status"] == 401 and first["route"] == REGISTER and first["method"] == "POST"
    assert first["subject"] is None and first["reason"]
    assert first["client"] == "127.0.0.1"
    assert second["status"] == 403 and second["subject"] == "officer-7"
    assert second["role"] == "unit_officer" and "jinshui" in second["reason"]
    assert await refused_count(registry, 401, REGISTER) == unauthenticated + 1
    assert await refused_count(registry, 403, REGISTER) == forbidden + 1


async def test_a_refusal_counts_the_route_template_not_the_path(
    registry: httpx.AsyncClient,
) -> None:
    before = await refused_count(registry, 401, "/agencies/{uscc}")
    for n in range(3):  # three paths, one label value: a caller cannot grow the metric
        await registry.get(f"/agencies/{registration(n)['uscc']}", headers=FORGED)
    assert await refused_count(registry, 401, "/agencies/{uscc}") == before + 3


# --------------------------------------------------------------------------- failed auth limit


async def test_repeated_failed_authentication_from_one_address_is_slowed_down(
    service_env: dict[str, str],
) -> None:
    async with from_addresses("10.1.1.1", "10.2.2.2") as (attacker, bystander):
        for _ in range(20):
            assert (await attacker.get("/agencies", headers=FORGED)).status_code == 401
        limited = await attacker.get("/agencies", headers=FORGED)
        assert limited.status_code == 429, limited.text
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["code"] == "too_many_failed_authentications"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # Until the window has passed, that address is not verified at all, good token or not.
        assert (await attacker.get("/agencies", headers=auth())).status_code == 429
        # Another address is not affected.
        assert (await bystander.get("/agencies", headers=auth())).status_code == 200
        assert (await bystander.get("/agencies", headers=FORGED)).status_code == 401


async def test_a_missing_token_is_not_a_failed_authentication(service_env: dict[str, str]) -> None:
    async with from_addresses("10.3.3.3") as (caller,):
        for _ in range(25):
            assert (await caller.get("/agencies")).status_code == 401
        assert (await caller.get("/agencies", headers=auth())).status_code == 200


# --------------------------------------------------------------------------- headers


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert response.headers["referrer-policy"] == "no-referrer", response.url
    assert response.headers["x-frame-options"] == "DENY", response.url


async def test_every_response_carries_security_headers(registry: httpx.AsyncClient) -> None:
    answers = [
        await registry.get("/health/live"),
        await registry.get("/agencies", headers=auth()),
        await registry.post(REGISTER, json=registration(3), headers=auth()),
        await registry.post(REGISTER, json=registration(4)),  # 401
        await registry.get("/nowhere"),  # 404
        await registry.post(REGISTER, content=b"x" * 300_000, headers=auth()),  # 413
        await registry.get("/openapi.json"),
        await registry.get("/metrics", headers=SCRAPER),
    ]
    assert [a.status_code for a in answers] == [200, 200, 201, 401, 404, 413, 200, 200]
    for answer in answers:
        assert_security_headers(answer)
        assert csp_directives(answer) >= STRICT_CSP, answer.url


async def test_the_dashboard_page_has_a_strict_policy(reporting: httpx.AsyncClient) -> None:
    for path in ("/dashboard", "/dashboard/assets/dashboard.js", "/dashboard/assets/dashboard.css"):
        answer = await reporting.get(path)
        assert answer.status_code == 200, path
        assert_security_headers(answer)
        policy = csp_directives(answer)
        assert policy >= STRICT_CSP, path
        assert not any("unsafe" in d or "http" in d for d in policy), policy


async def test_swagger_ui_has_the_strict_policy(registry: httpx.AsyncClient) -> None:
    # Its assets and start script are served here (servicekit/docs_ui.py): no exception.
    answer = await registry.get("/docs")
    assert answer.status_code == 200
    assert_security_headers(answer)
    policy = csp_directives(answer)
    assert policy >= STRICT_CSP
    assert not any("unsafe" in d or "http" in d for d in policy), policy


# --------------------------------------------------------------------------- correlation ids


async def stored_correlation_ids(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT correlation_id FROM registry.events ORDER BY position")
        return [r["correlation_id"] for r in rows]
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "given",
    ["c" * 8000, "c" * 129, "has space", "semi;colon", "<script>", "中文编号"],
    ids=["8KB", "129", "space", "semicolon", "markup", "non-ascii"],
)
async def test_an_unfit_correlation_id_is_replaced(
    registry: httpx.AsyncClient, database_url: str, given: str
) -> None:
    headers = [(k.encode(), v.encode()) for k, v in auth().items()]
    headers.append((b"X-Correlation-ID", given.encode()))  # UTF-8 bytes, as a client may send
    response = await registry.post(REGISTER, json=registration(5), headers=headers)
    assert response.status_code == 201, response.text
    replaced = response.headers["X-Correlation-ID"]
    assert UUID.match(replaced), replaced
    assert await stored_correlation_ids(database_url) == [replaced]


async def test_a_fit_correlation_id_is_kept(registry: httpx.AsyncClient, database_url: str) -> None:
    given = "gw-01:req.2024-05-01_" + "x" * 107  # 128 characters
    headers = {**auth(), "X-Correlation-ID": given}
    response = await registry.post(REGISTER, json=registration(6), headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["X-Correlation-ID"] == given
    assert await stored_correlation_ids(database_url) == [given]


# --------------------------------------------------------------------------- 405, as_of


async def test_method_not_allowed_names_the_allowed_methods(registry: httpx.AsyncClient) -> None:
    wrong = await registry.get(REGISTER, headers=auth())
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.headers["Allow"] == "POST"
    assert (await registry.delete("/health/live")).headers["Allow"] in ("GET", "GET, HEAD")


@pytest.mark.parametrize(
    "as_of", ["0", "20110630", "1309392000", "2011-06-30T00:00:00", "2011-6-30", "", "2011-02-30"]
)
async def test_reporting_refuses_an_as_of_that_is_not_a_date(
    reporting: httpx.AsyncClient, as_of: str
) -> None:
    for path in ("/reports/targets", "/reports/coverage", "/reports/trends"):
        response = await reporting.get(path, params={"as_of": as_of}, headers=auth())
        assert response.status_code == 422, (path, as_of, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_reporting_accepts_a_date(reporting: httpx.AsyncClient) -> None:
    response = await reporting.get(
        "/reports/targets", params={"as_of": "2011-06-30"}, headers=auth()
    )
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == "2011-06-30"
