"""Every service freezes what its start made, so a full collection does not scan it again."""

from __future__ import annotations

import gc

import pytest

from servicekit.web import YOUNG_COLLECTION_THRESHOLD
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


async def test_a_started_service_collects_its_young_objects_less_often(
    service_env: dict[str, str],
) -> None:
    """Issue 12: under wrk the registry ran a young collection every ~11 commands (0.09 a
    command, ~30 µs of each command's ~0.5 ms); a command's few objects in a cycle do not
    need them that often."""
    gc.set_threshold(700, 10, 10)  # Python's default, whatever another test's service set
    async with running(create_app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
