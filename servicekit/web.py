"""A service's ASGI app: the shared composition, liveness and readiness, metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from socialwork_contracts.topics import service_spec
from starlette.types import Message

from servicekit import admin
from servicekit.auth import Principal
from servicekit.dependencies import current_caller, runtime_of
from servicekit.docs_ui import install_docs
from servicekit.history import history_router
from servicekit.http import (
    DatabaseOutage,
    FailedAuthentications,
    install_database_outage,
    install_edge,
    install_problem_handlers,
    principal_dependency,
)
from servicekit.logging import configure_logging
from servicekit.metrics_endpoint import install_metrics
from servicekit.problem_docs import install_problem_docs
from servicekit.runtime import Runtime, start_consumers, start_runtime, stop_runtime
from servicekit.settings import ServiceSettings

# A young collection once this many more container objects live than at the last one (Python's
# default 700). Issue 12: under wrk the registry ran one every ~11 commands, 25-33 µs of pause
# a command by its own gc metric (of ~0.5 ms of CPU); at this threshold none ran in 10 s (a
# command leaves hardly any cycle to collect), and one that runs scans at most this many.
YOUNG_COLLECTION_THRESHOLD = 10_000


def install_health(
    app: FastAPI, runtime: Callable[[], Runtime | None], outage: DatabaseOutage | None = None
) -> None:
    """/health/live, /health/ready and /metrics (Prometheus); readiness also notes an outage."""
    install_metrics(app, runtime)

    @app.get("/health/live", tags=["health"], summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get(
        "/health/ready",
        tags=["health"],
        summary="Readiness: the database reachable, every consumer joined once (Kafka is not "
        "required afterwards)",
    )
    async def ready() -> JSONResponse:
        current = runtime()
        checks = await current.ready() if current is not None else {"started": False}
        if outage is not None and "database" in checks:
            if checks["database"]:
                outage.ended()
            else:
                outage.began("readiness check: the database did not answer")
        if current is not None and current.busy:
            checks["not_replaying"] = False  # e.g. a projection rebuild is running
        ok = all(checks.values())
        if current is not None:
            checks["broker"] = await current.broker_reachable()  # reported, not required
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )


def service_app(
    *,
    service: str,
    title: str,
    description: str,
    settings: ServiceSettings | None,
    prepare: Callable[[Runtime], Awaitable[None]],
    router: APIRouter,
) -> FastAPI:
    """A service's ASGI app: the same composition for every service.

    Nothing connects here; the lifespan starts the runtime (schema, topics, relay), runs the
    service's `prepare` (its tables, consumers, periodic jobs), starts the consumers, and on
    shutdown stops them, drains the relay and closes connections.
    """
    publishes = service_spec(service).publishes  # a service of the manifest; its topic, if any
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or ServiceSettings()  # from the environment
        configure_logging(service, resolved.log_level)
        runtime = await start_runtime(resolved, service=service, publishes=publishes)
        try:
            await prepare(runtime)
            await start_consumers(runtime)
            await build_routes(app)
            # Modules, routes and models made by now live as long as the process: each full
            # pass of the cyclic collector scanned them all while every request waited (issue
            # 12: 101 ms at a million facts in reporting, 100-250 ms in incubation and
            # supervision at 200 commands/s). Frozen, a pass scans only what was made since.
            gc.freeze()
            gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
            holder["runtime"] = runtime
            app.state.runtime = runtime  # servicekit.dependencies.runtime_of
            yield
        finally:
            await stop_runtime(runtime)

    # One API browser, /docs, served from this service (docs_ui.py); no OAuth2 flow to redirect.
    app = FastAPI(
        title=title,
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # No OpenTelemetry here (metrics are Prometheus'): FastAPI's native telemetry asked
        # OpenTelemetry for its providers on every request, 2% of the registry's busy loop
        # under load (issue 12).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    _install_frame(app, holder)
    # The service's module-level routes (they read `servicekit.dependencies`).
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(history_router(runtime_of, current_caller))
    install_problem_docs(app)
    return app


async def build_routes(app: FastAPI) -> None:
    """Route one request that matches no route: FastAPI builds each route's request state
    (its dependencies' models) at the first request that meets it, so the first requests after
    a start built them while the others waited (issue 12: 140 ms of incubation's first 3 s at
    200 commands/s), and after `gc.freeze`, for every later collection to scan."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/\x00",  # no route's path holds a NUL
        "raw_path": b"/%00",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "server": None,
        "client": None,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass  # the 404 of the router itself: nothing to answer

    await app.router(scope, receive, send)


def _install_frame(app: FastAPI, holder: dict[str, Runtime]) -> Callable[..., Awaitable[Principal]]:
    """Docs, problems, correlation ids, outage answers, body limit, health and authentication."""
    install_docs(app)
    install_problem_handlers(app)
    outage = install_database_outage(app, lambda: holder["runtime"].pool.fetchval("SELECT 1"))
    install_edge(app, lambda: holder["runtime"].settings.http_max_body_bytes, outage)
    install_health(app, lambda: holder.get("runtime"), outage)
    # One authenticator per app (its caches), behind servicekit.dependencies.current_caller.
    authenticate = principal_dependency(
        lambda: holder["runtime"].token_settings, FailedAuthentications()
    )
    app.state.authenticate = authenticate
    return authenticate
