"""A service given several bootstrap servers (a cluster, comma-separated) starts and consumes.

Found by issue 14's cluster test: FastStream takes a string as ONE address (it wraps it in a
list), so `a:1,b:2,c:3` made every consuming service fail at start, while aiokafka's own
clients split it. One broker named twice reproduces it without a cluster.
"""

from __future__ import annotations

import pytest

from services.incubation.app import create_app
from tests.conftest import Infra
from tests.integration.apphost import running
from tests.support import wait_for

pytestmark = pytest.mark.infra


async def test_a_consuming_service_starts_with_several_bootstrap_servers(
    infra: Infra, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"{infra.kafka}, {infra.kafka}")
    async with running(create_app) as client:

        async def ready() -> bool:  # ready once its consumers have joined their groups
            return (await client.get("/health/ready")).status_code == 200

        await wait_for(ready, timeout=30)
