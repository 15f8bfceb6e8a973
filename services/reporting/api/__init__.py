"""The reporting HTTP API, one module per report; each holds its router at module level."""

from __future__ import annotations

from fastapi import APIRouter

from services.reporting.api import (
    agencies,
    bases,
    coverage,
    credit_listings,
    half_year,
    status,
    targets,
    trends,
)

ROUTERS = (
    targets.router,
    half_year.router,
    coverage.router,
    trends.router,
    credit_listings.router,
    bases.router,
    agencies.router,
    status.router,
)


def api_router() -> APIRouter:
    """Every report route (the app supplies the runtime, token check and cache: common.py)."""
    router = APIRouter()
    for part in ROUTERS:
        router.include_router(part)
    return router
