"""A service is ready to answer when it starts: its first requests build nothing the process
keeps (issue 12, session 20: at 200 commands/s the slowest answers were the load's first, while
each service built what it could have built at its start)."""

from __future__ import annotations

from typing import Any

import fastapi.routing
import pytest

from services.registry.app import create_app as create_registry
from services.reporting.app import create_app as create_reporting
from tests.integration.apphost import running
from tests.support import auth, registration

pytestmark = pytest.mark.infra


@pytest.fixture
def route_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose request state FastAPI builds, as it builds them (its own step, looked at
    from outside: FastAPI 0.163 builds each route's state at the first request that meets it)."""
    built: list[str] = []
    context = fastapi.routing._EffectiveRouteContext
    original = context.from_api_route.__func__  # type: ignore[attr-defined]

    def counted(cls: type, *args: Any, **kwargs: Any) -> Any:
        made = original(cls, *args, **kwargs)
        built.append(made.original_route.path)
        return made

    monkeypatch.setattr(context, "from_api_route", classmethod(counted))
    return built


@pytest.mark.usefixtures("service_env")
async def test_a_commands_first_request_after_a_start_builds_no_route(
    route_builds: list[str],
) -> None:
    async with running(create_registry) as client:
        assert route_builds, "the start built the routes"
        route_builds.clear()
        answer = await client.post(
            "/commands/register-agency", json=registration(1), headers=auth()
        )
        assert answer.status_code == 201, answer.text
        assert route_builds == []


@pytest.mark.usefixtures("service_env")
async def test_a_reports_first_request_after_a_start_builds_no_route(
    route_builds: list[str],
) -> None:
    async with running(create_reporting) as client:
        route_builds.clear()
        answer = await client.get("/projection/status", headers=auth())
        assert answer.status_code == 200, answer.text
        assert route_builds == []
