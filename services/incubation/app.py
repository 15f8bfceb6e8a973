"""Composition root of the incubation service: its tables, its consumers, its routes."""

from __future__ import annotations

from fastapi import FastAPI
from socialwork_contracts.topics import INCUBATION

from servicekit.runtime import Runtime, add_consumer
from servicekit.settings import ServiceSettings
from servicekit.web import service_app
from services.incubation import readmodel
from services.incubation.api import build_router
from services.incubation.consumers import RegistryAgencies, SupervisionCredit

SERVICE = "incubation"


async def prepare(runtime: Runtime) -> None:
    async with runtime.pool.acquire() as conn:
        await conn.execute(readmodel.DDL)
    add_consumer(runtime, RegistryAgencies(runtime.store))
    add_consumer(runtime, SupervisionCredit(runtime.store))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The incubation service's ASGI app; connections open in its lifespan, not here."""
    return service_app(
        service=SERVICE,
        title="社工机构孵化服务 Incubation service",
        description="孵化基地、入孵申请、协议、扶持与出壳 — bases, calls, admissions, "
        "agreements, support and exits. Every command needs a bearer token; see "
        "docs/incubation.md.",
        settings=settings,
        publishes=INCUBATION,
        prepare=prepare,
        router=build_router,
    )
