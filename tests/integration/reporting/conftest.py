"""Fixtures of the reporting tests: the app on a fresh database, and a raw producer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.reporting.app import create_app
from tests.conftest import Infra
from tests.integration.apphost import running


@pytest.fixture
async def reporting(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    raw = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await raw.start()
    yield raw
    await raw.stop()
