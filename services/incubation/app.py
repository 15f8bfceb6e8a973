"""Composition root of the incubation service: its tables, its consumers, its routes."""

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
from services.incubation.checks import scheduled_check
from services.incubation.consumers import RegistryAgencies, SupervisionCredit
from services.incubation.http import router
from services.incubation.rebuild import READ_MODEL

SERVICE = "incubation"


class CheckSettings(BaseSettings):
    """How often the scheduled check runs (docs/incubation.md); 0 turns the periodic run off."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    check_interval_seconds: float = Field(
        default=300.0, validation_alias="INCUBATION_CHECK_INTERVAL_SECONDS"
    )


async def prepare(runtime: Runtime) -> None:
    await READ_MODEL.ensure(runtime.pool)
    add_consumer(runtime, RegistryAgencies(runtime.store))
    add_consumer(runtime, SupervisionCredit(runtime.store))

    async def check(now: dt.datetime) -> object:
        return await scheduled_check(runtime, local_date(now), now)

    interval = CheckSettings().check_interval_seconds
    if interval > 0:
        job = PeriodicJob(
            runtime.pool, name=f"{SERVICE}:scheduled-check", job=check, interval_seconds=interval
        )
        runtime.tasks.append(asyncio.create_task(job.run(runtime.stop_event)))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The incubation service's ASGI app; connections open in its lifespan, not here."""
    return service_app(
        service=SERVICE,
        title="社工机构孵化服务 Incubation service",
        description="孵化基地、入孵申请、协议、扶持与出壳 — bases, calls, admissions, "
        "agreements, support and exits. Every command needs a bearer token; see "
        "docs/incubation.md.",
        settings=settings,
        prepare=prepare,
        router=router,
    )
