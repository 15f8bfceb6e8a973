"""Run a service's FastAPI app in-process (lifespan included) for API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from servicekit.settings import ServiceSettings


@asynccontextmanager
async def running(
    create_app: Callable[[ServiceSettings], FastAPI],
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ServiceSettings())  # from the environment (the service_env fixture)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry.test"
        ) as client:
            yield client
