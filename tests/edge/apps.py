"""Each service's app, built without connecting (for its route table and OpenAPI document)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from servicekit.settings import ServiceSettings
from services.incubation.app import create_app as incubation
from services.registry.app import create_app as registry
from services.reporting.app import create_app as reporting
from services.supervision.app import create_app as supervision
from tests.conftest import TEST_SECRET

FACTORIES: dict[str, Callable[[ServiceSettings], FastAPI]] = {
    "registry": registry,
    "incubation": incubation,
    "supervision": supervision,
    "reporting": reporting,
}


def offline_settings() -> ServiceSettings:
    """Settings for an app that is built but never started: nothing reads these servers."""
    return ServiceSettings.model_validate(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
            "AUTH_JWT_SECRET": TEST_SECRET,
        }
    )


def built(service: str) -> FastAPI:
    return FACTORIES[service](offline_settings())
