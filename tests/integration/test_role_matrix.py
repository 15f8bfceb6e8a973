"""The role matrix, generated from each service's route table (issue 10, trust boundaries).

Every non-public route × every role a token can carry × inside and outside the caller's scope
(unit officer: 金水 / 二七; base operator: the world's base / another). One agency, resident at
one base in 金水, is the subject of every request; bodies are built from the OpenAPI document
(tests/edge/requests.py). Expected: 403 for a role the route's rule lacks or a scoped caller
outside its scope, any answer but 401/403 otherwise, never a 5xx; a refused write stores
nothing. A route without a rule in tests/edge/policy.py fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi.routing import APIRoute

from servicekit.auth import Role
from services.reporting.app import create_app as create_reporting
from services.supervision.app import create_app as create_supervision
from tests.edge.apps import built
from tests.edge.policy import CALLER_ROLES, POLICY, Rule
from tests.edge.requests import Scope, request_for
from tests.edge.test_route_auth import PUBLIC, api_routes
from tests.integration.apphost import running
from tests.integration.incubation.world import world
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra
SCOPED_ROLES = {Role.UNIT_OFFICER, Role.BASE_OPERATOR}
OTHER_BASE = str(uuid.uuid4())
# Supervision first: the city administrator's writes elsewhere (revocation, termination) would
# end the residency a base operator's scope rests on.
ORDER = ("supervision", "reporting", "incubation", "registry")


@dataclass(frozen=True)
class Caller:
    role: Role
    inside: bool

    def headers(self, scope: Scope) -> dict[str, str]:
        if self.role is Role.UNIT_OFFICER:
            return auth(self.role, unit=scope.unit if self.inside else "erqi", sub="matrix-uo")
        if self.role is Role.BASE_OPERATOR:
            base = scope.base_id if self.inside else OTHER_BASE
            return auth(self.role, base=base, sub="matrix-bo")
        return auth(self.role, sub=f"matrix-{self.role.value}")


def callers() -> list[Caller]:
    """Scoped roles inside then outside; the city administrator last (its writes succeed)."""
    found = [Caller(r, inside) for r in CALLER_ROLES for inside in (False, True)]
    found = [c for c in found if c.role in SCOPED_ROLES or c.inside]
    return sorted(found, key=lambda c: c.role is Role.CITY_ADMIN)


def refused(rule: Rule, caller: Caller) -> bool:
    if caller.role not in rule.roles:
        return True
    return rule.scoped and caller.role in SCOPED_ROLES and not caller.inside


async def event_count(database_url: str, service: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{service}.events") is None:
            return 0
        # Process managers (actor `system:…`) react meanwhile to other tests' records on the
        # shared topics; only events written for callers count.
        count = f"SELECT count(*) FROM {service}.events WHERE actor NOT LIKE 'system:%'"
        return int(await conn.fetchval(count))
    finally:
        await conn.close()


@pytest.fixture
async def services(
    service_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Scope, dict[str, httpx.AsyncClient]]]:
    monkeypatch.setenv("SUPERVISION_CHECK_INTERVAL_SECONDS", "0")  # run only when asked
    async with (
        world() as w,
        running(create_supervision) as supervision,
        running(create_reporting) as reporting,
    ):
        uscc = await w.register()
        await w.base()
        incubation_id = await w.admit(uscc, "301")

        async def resident() -> bool:  # supervision learnt the agency and its base
            conn = await asyncpg.connect(database_url)
            try:
                found = "SELECT 1 FROM supervision.residencies WHERE uscc = $1 AND base_id = $2"
                return bool(await conn.fetchval(found, uscc, w.base_id))
            finally:
                await conn.close()

        await wait_for(resident, timeout=60)

        async def reported() -> bool:  # reporting knows the agency (its unit decides scope)
            found = await reporting.get(f"/agencies/{uscc}", headers=auth())
            return found.status_code == 200

        await wait_for(reported, timeout=60)
        scope = Scope("jinshui", uscc, w.base_id, incubation_id, w.call_id)
        clients = {
            "registry": w.registry,
            "incubation": w.incubation,
            "supervision": supervision,
            "reporting": reporting,
        }
        yield scope, clients


async def test_every_route_every_role_inside_and_outside_its_scope(
    services: tuple[Scope, dict[str, httpx.AsyncClient]], database_url: str
) -> None:
    scope, clients = services
    wrong: list[str] = []
    seen: dict[bool, int] = {True: 0, False: 0}  # refused, allowed: both must be exercised
    for service in ORDER:
        spec = built(service).openapi()
        policy = POLICY[service]
        routes: list[APIRoute] = [r for r in api_routes(service) if r.path not in PUBLIC]
        undeclared = {(m, r.path) for r in routes for m in (r.methods or set()) - {"HEAD"}} - set(
            policy
        )
        assert undeclared == set(), f"{service}: declare who may call {sorted(undeclared)}"
        for route in routes:
            for method in sorted((route.methods or set()) - {"HEAD"}):
                rule = policy[(method, route.path)]
                path, query, body = request_for(spec, method, route.path, scope)
                for caller in callers():
                    before = await event_count(database_url, service) if body is not None else 0
                    answer = await clients[service].request(
                        method, path, params=query, json=body, headers=caller.headers(scope)
                    )
                    status = answer.status_code
                    label = f"{service} {method} {route.path} {caller}: {status}"
                    seen[refused(rule, caller)] += 1
                    if route.path == "/metrics":
                        ok = status == 401
                    elif refused(rule, caller):
                        ok = status == 403
                        if body is not None:
                            ok = ok and await event_count(database_url, service) == before
                    else:
                        ok = status not in (401, 403) and status < 500
                    if not ok:
                        wrong.append(f"{label} {answer.text[:200]}")
    assert wrong == [], "\n".join(wrong)
    assert seen[True] > 200 and seen[False] > 200, seen
