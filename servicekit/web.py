"""Liveness and readiness endpoints with the semantics operators expect."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from servicekit.metrics import install_metrics
from servicekit.runtime import Runtime


def install_health(app: FastAPI, runtime: Callable[[], Runtime | None]) -> None:
    """/health/live, /health/ready and /metrics (Prometheus)."""
    install_metrics(app, runtime)

    @app.get("/health/live", tags=["health"], summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", tags=["health"], summary="Readiness: database and broker reachable")
    async def ready() -> JSONResponse:
        current = runtime()
        checks = await current.ready() if current is not None else {"started": False}
        if current is not None and current.busy:
            checks["not_replaying"] = False  # e.g. a projection rebuild is running
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )
