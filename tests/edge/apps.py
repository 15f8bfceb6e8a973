"""Each service's app, built without connecting (for its route table and OpenAPI document)."""

from __future__ import annotations

from fastapi import FastAPI
from socialwork_contracts.topics import SERVICES

from servicekit.settings import ServiceSettings
from tests.conftest import TEST_SECRET
from tests.support import AppFactory, app_factory

# Every service of the manifest (socialwork_contracts.topics.MANIFEST).
FACTORIES: dict[str, AppFactory] = {service: app_factory(service) for service in SERVICES}


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
