"""Liveness and readiness endpoints with the semantics operators expect."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from servicekit.runtime import Runtime


def install_health(app: FastAPI, runtime: Callable[[], Runtime | None]) -> None:
    @app.get("/health/live", tags=["health"], summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", tags=["health"], summary="Readiness: database and broker reachable")
    async def ready() -> JSONResponse:
        current = runtime()
        checks = await current.ready() if current is not None else {"started": False}
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )
