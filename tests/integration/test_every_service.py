"""Every service: starts from its composition root, answers health, and exposes metrics that a
Prometheus scrape parses (the operations contract of docs/operations.md)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from socialwork_contracts.topics import SERVICES

from tests.integration.apphost import running
from tests.support import SCRAPER, AppFactory, app_factory, auth, wait_for

pytestmark = pytest.mark.infra

# Every service of the manifest (socialwork_contracts.topics.MANIFEST).
APPS: dict[str, AppFactory] = {service: app_factory(service) for service in SERVICES}


@pytest.mark.parametrize("service", sorted(APPS))
async def test_health_and_metrics(service: str, service_env: dict[str, str]) -> None:
    async with running(APPS[service]) as client:
        assert (await client.get("/health/live")).status_code == 200

        async def ready() -> bool:  # once its consumers have joined their groups
            return (await client.get("/health/ready")).status_code == 200

        await wait_for(ready, timeout=30)
        scrape = await client.get("/metrics", headers=SCRAPER)
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        names = {f.name for f in text_string_to_metric_families(scrape.text)}
        assert {"socialwork_commands", "socialwork_store_position"} <= names
        spec = (await client.get("/openapi.json")).json()
        assert "/admin/dead-letters" in spec["paths"]
        assert "/streams/{stream_id}/events" in spec["paths"]


@pytest.mark.parametrize("service", sorted(APPS))
async def test_metrics_need_the_metrics_token(service: str, service_env: dict[str, str]) -> None:
    async with running(APPS[service]) as client:
        refused = [
            await client.get("/metrics"),
            await client.get("/metrics", headers={"Authorization": "Bearer wrong"}),
            await client.get("/metrics", headers=auth()),  # a user's JWT is not the scraper's
        ]
        for answer in refused:
            assert answer.status_code == 401, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert "socialwork_" not in answer.text
        assert (await client.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_metrics_are_closed_without_a_configured_token(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METRICS_TOKEN")
    async with running(APPS["registry"]) as client:
        answer = await client.get("/metrics", headers=SCRAPER)
        assert answer.status_code == 401
        assert "METRICS_TOKEN is not set" in answer.json()["detail"]
