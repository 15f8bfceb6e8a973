"""Generated from each service's route table: every route authenticates, unless it is listed
here as public. A route added without the principal dependency fails this test."""

from __future__ import annotations

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer

from tests.edge.apps import FACTORIES, built

# Readable without a token, and why: probes, the API browser, public reference data, a page
# whose data needs a token. All GET, none touches a stream.
PUBLIC = {
    "/health/live",
    "/health/ready",
    "/docs",
    "/docs/swagger-init.js",
    "/reference/localities",
    "/reference/service-fields",
    "/reference/target-groups",
    "/reference/graduation-criteria",
    "/",
    "/dashboard",
    "/dashboard/assets/{name}",
    # The public channel (issue 11 §5): read-only, rate-limited, public data only.
    "/public",
    "/public/assets/{name}",
    "/public/api/notices",
    "/public/api/agencies",
    "/public/api/credit-lists",
    "/public/api/grades",
    "/public/api/calls",
    "/public/api/showcase",
}


def bearer_required(dependant: Dependant) -> bool:
    """Whether a bearer scheme (the caller's JWT or the metrics token) is among the deps."""
    return any(isinstance(d.call, HTTPBearer) or bearer_required(d) for d in dependant.dependencies)


def api_routes(service: str) -> list[APIRoute]:
    routes = []
    for context in iter_route_contexts(built(service).routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            routes.append(route)
    return routes


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_route_authenticates_or_is_declared_public(service: str) -> None:
    routes = api_routes(service)
    assert len(routes) > 10
    for route in routes:
        if route.path in PUBLIC:
            assert (route.methods or set()) <= {"GET", "HEAD"}, route.path
            continue
        assert bearer_required(route.dependant), f"{route.methods} {route.path} has no auth"


def test_the_check_catches_a_route_without_authentication() -> None:
    app = built("registry")

    @app.post("/commands/sneaky")
    async def sneaky() -> None:
        return None

    route = next(r for r in app.router.routes if getattr(r, "path", "") == "/commands/sneaky")
    assert isinstance(route, APIRoute)
    assert not bearer_required(route.dependant)
