"""Composition root of the reporting service: settings -> runtime -> live projection -> app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse

from servicekit.http import (
    Problem,
    install_correlation,
    install_problem_handlers,
    principal_dependency,
)
from servicekit.logging import configure_logging
from servicekit.runtime import Runtime, add_consumer, start_consumers, start_runtime, stop_runtime
from servicekit.settings import ServiceSettings
from servicekit.web import install_health
from services.reporting import readmodel
from services.reporting.api import build_router
from services.reporting.consumers import LiveProjection
from services.reporting.settings import ReportingSettings

SERVICE = "reporting"
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The reporting ASGI app; connections and the consumer start in its lifespan."""
    holder: dict[str, Runtime] = {}
    options = ReportingSettings().target_options()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or ServiceSettings()  # from the environment
        configure_logging(SERVICE, resolved.log_level)
        runtime = await start_runtime(resolved, service=SERVICE, publishes=None)
        async with runtime.pool.acquire() as conn:
            await readmodel.ensure(conn)
            consumer_name = await readmodel.live_consumer(conn)
        add_consumer(runtime, LiveProjection(consumer_name))
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
        title="统计报表服务 Reporting service",
        version="1.0.0",
        description="全市孵化基地与社工机构的目标进度、年中/年终报告、重点覆盖与信用名录，"
        "可按发生时间或记录时间回溯 — citywide projections folded from every service's events. "
        "Reads need a bearer token (docs/reporting.md); the dashboard page is at /dashboard.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_correlation(app)
    install_health(app, lambda: holder.get("runtime"))
    principal = principal_dependency(lambda: holder["runtime"].token_settings)
    app.include_router(build_router(runtime_of, principal, options))

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/dashboard", tags=["dashboard"], summary="仪表盘 Dashboard page (data needs a token)")
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html", media_type="text/html; charset=utf-8")

    @app.get("/dashboard/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise Problem(404, "not_found", "资源不存在 (not found)", name)
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    return app
