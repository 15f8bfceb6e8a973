"""Generated from each service's route table: without a valid token every non-public route
answers 401 (never 5xx, never the handler), and a refused write stores nothing."""

from __future__ import annotations

import re

import asyncpg
import pytest

from tests.edge.apps import FACTORIES
from tests.edge.test_route_auth import PUBLIC, api_routes
from tests.integration.apphost import running
from tests.support import registration

pytestmark = pytest.mark.infra
FORGED = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.wrong"}


async def stored(database_url: str, service: str) -> int:
    """Events written for callers: process managers (actor `system:…`) react meanwhile to other
    tests' records on the shared topics, which no request here caused."""
    conn = await asyncpg.connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f"{service}.events")
        if not exists:
            return 0
        count = f"SELECT count(*) FROM {service}.events WHERE actor NOT LIKE 'system:%'"
        return int(await conn.fetchval(count))
    finally:
        await conn.close()


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_every_route_refuses_a_caller_without_a_valid_token(
    service: str, service_env: dict[str, str], database_url: str
) -> None:
    before = await stored(database_url, service)
    async with running(FACTORIES[service]) as client:
        for route in api_routes(service):
            if route.path in PUBLIC:
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                body = registration(1) if method != "GET" else None
                # Forged tokens: past 20 from one address the answer is 429 (also a refusal).
                for headers, refusals in (({}, {401}), (FORGED, {401, 429})):
                    answer = await client.request(method, path, json=body, headers=headers)
                    assert answer.status_code in refusals, (method, route.path, answer.text)
                    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await stored(database_url, service) == before
