"""The HTTP baseline: a bare FastAPI POST that parses a registration-sized body and returns 201.

No auth, middleware, database or Kafka: what uvicorn + FastAPI + pydantic cost on their own.
Served by uvicorn exactly as the registry is (`benchmarks.bare_app:create_app`, --factory).
"""

# No `from __future__ import annotations`: FastAPI reads the route annotations at runtime.
import datetime as dt

from fastapi import FastAPI
from pydantic import BaseModel


class RegistrationBody(BaseModel):
    """The fields of tests.support.registration(), as plain types (no domain validation)."""

    uscc: str
    name: str
    kind: str
    reporting_unit: str
    address: str
    legal_representative: str
    sponsor: str | None = None
    charter_purpose: str
    charter_scope: str
    charter_method: str
    full_time_staff: int
    qualified_staff: int
    service_fields: list[str]
    target_groups: list[str]
    registered_on: dt.date


class Accepted(BaseModel):
    uscc: str
    stream_version: int
    duplicate: bool


def create_app() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.post("/commands/register-agency", status_code=201)
    async def register(body: RegistrationBody) -> Accepted:
        return Accepted(uscc=body.uscc, stream_version=1, duplicate=False)

    return app
