"""A fold worker gives large freed blocks back to the operating system at once.

glibc raises its mmap threshold to the size of each mapped block freed (up to 32 MiB), so after a
restore freed its compressed parts the next large blocks (columns, lists of views, a fold's
batches) came from the heap and stayed resident when freed: at a million facts a restore ended
19 MiB above its settled state and peaked 10 MiB higher (issue 12: reporting's RSS with its two
fold workers ≤ 300 MB).
"""

from __future__ import annotations

from servicekit.workers import worker_pool
from services.reporting import foldworker
from tests.reporting.worker_probe import resident_bytes_given_back

BLOCKS = 16  # of 1 MiB each, freed one by one


def test_a_fold_worker_gives_freed_large_blocks_back_at_once() -> None:
    pool = worker_pool(1)  # spawned, as the service's cache starts its lanes
    try:
        pool.submit(foldworker.started).result(timeout=120)
        given_back = pool.submit(resident_bytes_given_back, BLOCKS).result(timeout=30)
    finally:
        pool.shutdown()
    assert given_back >= (1 << 20) * 0.9, given_back  # a block's worth, each
