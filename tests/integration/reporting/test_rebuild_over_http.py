"""The operator's rebuild of reporting builds a new generation; reports never go empty meanwhile.

The rebuild used to empty the live view and re-read it in place while readiness said `ready`:
reports answered with zero targets until it had caught up.
"""

from __future__ import annotations

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.reporting.dataset import EXPECTED_ZHONGYUAN, known_history, publish
from tests.integration.reporting.test_reporting import zhongyuan
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra


async def test_a_rebuild_over_http_switches_generations_without_an_empty_moment(
    reporting: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    await publish(producer, known_history())

    async def caught_up() -> bool:
        row = await zhongyuan(reporting)
        return all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items())

    await wait_for(caught_up, timeout=60)
    status = (await reporting.get("/projection/status", headers=auth())).json()
    before = status["generation"]
    consumer = await _live_consumer_name(reporting)
    answer = await reporting.post(f"/admin/consumers/{consumer}/rebuild", headers=auth())
    assert answer.status_code == 202, answer.text

    seen: list[bool] = []

    async def switched() -> bool:
        row = await zhongyuan(reporting)
        seen.append(all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items()))
        now = (await reporting.get("/projection/status", headers=auth())).json()
        return bool(now["generation"] != before)

    await wait_for(switched, timeout=120, interval=0.02)
    assert all(seen), "a report answered from a half-built view during the rebuild"
    assert await caught_up()


async def _live_consumer_name(reporting: httpx.AsyncClient) -> str:
    # Asked of the service itself: the process's metrics also hold earlier tests' consumers.
    status = (await reporting.get("/projection/status", headers=auth())).json()
    name: str = status["consumer"]
    return name
