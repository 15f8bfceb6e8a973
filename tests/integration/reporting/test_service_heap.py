"""The reporting service gives large freed blocks back to the operating system at once.

Its answers' encoded bodies and a city workbook's buffers are blocks of hundreds of KiB; once a
larger block had been freed, glibc took the next ones from the heap and kept them resident when
freed (issue 12: reporting's RSS with its fold workers ≤ 300 MB).
"""

from __future__ import annotations

import httpx

from tests.reporting.worker_probe import resident_bytes_given_back

BLOCKS = 16  # of 1 MiB each, freed one by one


async def test_the_running_service_gives_freed_large_blocks_back_at_once(
    reporting: httpx.AsyncClient,
) -> None:
    assert (await reporting.get("/health/live")).status_code == 200
    given_back = resident_bytes_given_back(BLOCKS)  # in the service's process (in-process app)
    assert given_back >= (1 << 20) * 0.9, given_back  # a block's worth, each
