"""Composition root of the supervision service: tables, consumers, the scheduled check, routes."""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from socialwork_contracts.periods import local_date

from servicekit.runtime import Runtime, add_consumer
from servicekit.scheduler import PeriodicJob
from servicekit.settings import ServiceSettings
from servicekit.web import service_app
from services.supervision.checks import scheduled_check
from services.supervision.consumers import KnownAgencies, Residencies
from services.supervision.http import router
from services.supervision.rebuild import READ_MODEL

SERVICE = "supervision"


class CheckSettings(BaseSettings):
    """How often the scheduled check runs (documented in docs/supervision.md)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    check_interval_seconds: float = Field(
        default=300.0, validation_alias="SUPERVISION_CHECK_INTERVAL_SECONDS"
    )


async def prepare(runtime: Runtime) -> None:
    await READ_MODEL.ensure(runtime.pool)
    add_consumer(runtime, KnownAgencies(runtime.store))
    add_consumer(runtime, Residencies())

    async def check(now: dt.datetime) -> object:
        return await scheduled_check(runtime, local_date(now), now)

    interval = CheckSettings().check_interval_seconds
    if interval > 0:  # 0 turns the periodic run off (tests trigger it through the API)
        name = f"{SERVICE}:scheduled-check"
        job = PeriodicJob(runtime.pool, name=name, job=check, interval_seconds=interval)
        runtime.tasks.append(asyncio.create_task(job.run(runtime.stop_event)))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The supervision service's ASGI app; connections open in its lifespan, not here."""
    return service_app(
        service=SERVICE,
        title="社工机构监管服务 Supervision service",
        description="诚信档案、违规、整改、行政处罚与信用名录 — credit files, violations, "
        "rectification, penalties and credit lists. Every request needs a bearer token.",
        settings=settings,
        prepare=prepare,
        router=router,
    )
