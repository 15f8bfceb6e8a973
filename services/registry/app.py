"""Composition root of the registry service: its tables, its consumer, its routes."""

from __future__ import annotations

from fastapi import FastAPI

from servicekit.runtime import Runtime, add_consumer
from servicekit.settings import ServiceSettings
from servicekit.web import service_app
from services.registry.consumers import SupervisionPenalties
from services.registry.http import router
from services.registry.rebuild import READ_MODEL

SERVICE = "registry"


async def prepare(runtime: Runtime) -> None:
    await READ_MODEL.ensure(runtime.pool)
    add_consumer(runtime, SupervisionPenalties(runtime.store))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The registry's ASGI app; connections open in its lifespan, not here."""
    return service_app(
        service=SERVICE,
        title="社工机构登记服务 Registry service",
        description="登记、变更、停止活动、注销与撤销 — registration facts of social-work "
        "agencies. Every command needs a bearer token; see docs/auth.md.",
        settings=settings,
        prepare=prepare,
        router=router,
    )
