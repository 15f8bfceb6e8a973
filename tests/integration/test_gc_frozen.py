"""Every service freezes what its start made, so a full collection does not scan it again."""

from __future__ import annotations

import gc

import pytest

from services.registry.app import create_app
from tests.integration.apphost import running

pytestmark = pytest.mark.infra


async def test_a_started_service_has_frozen_what_its_start_made(
    service_env: dict[str, str],
) -> None:
    """Only reporting froze its start; the writing services' full collections scanned every
    module, route and model each time (100-250 ms pauses of incubation and supervision at 200
    commands/s, bench_visible's gc figures)."""
    gc.unfreeze()  # whatever another test's service froze in this process
    assert gc.get_freeze_count() == 0
    async with running(create_app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 10_000
