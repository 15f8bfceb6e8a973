"""What operators rely on: metrics, graceful SIGTERM under load, two instances of one service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from socialwork_contracts.topics import REGISTRY, SUPERVISION

from tests.conftest import Infra
from tests.integration.kafka_reader import read_until
from tests.integration.processes import ServiceProcess
from tests.support import SCRAPER, auth, registration, wait_for

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"


def samples(text: str) -> dict[str, float]:
    """`name{label="v",...}` -> value, for every sample of a Prometheus scrape."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


async def count_events(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM registry.events")
        return count
    finally:
        await conn.close()


async def post_many(url: str, serials: range, accepted: set[int], concurrency: int = 8) -> None:
    """Register each serial once; remember which ones the service confirmed."""
    queue = list(serials)
    async with httpx.AsyncClient(timeout=15) as client:

        async def worker() -> None:
            while queue:
                serial = queue.pop()
                try:
                    response = await client.post(
                        f"{url}{REGISTER}", json=registration(serial), headers=auth()
                    )
                except httpx.HTTPError:
                    continue
                if response.status_code in (200, 201):
                    accepted.add(serial)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def test_metrics_parse_and_count_commands(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    service = ServiceProcess("services.registry", service_env, tmp_path / "registry.log")
    service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url) as client:
            assert (
                await client.post(REGISTER, json=registration(1), headers=auth())
            ).status_code == 201
            assert (
                await client.post(REGISTER, json=registration(1), headers=auth())
            ).status_code == 409

            async def relayed() -> dict[str, float] | None:
                scraped = samples((await client.get("/metrics", headers=SCRAPER)).text)
                done = scraped.get("socialwork_relay_lag_events{}") == 0
                return scraped if done and scraped.get("socialwork_store_position{}") == 1 else None

            scraped = await wait_for(relayed)
        assert scraped is not None
        assert (
            scraped['socialwork_commands_total{command="RegisterAgency",outcome="accepted"}'] == 1
        )
        assert scraped['socialwork_commands_total{command="RegisterAgency",outcome="refused"}'] == 1
        assert scraped["socialwork_relay_leader{}"] == 1
        assert scraped["socialwork_event_append_seconds_count{}"] >= 1
    finally:
        service.stop_quietly()


async def test_sigterm_under_load_loses_nothing_accepted(
    infra: Infra, database_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "registry.log"
    service = ServiceProcess("services.registry", {**service_env, "LOG_LEVEL": "INFO"}, log)
    service.start()
    accepted: set[int] = set()
    load = asyncio.create_task(post_many(service.url, range(700_000, 700_400), accepted))
    await wait_for(lambda: _at_least(accepted, 100), timeout=60, interval=0.01)
    exit_code = await asyncio.to_thread(service.terminate)
    await load
    assert exit_code == 0, "the service did not shut down cleanly"
    assert '"runtime.stopped"' in log.read_text(), "the lifespan shutdown did not complete"
    assert len(accepted) >= 100
    # Everything the service confirmed is stored and reached Kafka before it exited.
    assert await count_events(database_url) >= len(accepted)
    usccs = {registration(s)["uscc"].encode() for s in accepted}
    on_wire = await read_until(
        infra.kafka, REGISTRY.name, lambda r: r.key in usccs, count=len(usccs), timeout=60
    )
    assert {r.key for r in on_wire} == usccs


async def test_two_instances_one_relay_and_correct_concurrency(
    infra: Infra, database_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    first = ServiceProcess("services.registry", service_env, tmp_path / "a.log")
    second = ServiceProcess("services.registry", service_env, tmp_path / "b.log")
    first.start()
    second.start()
    try:
        accepted: set[int] = set()
        serials = range(800_000, 800_060)
        await asyncio.gather(
            post_many(first.url, serials[:30], accepted),
            post_many(second.url, serials[30:], accepted),
        )
        assert len(accepted) == 60
        # The same staff change sent to both instances with the same expected version: one wins.
        uscc = registration(800_000)["uscc"]
        change = {"uscc": uscc, "full_time_staff": 9, "qualified_staff": 3}
        async with httpx.AsyncClient() as client:
            results = await asyncio.gather(
                *(
                    client.post(
                        f"{s.url}/commands/change-agency-staff",
                        json=change,
                        headers={**auth(), "If-Match": "1"},
                    )
                    for s in (first, second)
                )
            )
            assert sorted(r.status_code for r in results) == [201, 409]
            leaders = []
            for s in (first, second):
                scraped = samples((await client.get(f"{s.url}/metrics", headers=SCRAPER)).text)
                leaders.append(scraped["socialwork_relay_leader{}"])
        assert sorted(leaders) == [0, 1], "exactly one relay publishes"

        # The registry's consumer group shares the supervision topic's partitions.
        async def shared() -> list[float] | None:
            counts = []
            async with httpx.AsyncClient() as client:
                for s in (first, second):
                    scraped = samples((await client.get(f"{s.url}/metrics", headers=SCRAPER)).text)
                    key = (
                        "socialwork_consumer_assigned_partitions"
                        '{consumer="registry.supervision-penalties"}'
                    )
                    counts.append(scraped.get(key, 0.0))
            return counts if sum(counts) == SUPERVISION.partitions and min(counts) > 0 else None

        assert await wait_for(shared, timeout=60)
        keys = {registration(s)["uscc"].encode() for s in serials}
        on_wire = await read_until(infra.kafka, REGISTRY.name, lambda r: r.key in keys, count=61)
        assert len(on_wire) == 61
        assert len({(r.key, r.value) for r in on_wire}) == 61, "an event was published twice"
    finally:
        first.stop_quietly()
        second.stop_quietly()


async def _at_least(accepted: set[int], n: int) -> bool:
    return len(accepted) >= n
