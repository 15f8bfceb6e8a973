"""Composition root of the supervision service: settings -> runtime -> consumers -> scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from socialwork_contracts.topics import SUPERVISION

from servicekit.http import install_correlation, install_problem_handlers, principal_dependency
from servicekit.logging import configure_logging
from servicekit.runtime import Runtime, add_consumer, start_consumers, start_runtime, stop_runtime
from servicekit.scheduler import PeriodicJob
from servicekit.settings import ServiceSettings
from servicekit.web import install_health
from services.supervision import readmodel
from services.supervision.api import build_router, local_today, scheduled_check
from services.supervision.consumers import KnownAgencies, Residencies

SERVICE = "supervision"


class CheckSettings(BaseSettings):
    """How often the scheduled check runs (documented in docs/supervision.md)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    check_interval_seconds: float = Field(
        default=300.0, validation_alias="SUPERVISION_CHECK_INTERVAL_SECONDS"
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The supervision service's ASGI app; connections open in its lifespan, not here."""
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or ServiceSettings()  # from the environment
        configure_logging(SERVICE, resolved.log_level)
        runtime = await start_runtime(resolved, service=SERVICE, publishes=SUPERVISION)
        async with runtime.pool.acquire() as conn:
            await conn.execute(readmodel.DDL)
        add_consumer(runtime, KnownAgencies())
        add_consumer(runtime, Residencies())
        await start_consumers(runtime)

        async def check(now: dt.datetime) -> object:
            return await scheduled_check(runtime, local_today(now), now)

        interval = CheckSettings().check_interval_seconds
        if interval > 0:  # 0 turns the periodic run off (tests trigger it through the API)
            name = f"{SERVICE}:scheduled-check"
            job = PeriodicJob(runtime.pool, name=name, job=check, interval_seconds=interval)
            runtime.tasks.append(asyncio.create_task(job.run(runtime.stop_event)))
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
        title="社工机构监管服务 Supervision service",
        version="1.0.0",
        description="诚信档案、违规、整改、行政处罚与信用名录 — credit files, violations, "
        "rectification, penalties and credit lists. Every request needs a bearer token.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_correlation(app)
    install_health(app, lambda: holder.get("runtime"))
    principal = principal_dependency(lambda: holder["runtime"].token_settings)
    app.include_router(build_router(runtime_of, principal))
    return app
