"""Composition root of the reporting service: its tables, the live projection, routes, dashboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from servicekit import heap
from servicekit.http import Problem
from servicekit.runtime import Runtime, add_consumer
from servicekit.settings import ServiceSettings
from servicekit.web import service_app
from services.reporting import readmodel
from services.reporting.api import api_router
from services.reporting.cache import ReportCache
from services.reporting.consumers import LiveProjection
from services.reporting.public import build_public_router
from services.reporting.rebuild import OperatorRebuild
from services.reporting.rekeep import Rekeeper
from services.reporting.settings import ReportingSettings

SERVICE = "reporting"
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


async def prepare(
    runtime: Runtime,
    cache: ReportCache,
    rebuild: OperatorRebuild,
    warm_ready_seconds: float,
    rekeep_seconds: float,
) -> None:
    # Encoded answers and exports (a city workbook's buffers) are large blocks: given back
    # when freed, not kept in the heap (issue 12: reporting's RSS with its workers).
    heap.return_large_blocks()
    cache.dsn = runtime.settings.database_url
    runtime.tasks.append(asyncio.create_task(_close_when_stopped(runtime, cache)))
    runtime.tasks.append(asyncio.create_task(cache.start()))
    if rekeep_seconds:
        rekeeper = Rekeeper(cache.dsn, rekeep_seconds)
        runtime.tasks.append(asyncio.create_task(rekeeper.run(runtime.pool, runtime.stop_event)))
    async with runtime.pool.acquire() as conn:
        await readmodel.ensure(conn)
        consumer_name = await readmodel.live_consumer(conn)
    add_consumer(runtime, LiveProjection(consumer_name))
    runtime.tasks.append(asyncio.create_task(cache.warm_up(runtime.pool)))
    # Traffic once today's state is held, or after the bound anyway (a generation with no kept
    # state folds from its first fact: minutes at 1M).
    warm_by = time.monotonic() + warm_ready_seconds
    runtime.readiness["reports_warm"] = lambda: cache.warm.is_set() or time.monotonic() > warm_by

    rebuild.settings = runtime.settings
    runtime.rebuilders[consumer_name] = lambda: rebuild.start(runtime.pool)


def _runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _close_when_stopped(runtime: Runtime, cache: ReportCache) -> None:
    await runtime.stop_event.wait()
    cache.close()  # the fold worker process ends with the service


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The reporting ASGI app; connections and the consumer start in its lifespan."""
    reporting = ReportingSettings()
    rebuild = OperatorRebuild()
    cache = ReportCache(  # the DSN comes with the runtime
        "",
        reporting.target_options(),
        max_staleness=dt.timedelta(seconds=reporting.max_staleness_seconds),
        history_idle=reporting.history_idle_seconds or None,
        history_hold=reporting.history_hold_seconds or None,
        checks=reporting.check_connections,
        versions=reporting.coverage_from_versions,
    )
    app = service_app(
        service=SERVICE,
        title="统计报表服务 Reporting service",
        description="全市孵化基地与社工机构的目标进度、年中/年终报告、重点覆盖与信用名录，"
        "可按发生时间或记录时间回溯 — citywide projections folded from every service's events. "
        "Reads need a bearer token (docs/reporting.md); the dashboard page is at /dashboard.",
        settings=settings,
        prepare=lambda runtime: prepare(
            runtime, cache, rebuild, reporting.warm_ready_seconds, reporting.rekeep_seconds
        ),
        router=api_router(),
    )
    app.state.reports = cache  # the answer cache the report routes share (api/common.py)
    app.state.rebuild = rebuild  # the operator's rebuild, shown by /projection/status
    # The public channel (no token, rate-limited, its own routes): services/reporting/public.py.
    app.include_router(build_public_router(_runtime_of))

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get(
        "/dashboard",
        tags=["dashboard"],
        summary="仪表盘 Dashboard page (data needs a token)",
        response_class=HTMLResponse,  # documents text/html (it is a file, not JSON)
    )
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html", media_type="text/html; charset=utf-8")

    @app.get("/dashboard/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise Problem(404, "not_found", "资源不存在 (not found)", name)
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    return app
