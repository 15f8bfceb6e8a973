"""Composition root of the incubation service: settings -> runtime -> consumers -> FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from socialwork_contracts.topics import INCUBATION

from servicekit.http import install_correlation, install_problem_handlers, principal_dependency
from servicekit.logging import configure_logging
from servicekit.runtime import Runtime, add_consumer, start_consumers, start_runtime, stop_runtime
from servicekit.settings import ServiceSettings
from servicekit.web import install_health
from services.incubation import readmodel
from services.incubation.api import build_router
from services.incubation.consumers import RegistryAgencies, SupervisionCredit

SERVICE = "incubation"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The incubation service's ASGI app; connections open in its lifespan, not here."""
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or ServiceSettings()  # from the environment
        configure_logging(SERVICE, resolved.log_level)
        runtime = await start_runtime(resolved, service=SERVICE, publishes=INCUBATION)
        async with runtime.pool.acquire() as conn:
            await conn.execute(readmodel.DDL)
        add_consumer(runtime, RegistryAgencies(runtime.store))
        add_consumer(runtime, SupervisionCredit(runtime.store))
        await start_consumers(runtime)
        holder["runtime"] = runtime
        app.state.runtime = runtime
        try:
            yield
        finally:
            await stop_runtime(runtime)

    def runtime_of(request: Request) -> Runtime:
        runtime: Runtime = request.app.state.runtime
        return runtime

    app = FastAPI(
        title="社工机构孵化服务 Incubation service",
        version="1.0.0",
        description="孵化基地、入孵申请、协议、扶持与出壳 — bases, calls, admissions, agreements, "
        "support and exits. Every command needs a bearer token; see docs/incubation.md.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_correlation(app)
    install_health(app, lambda: holder.get("runtime"))
    principal = principal_dependency(lambda: holder["runtime"].token_settings)
    app.include_router(build_router(runtime_of, principal))
    return app
